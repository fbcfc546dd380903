// The whole system as it runs in production: worker, receiver and sandbox as separate processes, configured
// only through their environment, with keys unique to this run so the log check below means something.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { temporal as proto } from '@temporalio/proto';

import { freePort } from '../scripts/lib/ports.js';
import { type Stack, startStack } from '../scripts/lib/stack.js';
import { ensureTemporalCli } from '../scripts/setup.mjs';
import { startKycVerification } from '../src/client.js';
import { kycStatusSearchAttribute, statusQuery } from '../src/shared/contract.js';
import { eventually, waitForPhase } from './helpers/kyc.js';
import { testLogDir } from './helpers/logs.js';
import { connectTestTemporal, type TemporalTestContext, testAddress, uniqueTaskQueue } from './helpers/temporal.js';

const apiKey = `api-${randomUUID()}`;
const secretKey = `secret-${randomUUID()}`;
const taskQueue = uniqueTaskQueue('system');
const run = `${process.pid}-${Date.now()}`;
// The sandbox and the receiver listen on port 0 and report theirs; metrics ports cannot (scripts/lib/stack.ts).
const ports = { webhookMetrics: 0, workerMetrics: 0 };

let stack: Stack;
let temporal: TemporalTestContext;
let logDir: string;

beforeAll(async () => {
  for (const name of Object.keys(ports) as (keyof typeof ports)[]) ports[name] = await freePort();
  logDir = await testLogDir('system');
  temporal = await connectTestTemporal();
  stack = await startStack({
    ports: { temporal: 0, ...ports, workerMetrics: [ports.workerMetrics] },
    temporalAddress: testAddress(),
    logDir,
    taskQueue,
    env: {
      XGATEWAY_API_KEY: apiKey,
      XGATEWAY_SECRET_KEY: secretKey,
      SANDBOX_PROCESSING_DELAY_MS: '300',
      SANDBOX_CALLBACK_RETRY_BASE_MS: '100',
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await temporal?.close();
});

/** Computed here from the vendor's documented formula, independently of src/xgateway. */
const hashFor = (customerId: string, secret: string) =>
  createHash('sha512').update(`${customerId}.${secret}`).digest('base64');

async function postCallback(customerId: string, status: string, hash: string): Promise<number> {
  const body = {
    callbackType: 'kyc',
    customerId,
    status,
    kycProcessingStatus: null,
    docsMissing: null,
    kycRejectLabel: null,
    kycEndUserErrorMessage: null,
    hash,
  };
  const response = await fetch(stack.webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.status;
}

async function control(path: string, method: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stack.sandboxControlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok).toBe(true);
  return response.json();
}

async function listIds(query: string): Promise<string[]> {
  const args = ['workflow', 'list', '--address', testAddress(), '--query', query, '--output', 'json'];
  const { stdout } = await promisify(execFile)(ensureTemporalCli(), args);
  const rows = stdout.trim() ? (JSON.parse(stdout) as { execution: { workflowId: string } }[]) : [];
  return rows.map((row) => row.execution.workflowId);
}

/** What the UI shows as "Current details": served by the SDK's built-in metadata query. */
async function currentDetails(workflowId: string): Promise<string> {
  const metadata = await temporal.client.workflow
    .getHandle(workflowId)
    .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  return metadata.currentDetails ?? '';
}

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function counter(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && !line.startsWith('#'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

const approved = `approve-sys-${run}`;
const soft = `soft-sys-${run}`;

describe('the system, process by process', () => {
  it('completes a verification from an independently hashed callback, and refuses a wrong hash with 401', async () => {
    // The vendor's own callbacks are dropped: only the ones this test sends can wake the workflow.
    await control(`/customers/${approved}`, 'PUT', { callbacks: { mode: 'drop' } });
    const handle = await startKycVerification(
      temporal.client,
      { customerId: approved, timing: { firstCheckAfter: '10m' } },
      { taskQueue },
    );
    await eventually(async () => {
      const state = await handle.query(statusQuery);
      const vendor = (await control(`/customers/${approved}`, 'GET')) as { status: string };
      return state.phase === 'AWAITING_RESULT' && vendor.status === 'FULL_USER' ? true : undefined;
    }, 'the vendor decision');

    expect(await postCallback(approved, 'FULL_USER', hashFor(approved, 'not-the-secret'))).toBe(401);
    const history = await handle.fetchHistory();
    const signals = history.events?.filter(
      (e) => e.eventType === proto.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    );
    expect(signals).toHaveLength(0);

    expect(await postCallback(approved, 'FULL_USER', hashFor(approved, secretKey))).toBe(200);
    expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
  });

  it('records a late callback as an unmatched record that is searchable by customer and flags the reversal', async () => {
    await control(`/customers/${approved}/status`, 'POST', { status: 'FRAUD_SUSPECTED' });
    expect(await postCallback(approved, 'FRAUD_SUSPECTED', hashFor(approved, secretKey))).toBe(200);
    const [recordId] = await eventually(async () => {
      const ids = await listIds(`WorkflowType="kycUnmatchedCallbackWorkflow" AND KycCustomerId="${approved}"`);
      return ids.length ? ids : undefined;
    }, 'the unmatched record in visibility');
    const record = temporal.client.workflow.getHandle(recordId!);
    expect(await record.result()).toMatchObject({
      reversal: true,
      confirmedStatus: 'FRAUD_SUSPECTED',
    });
    expect(await currentDetails(record.workflowId)).toContain('REVERSAL');
  });

  it('shows search attributes, summaries and current details to operators', async () => {
    const handle = await startKycVerification(
      temporal.client,
      { customerId: soft, timing: { firstCheckAfter: '10m' } },
      { taskQueue },
    );
    await waitForPhase(handle, 'AWAITING_RESUBMISSION');

    const waiting = await eventually(async () => {
      const ids = await listIds(`KycStatus="SOFT_KYC_FAILED" AND KycCustomerId="${soft}"`);
      return ids.length ? ids : undefined;
    }, 'the waiting verification in visibility');
    expect(waiting).toEqual([handle.workflowId]);
    expect(await listIds(`KycCustomerId="${approved}" AND WorkflowType="kycVerificationWorkflow"`)).toEqual([
      `kyc-verification-${approved}`,
    ]);

    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(kycStatusSearchAttribute)).toBe('SOFT_KYC_FAILED');
    expect(await described.staticSummary()).toContain(soft);
    const details = await currentDetails(handle.workflowId);
    expect(details).toContain('Waiting for the merchant to fix data and resubmit');
    expect(details).toContain('Missing documents: SELFIE');

    const finished = await temporal.client.workflow.getHandle(`kyc-verification-${approved}`).describe();
    expect(await currentDetails(`kyc-verification-${approved}`)).toContain('**Completed**');
    expect(finished.typedSearchAttributes.get(kycStatusSearchAttribute)).toBe('FULL_USER');
    const history = await temporal.client.workflow.getHandle(`kyc-verification-${approved}`).fetchHistory();
    const summaries = history.events
      ?.filter((e) => e.eventType === proto.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
      .map((e) => e.userMetadata?.summary?.data && Buffer.from(e.userMetadata.summary.data).toString());
    expect(summaries?.[0]).toContain('Start KYC verification');
    await handle.cancel();
  });

  it('exposes worker and receiver metrics that move', async () => {
    const receiver = await metrics(ports.webhookMetrics);
    expect(counter(receiver, 'kyc_webhook_callbacks_received_total')).toBeGreaterThanOrEqual(3);
    expect(counter(receiver, 'kyc_webhook_callbacks_rejected_total')).toBeGreaterThanOrEqual(1);
    expect(counter(receiver, 'kyc_webhook_callbacks_signalled_total')).toBeGreaterThanOrEqual(1);
    expect(counter(receiver, 'kyc_webhook_callbacks_unmatched_total')).toBeGreaterThanOrEqual(1);
    const worker = await metrics(ports.workerMetrics);
    expect(counter(worker, 'temporal_workflow_completed')).toBeGreaterThanOrEqual(2);
    expect(counter(worker, 'temporal_activity_execution_latency_count')).toBeGreaterThanOrEqual(2);
  });

  it('writes JSON logs with customer and workflow ids, and never either key', async () => {
    await stack.stop();
    const files = await readdir(logDir);
    expect(files.sort()).toEqual(['sandbox.log', 'webhook.log', 'worker.log']);
    for (const file of files) {
      const text = await readFile(join(logDir, file), 'utf8');
      expect(text).not.toContain(apiKey);
      expect(text).not.toContain(secretKey);
    }
    for (const file of ['webhook.log', 'worker.log']) {
      const lines = (await readFile(join(logDir, file), 'utf8')).split('\n').filter(Boolean);
      const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(records.some((r) => r.customerId === approved && typeof r.workflowId === 'string')).toBe(true);
    }
  });
});
