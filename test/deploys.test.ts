// Deploys that never break a running verification: two builds side by side under Worker Versioning, a worker that
// lets its in-flight POST finish on SIGTERM, and a receiver that answers the callbacks it has before it exits.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';

import { type Stack, startStack } from '../scripts/lib/stack.js';
import { startKycVerification } from '../src/client.js';
import { signedCallback } from './fixtures/callbacks.js';
import { approving, newCustomerId, softThenVerified } from './fixtures/customers.js';
import { CALLBACK_ONLY, createKycStack, eventually, type KycStack, resubmit, waitForPhase } from './helpers/kyc.js';
import { testLogDir } from './helpers/logs.js';
import { connectTestTemporal, type TemporalTestContext, testAddress, uniqueTaskQueue } from './helpers/temporal.js';

const AUTO_UPGRADE = proto.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE;

/** The build a run's last workflow task ran on, and its versioning behaviour, as the server records them. */
async function versioning(handle: WorkflowHandle) {
  const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
  return { buildId: info?.deploymentVersion?.buildId, behavior: info?.behavior };
}

/** Makes `buildId` the deployment's current version, once its workers have registered it by polling. */
async function setCurrent(client: Client, deploymentName: string, buildId: string): Promise<void> {
  await eventually(async () => {
    await client.workflowService.setWorkerDeploymentCurrentVersion({
      namespace: 'default',
      deploymentName,
      buildId,
      identity: 'deploys.test',
    });
    return true;
  }, `${deploymentName} ${buildId} as the current version`);
}

describe('Worker Versioning', () => {
  let stack: KycStack;
  beforeAll(async () => void (stack = await createKycStack()));
  afterAll(async () => stack.close());

  it('serves two builds side by side; an open verification moves to the new build when it is made current', async () => {
    const deploymentName = `kyc-${randomUUID()}`;
    const taskQueue = uniqueTaskQueue('versioned');
    const build = (buildId: string) =>
      stack.helpers({ taskQueue, deployment: { WORKER_DEPLOYMENT_NAME: deploymentName, WORKER_BUILD_ID: buildId } });
    const [one, two] = [build('build-1'), build('build-2')];
    const waiting = newCustomerId('versioned-soft');
    const later = newCustomerId('versioned-later');
    stack.sandbox.scriptCustomer(waiting, softThenVerified());
    stack.sandbox.scriptCustomer(later, approving());

    const [workerOne, workerTwo] = [await one.createWorker(), await two.createWorker()];
    await workerOne.runUntil(
      workerTwo.runUntil(async () => {
        await setCurrent(stack.client, deploymentName, 'build-1');
        const open = await one.start({ customerId: waiting, timing: CALLBACK_ONLY });
        await waitForPhase(open, 'AWAITING_RESUBMISSION');
        expect(await versioning(open)).toEqual({ buildId: 'build-1', behavior: AUTO_UPGRADE });

        // The deploy: build 2 becomes current while build 1 still runs.
        await setCurrent(stack.client, deploymentName, 'build-2');
        const fresh = await two.start({ customerId: later, timing: CALLBACK_ONLY });
        expect(await fresh.result()).toMatchObject({ outcome: 'VERIFIED' });
        expect((await versioning(fresh)).buildId).toBe('build-2');

        // The run that started on build 1 finishes on build 2, replaying its history there.
        await resubmit(open);
        expect(await open.result()).toMatchObject({ outcome: 'VERIFIED' });
        expect((await versioning(open)).buildId).toBe('build-2');
      }),
    );
  });
});

describe('graceful shutdown, process by process', () => {
  let stack: Stack;
  let temporal: TemporalTestContext;
  const taskQueue = uniqueTaskQueue('deploys');
  beforeAll(async () => {
    temporal = await connectTestTemporal();
    stack = await startStack({
      ports: {
        temporal: 0,
        // No metrics: nothing here reads them, and the receiver and the worker need no picked port then.
        workerMetrics: [0],
      },
      temporalAddress: testAddress(),
      logDir: await testLogDir('deploys'),
      taskQueue,
      env: { SANDBOX_PROCESSING_DELAY_MS: '300', SANDBOX_CALLBACK_RETRY_BASE_MS: '100' },
    });
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
    await temporal?.close();
  });

  const sandbox = async (path: string, method = 'GET', body?: unknown) => {
    const response = await fetch(`${stack.sandboxControlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(response.ok).toBe(true);
    return response.json() as Promise<{ requests: { method: string; accepted?: boolean }[] }>;
  };
  const exited = (service: { process: ChildProcess | undefined }) => {
    const child = service.process;
    if (!child) throw new Error('not running');
    return new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  };

  it('a worker stopped by SIGTERM during a slow POST lets it finish, so the next worker sends none', async () => {
    const customerId = newCustomerId('sigterm-worker');
    // The vendor holds its answer to the POST until the test lets it go.
    await sandbox(`/customers/${customerId}`, 'PUT', approving({ holdPosts: true }));
    const handle = await startKycVerification(temporal.client, { customerId }, { taskQueue });
    await eventually(async () => {
      const { requests } = await sandbox(`/requests?customerId=${customerId}`);
      return requests.some((r) => r.method === 'POST') ? true : undefined;
    }, 'the POST at the sandbox');
    const worker = stack.services.workers[0];
    if (!worker) throw new Error('no worker');
    const exit = exited(worker);
    const signalledAt = Date.now();
    worker.process?.kill('SIGTERM');
    // The answer comes only once the worker is shutting down.
    const log = join(stack.logDir, 'worker.log');
    await eventually(
      async () => ((await readFile(log, 'utf8')).includes('"state":"STOPPING"') ? true : undefined),
      'the worker stopping',
    );
    await sandbox(`/customers/${customerId}`, 'PATCH', { holdPosts: false });
    expect(await exit).toBe(0);
    // The stopped worker waited for the POST's answer and reported it before it exited: the start activity
    // completed after the signal, and never failed or timed out.
    const events = (await handle.fetchHistory()).events ?? [];
    const completed = events.find((e) => e.activityTaskCompletedEventAttributes);
    expect(Number(completed?.eventTime?.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(signalledAt / 1000) * 1000);
    expect(events.filter((e) => e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes)).toEqual(
      [],
    );

    await worker.start();
    expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED' });
    // A side check: one POST (the activity also reads the status before any POST, which would prevent a second).
    const { requests } = await sandbox(`/requests?customerId=${customerId}`);
    expect(requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('a receiver stopped by SIGTERM answers the callback it is reading, then exits', async () => {
    const customerId = newCustomerId('sigterm-receiver');
    const body = JSON.stringify(signedCallback(customerId, stack.keys.secretKey, { status: 'FULL_USER' }));
    const { port } = new URL(stack.webhookUrl);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    const answer = new Promise<string>((resolve, reject) => {
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('end', () => resolve(received));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    // Half a request: the headers, with `Expect: 100-continue`, so that the receiver's `100 Continue` proves it is
    // reading this request when the signal comes.
    socket.write(
      `POST /callbacks/kyc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    await eventually(async () => (received.includes('100 Continue') ? true : undefined), 'the 100 Continue');
    const receiver = stack.services.receiver;
    const exit = exited(receiver);
    const logFile = join(stack.logDir, 'webhook.log');
    receiver.process?.kill('SIGTERM');
    await eventually(
      async () => ((await readFile(logFile, 'utf8')).includes('"msg":"shutting down"') ? true : undefined),
      'the receiver to start shutting down',
    );
    socket.write(body);
    expect(await answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(await exit).toBe(0);
    await receiver.start();
  });
});
