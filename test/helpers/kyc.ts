// A whole KYC stack for one test file: the real dev server, the sandbox over HTTP, a forwarder that turns the
// sandbox's callbacks into signals (as the receiver does), and a worker per test on its own task queue.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../src/activities/index.js';
import { startKycVerification } from '../../src/client.js';
import { createSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { SANDBOX_API_KEY } from '../../src/sandbox/defaults.js';
import {
  kycCallbackSignal,
  statusQuery,
  verificationWorkflowId,
  type KycVerificationInput,
  type KycVerificationState,
  type Phase,
} from '../../src/shared/contract.js';
import { createXGatewayClient } from '../../src/xgateway/client.js';
import { connectTestTemporal, uniqueTaskQueue, type TemporalTestContext } from './temporal.js';

export const workflowsPath = fileURLToPath(new URL('../../src/workflows/index.ts', import.meta.url));

export interface KycStack {
  temporal: TemporalTestContext;
  client: Client;
  sandbox: Sandbox;
  bundle: WorkflowBundleWithSourceMap;
  /** Runs `fn` with a fresh worker on a fresh task queue. */
  withKycWorker<T>(
    fn: (ctx: {
      taskQueue: string;
      start: (input: KycVerificationInput) => ReturnType<typeof startKycVerification>;
    }) => Promise<T>,
    options?: { apiKey?: string },
  ): Promise<T>;
  close(): Promise<void>;
}

export async function createKycStack(): Promise<KycStack> {
  const temporal = await connectTestTemporal();
  const { client } = temporal;
  const forwarder = await startForwarder(client);
  const sandbox = createSandbox({ processingDelayMs: 300, callbackRetryBaseMs: 50, callbackUrl: forwarder.url });
  await sandbox.start();
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: quietLogger });

  return {
    temporal,
    client,
    sandbox,
    bundle,
    async withKycWorker(fn, { apiKey = SANDBOX_API_KEY } = {}) {
      const taskQueue = uniqueTaskQueue('kyc');
      const xgateway = createXGatewayClient({
        baseUrl: sandbox.url,
        apiKey,
        postTimeoutMs: 60_000,
        getTimeoutMs: 5_000,
      });
      const worker = await Worker.create({
        connection: temporal.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        activities: createActivities({ xgateway, heartbeatIntervalMs: 200 }),
        // Cancellation reaches an activity with a heartbeat; unthrottled, a test sees it at once.
        maxHeartbeatThrottleInterval: '500ms',
      });
      return worker.runUntil(fn({ taskQueue, start: (input) => startKycVerification(client, input, { taskQueue }) }));
    },
    async close() {
      await sandbox.close();
      await new Promise((resolve) => forwarder.server.close(resolve));
      await temporal.close();
    },
  };
}

/** The receiver's job in miniature: callback body in, `kycCallback` signal out (without the hash). */
async function startForwarder(client: Client): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { hash: _hash, ...callback } = JSON.parse(body) as {
        hash: string;
        customerId: string;
        status: string | null;
      };
      client.workflow
        .getHandle(verificationWorkflowId(callback.customerId))
        .signal(kycCallbackSignal, { ...callback, receivedAt: new Date().toISOString() })
        .then(
          () => response.writeHead(200).end(),
          (error: unknown) => response.writeHead(error instanceof WorkflowNotFoundError ? 200 : 503).end(),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callbacks/kyc` };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Waits until the workflow's `status` query reports `phase`, and returns that state. */
export async function waitForPhase(handle: WorkflowHandle, phase: Phase): Promise<KycVerificationState> {
  return eventually(async () => {
    const state = await handle.query(statusQuery);
    return state.phase === phase ? state : undefined;
  }, `phase ${phase}`);
}

/** Polls `probe` until it returns a value; for waiting on a workflow to reach a phase, never for timing. */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
