// A whole KYC stack for one test file: the real dev server, the sandbox over HTTP, the real callback receiver that
// turns the sandbox's callbacks into signals, and workers on task queues of their own.
import { randomUUID } from 'node:crypto';

import { Client, Connection, type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal as proto } from '@temporalio/proto';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';

import { localActivityType } from '../../bench/figures/cost.js';
import { type DevServerOptions, startDevServer } from '../../scripts/lib/dev-server.js';
import { freePort } from '../../scripts/lib/ports.js';
import { createActivities } from '../../src/activities/index.js';
import { startKycVerification } from '../../src/client.js';
import { createDataConverter } from '../../src/codec/data-converter.js';
import type { EncryptionCodec, EncryptionKey } from '../../src/codec/encryption-codec.js';
import { createLogger } from '../../src/logging.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import {
  type KycVerificationInput,
  type KycVerificationState,
  type Phase,
  resubmitUpdate,
  statusQuery,
} from '../../src/shared/contract.js';
import { createWebhookMetrics } from '../../src/webhook/metrics.js';
import { CALLBACK_PATH, createWebhookServer } from '../../src/webhook/server.js';
import { type WorkerConfig, workerDeploymentOptions } from '../../src/worker.js';
import { createXGatewayClient } from '../../src/xgateway/client.js';
import { testBundle } from './bundle.js';
import { connectTestTemporal, installQuietRuntime, type TemporalTestContext, uniqueTaskQueue } from './temporal.js';

export interface KycWorkerOptions {
  apiKey?: string;
  /** The worker's POST timeout; short ones make a lost answer by our own timeout. */
  postTimeoutMs?: number;
  /** The worker's XGateway base URL; by default the sandbox. */
  baseUrl?: string;
  /** Poll this task queue, e.g. to take over from a worker that stopped; by default a fresh one. */
  taskQueue?: string;
  /** The worker's PAYLOAD_ENCRYPTION_KEYS, e.g. after a rotation; by default the stack's. */
  encryptionKeys?: EncryptionKey[];
  /** WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID: a versioned worker, as the production worker makes it. */
  deployment?: Pick<WorkerConfig, 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>;
}

export interface KycHelpers {
  client: Client;
  taskQueue: string;
  createWorker(): Promise<Worker>;
  start(input: KycVerificationInput): ReturnType<typeof startKycVerification>;
}

export interface KycStack {
  temporal: Pick<TemporalTestContext, 'address' | 'client' | 'nativeConnection'>;
  /** Encrypts with the stack's keys, if it has any; so does the receiver. */
  client: Client;
  sandbox: Sandbox;
  bundle: WorkflowBundleOption;
  /** Keys of this run: the sandbox expects the API key and signs callbacks with the secret key. */
  keys: { apiKey: string; secretKey: string };
  /** The real receiver's `POST /callbacks/kyc`, where the sandbox sends its callbacks. */
  receiverUrl: string;
  /** Where the receiver starts unmatched-callback records; no worker polls it unless a test runs one. */
  unmatchedTaskQueue: string;
  /**
   * One test's helpers, in the shape of sdk-typescript's `helpers(t)`: a task queue of its own, a worker factory
   * (the real activities against the sandbox) and `start`. Nothing runs until they are called.
   */
  helpers(options?: KycWorkerOptions): KycHelpers;
  /**
   * Runs `fn` while a worker from `helpers(options)` polls. Without a `taskQueue`, the worker is the stack's one for
   * these options, shared with the file's other tests and shut down by `close()`; with one, it is the test's own and
   * shuts down when `fn` ends.
   */
  withKycWorker<T>(
    fn: (ctx: {
      taskQueue: string;
      start: (input: KycVerificationInput) => ReturnType<typeof startKycVerification>;
    }) => Promise<T>,
    options?: KycWorkerOptions,
  ): Promise<T>;
  close(): Promise<void>;
}

export interface KycStackOptions {
  /** Build on this Temporal, which the caller closes. */
  temporal?: TemporalTestContext;
  /** Start a dev server of the stack's own with this dynamic config, stopped by `close()`. */
  devServer?: Pick<DevServerOptions, 'dynamicConfig'>;
  encryptionKeys?: EncryptionKey[];
  /** The workers' workflow code; by default the run's fast-retries bundle (test/helpers/bundle.ts). */
  workflowBundle?: WorkflowBundleOption;
}

/**
 * Builds the stack on the given Temporal, or on a dev server of its own, by default on the run's dev server. The
 * receiver records unmatched callbacks on a task queue no worker polls: tests that need them run their own worker.
 */
