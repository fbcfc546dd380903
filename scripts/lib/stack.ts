// The whole system as child processes, the way an operator runs it: Temporal dev server, sandbox, worker and
// callback receiver. Used by the demo and the benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { randomSandboxKeys } from '../../src/sandbox/defaults.js';
import { bundleWorkflows } from '../bundle-workflows.js';
import { type DevServer, startDevServer, stopChild } from './dev-server.js';
import { assertPortFree } from './ports.js';

const root = join(import.meta.dirname, '..', '..');

export interface StackPorts {
  /** Ignored when `temporalAddress` is given. */
  temporal: number;
  temporalUi?: number;
  sandbox: number;
  webhook: number;
  webhookMetrics: number;
  workerMetrics: number;
}

export interface StackOptions {
  ports: StackPorts;
  /** Use this running Temporal server instead of starting a dev server (tests share one). */
  temporalAddress?: string;
  /** SQLite file for a persistent dev server; in-memory without. */
  dbFile?: string;
  /** Where each child's log goes, one file per process. */
  logDir: string;
  taskQueue: string;
  /** Extra environment for every child (e.g. sandbox timings, worker cache size). */
  env?: Record<string, string>;
}

export interface Stack {
  temporal: Pick<DevServer, 'address' | 'uiUrl'>;
  /** The keys made for this run: the sandbox expects the API key and hashes callbacks with the secret key. */
  keys: { apiKey: string; secretKey: string };
  sandboxUrl: string;
  sandboxControlUrl: string;
  webhookUrl: string;
  worker: ChildProcess;
  logDir: string;
  stop(): Promise<void>;
}

/** Starts every part and resolves when each one answers; on any failure, stops what it started. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const { ports } = options;
  await assertPortFree(ports.sandbox, 'Sandbox (SANDBOX_PORT)');
  await assertPortFree(ports.webhook, 'Callback receiver (WEBHOOK_PORT)');
  await assertPortFree(ports.webhookMetrics, 'Receiver metrics (METRICS_PORT)');
  await assertPortFree(ports.workerMetrics, 'Worker metrics (WORKER_METRICS_PORT)');
  mkdirSync(options.logDir, { recursive: true });

  const started: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of started.reverse()) await stopOne().catch(() => undefined);
  };
  try {
    let temporal: Stack['temporal'] = { address: options.temporalAddress ?? '' };
    if (!options.temporalAddress) {
      const server = await startDevServer({ port: ports.temporal, uiPort: ports.temporalUi, dbFile: options.dbFile });
      started.push(() => server.stop());
      temporal = server;
    }
    const sandboxUrl = `http://127.0.0.1:${ports.sandbox}/api/v2`;
    const webhookUrl = `http://127.0.0.1:${ports.webhook}/callbacks/kyc`;
    const keys = randomSandboxKeys();
    const env = {
      ...process.env,
      XGATEWAY_API_KEY: keys.apiKey,
      XGATEWAY_SECRET_KEY: keys.secretKey,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      KYC_TASK_QUEUE: options.taskQueue,
      SANDBOX_PORT: String(ports.sandbox),
      SANDBOX_CALLBACK_URL: webhookUrl,
      XGATEWAY_BASE_URL: sandboxUrl,
      WEBHOOK_PORT: String(ports.webhook),
      ...options.env,
    };
    const sandbox = launch('sandbox', 'src/sandbox/main.ts', env, options.logDir);
    started.push(() => stopChild(sandbox));
    const receiver = launch(
      'webhook',
      'src/webhook/main.ts',
      { ...env, METRICS_PORT: String(ports.webhookMetrics) },
      options.logDir,
    );
    started.push(() => stopChild(receiver));
    // Bundled here, so the worker never runs webpack (whose memory its heap would keep).
    const bundleDir = mkdtempSync(join(tmpdir(), 'kyc-workflow-bundle-'));
    started.push(async () => rmSync(bundleDir, { recursive: true, force: true }));
    const workflowBundle = await bundleWorkflows(join(bundleDir, 'workflow-bundle.js'));
    const worker = launch(
      'worker',
      'src/worker.ts',
      { ...env, METRICS_PORT: String(ports.workerMetrics), WORKFLOW_BUNDLE_PATH: workflowBundle },
      options.logDir,
    );
    started.push(() => stopChild(worker));

    await Promise.all([
      waitForHttp(`http://127.0.0.1:${ports.sandbox}/__sandbox/requests`, sandbox, 'sandbox'),
      waitForHttp(`http://127.0.0.1:${ports.webhook}/readyz`, receiver, 'webhook'),
      waitForHttp(`http://127.0.0.1:${ports.workerMetrics}/metrics`, worker, 'worker'),
    ]);
    return {
      temporal,
      keys,
      sandboxUrl,
      sandboxControlUrl: `http://127.0.0.1:${ports.sandbox}/__sandbox`,
      webhookUrl,
      worker,
      logDir: options.logDir,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function launch(name: string, entry: string, env: NodeJS.ProcessEnv, logDir: string): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-2000)));
  child.once('exit', (code) => {
    (child as ChildProcess & { exitReason?: string }).exitReason = `${name} exited (code ${code}): ${tail.trim()}`;
  });
  return child;
}

/** Resolves when `url` answers 200; rejects at once if the process dies first, with its last words. */
async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = (child as ChildProcess & { exitReason?: string }).exitReason;
    if (reason) throw new Error(reason);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not become ready at ${url} within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
