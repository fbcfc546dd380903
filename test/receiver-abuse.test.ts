// The receiver against a sender who holds one valid hash: what such a sender can do stays small, bounded and visible.
// Real receiver, real dev server, real sandbox answering the unmatched-callback workflow's status reads.

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { FastifyInstance } from 'fastify';

import { createLogger } from '../src/logging.js';
import type { Sandbox } from '../src/sandbox/sandbox.js';
import { CALLBACK_LIMITS, kycReversalSearchAttribute, verificationWorkflowId } from '../src/shared/contract.js';
import { createWebhookMetrics, type WebhookMetrics } from '../src/webhook/metrics.js';
import { CALLBACK_PATH, createWebhookServer, type WebhookServerOptions } from '../src/webhook/server.js';
import { type CallbackBody, signedCallback } from './fixtures/callbacks.js';
import { eventually } from './helpers/kyc.js';
import { runEntry } from './helpers/processes.js';
import type { TemporalTestContext } from './helpers/temporal.js';
import { type ReceiverWorld, startReceiverWorld } from './helpers/webhook.js';
import { callbackRecorderWorkflow } from './workflows/webhook-workflows.js';

const EventType = proto.api.enums.v1.EventType;
const SECRET = `secret-${process.pid}-${Date.now()}`;
const API_KEY = `api-${process.pid}-${Date.now()}`;

let world: ReceiverWorld;
let temporal: TemporalTestContext;
let sandbox: Sandbox;
let taskQueue: string;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  world = await startReceiverWorld({ apiKey: API_KEY, secretKey: SECRET });
  ({ temporal, sandbox, taskQueue } = world);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await world.close();
});

interface Receiver {
  url: string;
  metrics: WebhookMetrics;
}

async function startReceiver(options: Partial<WebhookServerOptions> = {}): Promise<Receiver> {
  const metrics = createWebhookMetrics();
  const app = await createWebhookServer({
    client: temporal.client,
    taskQueue,
    secretKeys: [SECRET],
    metrics,
    logger: createLogger('kyc-webhook', { level: 'silent' }),
    ...options,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
  return { url: `http://127.0.0.1:${address.port}${CALLBACK_PATH}`, metrics };
}

let counter = 0;
const newCustomerId = () => `abuse-${process.pid}-${Date.now()}-${++counter}`;
const callback = (customerId: string, overrides: CallbackBody = {}) => signedCallback(customerId, SECRET, overrides);

async function post(receiver: Receiver, body: unknown) {
  const response = await fetch(receiver.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as Record<string, unknown>,
  };
}

async function signalEvents(handle: WorkflowHandle) {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
}

const startRecorder = (customerId: string) =>
  temporal.client.workflow.start(callbackRecorderWorkflow, {
    taskQueue,
    workflowId: verificationWorkflowId(customerId),
  });

describe('only what the workflow uses travels', () => {
  it('refuses a field over its limit with 400 naming it, after the hash check, and signals nothing', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const huge = 'x'.repeat(60_000);
    for (let i = 0; i < 5; i += 1) {
      const refused = await post(receiver, callback(customerId, { kycEndUserErrorMessage: `${huge}${i}` }));
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatch(/^invalid callback: kycEndUserErrorMessage: /);
    }
    // Without the hash, the same body learns nothing about the schema.
    const forged = await post(receiver, callback(customerId, { kycEndUserErrorMessage: huge, hash: 'AAAA' }));
    expect(forged.status).toBe(401);
    expect(await signalEvents(handle)).toHaveLength(0);
  });

  it.each([
    ['kycRejectLabel', { kycRejectLabel: 'x'.repeat(CALLBACK_LIMITS.freeTextChars + 1) }],
    ['docsMissing', { docsMissing: Array(CALLBACK_LIMITS.docsMissingItems + 1).fill('SELFIE') }],
    ['docsMissing.0', { docsMissing: ['x'.repeat(CALLBACK_LIMITS.docChars + 1)] }],
    ['status', { status: 'X'.repeat(CALLBACK_LIMITS.statusChars + 1) }],
    ['kycProcessingStatus', { kycProcessingStatus: 'X'.repeat(CALLBACK_LIMITS.statusChars + 1) }],
  ])('refuses %s over its documented limit', async (field, overrides) => {
    const receiver = await startReceiver();
    const refused = await post(receiver, callback(newCustomerId(), overrides));
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatch(new RegExp(`^invalid callback: ${field.replace('.', '\\.')}: `));
  });

  it('signals only the claim, well under 512 bytes, however full the callback was', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const fullText = 'é'.repeat(CALLBACK_LIMITS.freeTextChars);
    const statuses = ['SOFT_KYC_FAILED', 'KYC_PENDING', 'FULL_USER', 'HARD_KYC_FAILED', 'X'.repeat(100)];
    for (const status of statuses) {
      const body = callback(customerId, {
        status,
        kycRejectLabel: fullText,
        kycEndUserErrorMessage: fullText,
        docsMissing: Array(CALLBACK_LIMITS.docsMissingItems).fill('D'.repeat(CALLBACK_LIMITS.docChars)),
        extra: { nested: fullText },
      });
      expect((await post(receiver, body)).json).toMatchObject({ outcome: 'signalled' });
    }
    // Signals that arrive during a workflow task are buffered until it completes: wait for all five.
    const signals = await eventually(async () => {
      const events = await signalEvents(handle);
      return events.length >= 5 ? events : undefined;
    }, 'five signal events');
    expect(signals).toHaveLength(5);
    for (const signal of signals) {
      const payloads = signal.workflowExecutionSignaledEventAttributes?.input?.payloads ?? [];
      const bytes = payloads.reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
      expect(bytes).toBeLessThan(512);
      expect(Buffer.from(payloads[0]?.data ?? []).toString()).not.toContain('é');
    }
  });
});