export async function createKycStack(options: KycStackOptions = {}): Promise<KycStack> {
  const temporal =
    options.temporal ??
    (options.devServer ? await connectOwnDevServer(options.devServer) : await connectTestTemporal());
  const client = options.encryptionKeys
    ? new Client({
        connection: temporal.client.connection,
        dataConverter: await createDataConverter(options.encryptionKeys),
      })
    : temporal.client;
  const keys = { apiKey: `api-${randomUUID()}`, secretKey: `secret-${randomUUID()}` };
  const unmatchedTaskQueue = uniqueTaskQueue('unmatched');
  const receiver = await startReceiver(client, keys.secretKey, unmatchedTaskQueue);
  const sandbox = createSandbox({
    processingDelayMs: 300,
    callbackRetryBaseMs: 50,
    callbackUrl: receiver.url,
    apiKey: keys.apiKey,
    secretKey: keys.secretKey,
  });
  await sandbox.start();
  const bundle = options.workflowBundle ?? testBundle('fastRetries');
  // One running worker per set of worker options, shared by the file's tests: each test has customers of its own,
  // and creating a worker costs about a second of CPU (its workflow thread loads the SDK), which a test per worker
  // paid again and again.
  const sharedWorkers = new Map<string, Promise<SharedWorker>>();

  const stack: KycStack = {
    temporal,
    client,
    sandbox,
    bundle,
    keys,
    receiverUrl: receiver.url,
    unmatchedTaskQueue,
    helpers(workerOptions = {}) {
      const { apiKey = keys.apiKey, postTimeoutMs = 60_000, baseUrl = sandbox.url } = workerOptions;
      const taskQueue = workerOptions.taskQueue ?? uniqueTaskQueue('kyc');
      const encryptionKeys = workerOptions.encryptionKeys ?? options.encryptionKeys;
      return {
        client,
        taskQueue,
        createWorker: async () =>
          Worker.create({
            connection: temporal.nativeConnection,
            taskQueue,
            workflowBundle: bundle,
            dataConverter: await createDataConverter(encryptionKeys),
            workerDeploymentOptions: workerOptions.deployment && workerDeploymentOptions(workerOptions.deployment),
            activities: createActivities({
              xgateway: createXGatewayClient({ baseUrl, apiKey, postTimeoutMs, getTimeoutMs: 5_000 }),
              heartbeatIntervalMs: 200,
            }),
            // Cancellation reaches an activity with a heartbeat; unthrottled, a test sees it at once.
            maxHeartbeatThrottleInterval: '500ms',
          }),
        start: (input) => startKycVerification(client, input, { taskQueue }),
      };
    },
    async withKycWorker(fn, options = {}) {
      if (options.taskQueue) {
        // A worker of the test's own on a queue it names: it stops when `fn` ends, and another can take over.
        const { taskQueue, createWorker, start } = stack.helpers(options);
        const worker = await createWorker();
        return worker.runUntil(fn({ taskQueue, start }));
      }
      const key = JSON.stringify(options);
      let shared = sharedWorkers.get(key);
      if (!shared) {
        shared = startSharedWorker(stack.helpers(options));
        sharedWorkers.set(key, shared);
      }
      const { taskQueue, start, stopped } = await shared;
      // A worker that fails fails the test that uses it, as `runUntil` would.
      return Promise.race([fn({ taskQueue, start }), stopped]);
    },
    async close() {
      for (const shared of sharedWorkers.values()) {
        const { worker, stopped } = await shared;
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await stopped.catch(() => undefined);
      }
      await sandbox.close();
      await receiver.app.close();
      if (!options.temporal) await temporal.close();
    },
  };
  return stack;
}

interface SharedWorker {
  worker: Worker;
  taskQueue: string;
  start: KycHelpers['start'];
  /** Rejects if the worker fails; settles once it has shut down. */
  stopped: Promise<never>;
}

async function startSharedWorker({ taskQueue, createWorker, start }: KycHelpers): Promise<SharedWorker> {
  const worker = await createWorker();
  const running = worker.run();
  const stopped = running.then(() => {
    throw new Error(`the worker on ${taskQueue} stopped`);
  });
  // Nobody may be waiting on it between tests.
  stopped.catch(() => undefined);
  return { worker, taskQueue, start, stopped };
}

/** A dev server for one stack, and connections to it; closing them stops the server. */
async function connectOwnDevServer(options: Pick<DevServerOptions, 'dynamicConfig'>): Promise<TemporalTestContext> {
  installQuietRuntime();
  const server = await startDevServer({ port: await freePort(), ...options });
  const connection = await Connection.connect({ address: server.address });
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  return {
    address: server.address,
    client: new Client({ connection }),
    nativeConnection,
    close: async () => {
      await nativeConnection.close();
      await connection.close();
      await server.stop();
    },
  };
}

