// The benchmark's view of the system: the stack that `npm run demo` starts (on free ports, in memory), a client, an
// in-process floor worker, and helpers that play XGateway (control API, hashed callbacks) and watch the worker.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';

import { freePort } from '../scripts/lib/ports.js';
import { type Stack, type StackPorts, startStack } from '../scripts/lib/stack.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import type { CustomerScript, StatusUpdate } from '../src/sandbox/scenarios.js';
import { computeCallbackHash } from '../src/xgateway/callback-hash.js';
import { floorActivities } from './floor-activities.js';
import { expectOk, requestJson } from './http.js';

const root = join(import.meta.dirname, '..');
const floorWorkflowsPath = fileURLToPath(new URL('./floor-workflows.ts', import.meta.url));

/** The KYC worker's task settings; the floor worker takes the same, so that only the workflows differ. */
export interface WorkerSettings {
  maxCachedWorkflows: number;
  maxConcurrentWorkflowTaskExecutions: number;
  maxConcurrentActivityTaskExecutions: number;
}

export interface Bench {
  label: string;
  stack: Stack;
  ports: StackPorts;
  client: Client;
  taskQueue: string;
  /** The floor worker's own queue, so KYC and floor tasks never share pollers. */
  floorTaskQueue: string;
  /** The floor worker's Prometheus text (this process's SDK metrics); pick values out with `metricSum`. */
  floorMetrics(): Promise<string>;
  close(): Promise<void>;
}

export interface BenchOptions {
  label: string;
  /** Extra environment for the stack's children (e.g. the worker's cache size). */
  env?: Record<string, string>;
  /** Host the floor workflows in this process, with the KYC worker's settings. */
  floor?: WorkerSettings;
  /** This process's SDK metrics port (see `Runtime.install` in run.ts), where the floor worker's metrics show. */
  floorMetricsPort?: number;
  /** The dev server's dynamic config. */
  dynamicConfig?: Record<string, boolean | number | string>;
  /** Encrypt every payload, the KYC stack's and the floor worker's alike, with a key made for this run. */
  encrypt?: boolean;
}

/** Starts the whole stack on free ports, with an in-memory dev server so nothing collides with a running demo. */
export async function startBench(options: BenchOptions): Promise<Bench> {
  const { label, env, floor, floorMetricsPort, dynamicConfig } = options;
  const ports: StackPorts = {
    temporal: await freePort(),
    webhookMetrics: await freePort(),
    workerMetrics: [await freePort()],
  };
  const taskQueue = `bench-kyc-${label}`;
  const stack = await startStack({
    ports,
    logDir: join(root, '.temporal', 'bench-logs', label),
    taskQueue,
    // Everything else as shipped (receiver logging at info included): the figures describe the default set-up.
    env,
    dynamicConfig,
    encryptionKeys: options.encrypt ? `bench:${randomBytes(32).toString('base64')}` : undefined,
  });
  const connection = await Connection.connect({ address: stack.temporal.address });
  const dataConverter = await createDataConverter(stack.encryptionKeys);
  const client = new Client({ connection, dataConverter });

  const floorTaskQueue = `bench-floor-${label}`;
  let floorWorker: { worker: Worker; running: Promise<void>; connection: NativeConnection } | undefined;
  if (floor) {
    const nativeConnection = await NativeConnection.connect({ address: stack.temporal.address });
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: floorTaskQueue,
      workflowsPath: floorWorkflowsPath,
      activities: floorActivities,
      dataConverter,
      ...floor,
    });
    // A floor worker that dies (with the server) fails the floor measurements, not the process.
    const running = worker.run();
    running.catch(() => undefined);
    floorWorker = { worker, running, connection: nativeConnection };
  }

  return {
    label,
    stack,
    ports,
    client,
    taskQueue,
    floorTaskQueue,
    async floorMetrics() {
      if (floorMetricsPort === undefined) throw new Error('no metrics port for the floor worker');
      return (await fetch(`http://127.0.0.1:${floorMetricsPort}/metrics`)).text();
    },
    /** Stops everything, even after a part died (e.g. the dev server), so the results can still be written. */
    async close() {
      if (floorWorker) {
        if (floorWorker.worker.getState() === 'RUNNING') floorWorker.worker.shutdown();
        await floorWorker.running.catch(() => undefined);
        await floorWorker.connection.close().catch(() => undefined);
      }
      await connection.close().catch(() => undefined);
      await stack.stop();
    },
  };
}