describe('unmatched callbacks are bounded and still complete', () => {
  it('records 30 free-text variants of one claim once', async () => {
    const receiver = await startReceiver({ rateLimitPerMinute: 100 });
    const customerId = newCustomerId();
    sandbox.scriptCustomer(customerId, { status: 'SOFT_KYC_FAILED' });
    const ids = new Set<string>();
    for (let i = 0; i < 30; i += 1) {
      const { json } = await post(receiver, callback(customerId, { kycEndUserErrorMessage: `variant ${i}` }));
      expect(json).toMatchObject({ ok: true, outcome: i === 0 ? 'unmatched' : 'duplicate' });
      ids.add(String(json.workflowId));
    }
    expect(ids.size).toBe(1);
    const unmatched = await receiver.metrics.registry.getSingleMetricAsString('kyc_webhook_callbacks_unmatched_total');
    expect(unmatched).toMatch(/kyc_webhook_callbacks_unmatched_total 1$/m);
  });

  it('records the same claim again after the window, and flags a reversal of FULL_USER with KycReversal', async () => {
    const customerId = newCustomerId();
    await world.completeVerification(customerId, 'FULL_USER');
    sandbox.scriptCustomer(customerId, { status: 'FRAUD_SUSPECTED' });
    const window = 60 * 60_000;
    const body = callback(customerId, { status: 'FRAUD_SUSPECTED' });

    const today = await startReceiver({ unmatchedWindowMs: window });
    const first = await post(today, body);
    expect(first.json).toMatchObject({ outcome: 'unmatched' });
    expect((await post(today, body)).json).toMatchObject({ outcome: 'duplicate', workflowId: first.json.workflowId });
    // Another replica, a window later: the same real event happened again and is recorded again.
    const later = await startReceiver({ unmatchedWindowMs: window, now: () => new Date(Date.now() + window) });
    const second = await post(later, body);
    expect(second.json).toMatchObject({ outcome: 'unmatched' });
    expect(second.json.workflowId).not.toBe(first.json.workflowId);

    for (const id of [first.json.workflowId, second.json.workflowId]) {
      const handle = temporal.client.workflow.getHandle(String(id));
      expect(await handle.result()).toMatchObject({ reversal: true, confirmedStatus: 'FRAUD_SUSPECTED' });
      expect((await handle.describe()).typedSearchAttributes.get(kycReversalSearchAttribute)).toBe(true);
    }
  });
});

describe('per-customer rate limit', () => {
  it('answers 429 with Retry-After past the limit, per verified customer, and counts it', async () => {
    const receiver = await startReceiver({ rateLimitPerMinute: 3 });
    const customerId = newCustomerId();
    sandbox.scriptCustomer(customerId, { status: 'SOFT_KYC_FAILED' });
    // Without the hash nothing is spent from the customer's budget.
    for (let i = 0; i < 5; i += 1) {
      expect((await post(receiver, callback(customerId, { hash: 'AAAA' }))).status).toBe(401);
    }
    const statuses = ['SOFT_KYC_FAILED', 'KYC_PENDING', 'PENDING_KYC_DATA', 'FULL_USER'];
    const answers = [];
    for (const status of statuses) answers.push(await post(receiver, callback(customerId, { status })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
    expect(Number(answers[3]?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(answers[3]?.json.error).toMatch(/too many callbacks for this customer/);
    // Another customer is not affected.
    expect((await post(receiver, callback(newCustomerId()))).status).toBe(200);
    const rejected = await receiver.metrics.registry.getSingleMetricAsString('kyc_webhook_callbacks_rejected_total');
    expect(rejected).toMatch(/kyc_webhook_callbacks_rejected_total\{reason="rate_limited"\} 1$/m);
    expect(rejected).toMatch(/kyc_webhook_callbacks_rejected_total\{reason="bad_hash"\} 5$/m);
  });
});

describe('no built-in secrets', () => {
  it.each([
    ['the receiver', 'src/webhook/main.ts', 'XGATEWAY_SECRET_KEY', {}],
    ['the receiver in production', 'src/webhook/main.ts', 'XGATEWAY_SECRET_KEY', { NODE_ENV: 'production' }],
    ['the worker', 'src/worker.ts', 'XGATEWAY_API_KEY', {}],
    ['the worker in production', 'src/worker.ts', 'XGATEWAY_API_KEY', { NODE_ENV: 'production' }],
  ])('%s refuses to start without %s, with one line naming it', async (_who, entry, variable, env) => {
    const { code, stderr } = await runEntry(entry, env);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^Invalid configuration: ${variable}: `)),
    ]);
  });
});