/** The production receiver on a free port, quiet. */
async function startReceiver(
  client: Client,
  secretKey: string,
  taskQueue: string,
): Promise<{ app: FastifyInstance; url: string }> {
  const app = await createWebhookServer({
    client,
    taskQueue,
    secretKeys: [secretKey],
    metrics: createWebhookMetrics(),
    logger: createLogger('kyc-webhook', { level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
  return { app, url: `http://127.0.0.1:${address.port}${CALLBACK_PATH}` };
}

/** So long that only a callback can end a wait within a test. */
export const CALLBACK_ONLY = { firstCheckAfter: '10m' } as const;

/** The requests the sandbox received for one customer, of one method. */
export function vendorRequests(sandbox: Sandbox, customerId: string, method: 'GET' | 'POST') {
  return sandbox.requestLog(customerId).requests.filter((r) => r.method === method);
}

/** Resolves once the sandbox holds a status read of this customer that it has not answered yet. */
export function readInFlight(sandbox: Sandbox, customerId: string): Promise<true> {
  return eventually(
    async () => (vendorRequests(sandbox, customerId, 'GET').some((r) => r.answeredAt === null) ? true : undefined),
    'a status read in flight',
  );
}

/** Verification requests the sandbox accepted for one customer: the figure exactly-once is about. */
export function acceptedPosts(sandbox: Sandbox, customerId: string): number {
  return vendorRequests(sandbox, customerId, 'POST').filter((r) => r.accepted).length;
}

export async function historyEvents(handle: WorkflowHandle, type: proto.api.enums.v1.EventType) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((event) => event.eventType === type);
}

/** Status checks the workflow ran so far: scheduled activities, and local activities (recorded as markers). */
export async function checkStatusRuns(handle: WorkflowHandle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  return events.filter(
    (e) => (e.activityTaskScheduledEventAttributes?.activityType?.name ?? localActivityType(e)) === 'checkStatus',
  ).length;
}

/** Visits every payload and every string in a history (or anything else), except search attributes. */
export async function walkHistory(
  value: unknown,
  visitors: { payload?: (payload: Payload) => Promise<void>; text?: (text: string) => void },
): Promise<void> {
  const visit = async (node: unknown, key = ''): Promise<void> => {
    if (key === 'searchAttributes' || node === null || node === undefined) return;
    if (typeof node === 'string') visitors.text?.(node);
    else if (node instanceof Uint8Array) visitors.text?.(Buffer.from(node).toString('latin1'));
    else if (Array.isArray(node)) for (const item of node) await visit(item);
    else if (typeof node === 'object') {
      const payload = node as Payload;
      if (visitors.payload && payload.data instanceof Uint8Array && payload.metadata) return visitors.payload(payload);
      for (const [name, child] of Object.entries(node)) await visit(child, name);
    }
  };
  await visit(value);
}

/**
 * Every string in `value`, and every byte string read as text, except search attributes, which stay plain by design
 * (KycStatus, KycCustomerId). With `codec`, payloads are decrypted first, so the same scan shows what was hidden.
 */
export async function historyTexts(value: unknown, codec?: EncryptionCodec): Promise<string[]> {
  const found: string[] = [];
  const text = (t: string) => void found.push(t);
  await walkHistory(value, {
    text,
    payload: async (payload) => {
      const [decoded] = codec ? await codec.decode([payload]) : [payload];
      await walkHistory({ ...decoded?.metadata, data: decoded?.data }, { text });
    },
  });
  return found;
}

/** Waits until the workflow's `status` query reports `phase`, and returns that state. */
export async function waitForPhase(handle: WorkflowHandle, phase: Phase): Promise<KycVerificationState> {
  return eventually(async () => {
    const state = await handle.query(statusQuery);
    return state.phase === phase ? state : undefined;
  }, `phase ${phase}`);
}

/**
 * Sends `resubmit` as a merchant should: again while the run refuses it because a status check runs. The status
 * callback that put the run in AWAITING_RESUBMISSION may be checked just then, before or after the start's own reading
 * showed the status; any other refusal fails the test.
 */
export async function resubmit(handle: WorkflowHandle): Promise<{ resubmission: number }> {
  return eventually(
    async () => {
      try {
        return await handle.executeUpdate(resubmitUpdate);
      } catch (error) {
        const checkRuns =
          error instanceof WorkflowUpdateFailedError && /while a status check runs/.test(`${error.cause}`);
        if (checkRuns) return undefined;
        throw error;
      }
    },
    'resubmit accepted',
    60_000,
    { rethrow: true },
  );
}

/** Waits until the run awaits a resubmission and has checked the callback that said so: nothing else will run. */
export async function waitForCheckedResubmission(handle: WorkflowHandle): Promise<KycVerificationState> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    const checked =
      s.lastCallback?.status === s.status && Date.parse(s.lastCheckAt ?? '') >= Date.parse(s.lastCallback.signalledAt);
    return s.phase === 'AWAITING_RESUBMISSION' && checked ? s : undefined;
  }, 'the resubmission awaited, its callback checked');
}

/** Polls `probe` until it returns a value; for waiting on a workflow to reach a phase, never for timing. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 60_000,
  { rethrow = false } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A probe's error means "not yet", unless the caller wants it to fail the wait.
    const value = rethrow ? await probe() : await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