export function scriptCustomer(bench: Bench, customerId: string, script: CustomerScript): Promise<unknown> {
  return expectOk('PUT', `${bench.stack.sandboxControlUrl}/customers/${customerId}`, script);
}

/** Sets the vendor's status now; with callbacks dropped, only the bench's own callback will tell the workflow. */
export function setVendorStatus(bench: Bench, customerId: string, update: StatusUpdate): Promise<unknown> {
  return expectOk('POST', `${bench.stack.sandboxControlUrl}/customers/${customerId}/status`, update);
}

/** A KYC callback exactly as XGateway sends it, hashed with the run's secret key. */
export function callbackBody(
  secretKey: string,
  customerId: string,
  status: string,
  kycProcessingStatus: string | null = null,
) {
  return {
    callbackType: 'kyc',
    customerId,
    status,
    kycProcessingStatus,
    docsMissing: [],
    kycRejectLabel: null,
    kycEndUserErrorMessage: null,
    hash: computeCallbackHash(customerId, secretKey),
  };
}

export interface CallbackDelivery {
  outcome: string;
  /** Non-2xx answers before the accepted one; XGateway would retry them too. */
  retries: number;
}

/** POSTs one callback to the receiver, retrying a 5xx as XGateway does; any other refusal is a bench bug. */
export async function postCallback(
  bench: Bench,
  customerId: string,
  status: string,
  kycProcessingStatus: string | null = null,
): Promise<CallbackDelivery> {
  const body = callbackBody(bench.stack.keys.secretKey, customerId, status, kycProcessingStatus);
  for (let retries = 0; ; retries += 1) {
    const response = await requestJson('POST', bench.stack.webhookUrl, body);
    if (response.status >= 200 && response.status < 300) {
      const outcome = (response.body as { outcome?: string } | undefined)?.outcome ?? 'unknown';
      return { outcome, retries };
    }
    if (response.status < 500 || retries >= 10) {
      throw new Error(`callback for ${customerId} -> ${response.status} ${JSON.stringify(response.body)}`);
    }
    await sleep(200 * 2 ** Math.min(retries, 4));
  }
}

/** Resident memory of a process, from the kernel. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
  return kb / 1024;
}

/**
 * The worker's pid must be the Node process that hosts the workflows: startStack runs `node --import tsx`, so no
 * wrapper sits in between. The command line proves it.
 */
export function workerPid(bench: Bench): { pid: number; cmdline: string } {
  const pid = bench.stack.worker.pid;
  if (pid === undefined) throw new Error('the worker has no pid');
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  if (!cmdline.includes('src/worker.ts') || !cmdline.startsWith(process.execPath)) {
    throw new Error(`pid ${pid} is not the worker's node process: ${cmdline}`);
  }
  return { pid, cmdline };
}

/** The worker's Prometheus endpoint, read once; pick values out of it with `metricSum`. */
export async function workerMetrics(bench: Bench): Promise<string> {
  const url = `http://127.0.0.1:${bench.ports.workerMetrics[0]}/metrics`;
  try {
    return await (await fetch(url)).text();
  } catch (error) {
    const exited = (bench.stack.worker as { exitReason?: string }).exitReason;
    throw new Error(`worker metrics unreachable at ${url}: ${exited ?? String((error as Error).cause ?? error)}`);
  }
}

/** Sum of one counter, gauge or histogram `_count` over the series whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Runs `task` over `items` with at most `concurrency` in flight; results keep the items' order. */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { intervalMs = 100, timeoutMs = 60_000 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}
