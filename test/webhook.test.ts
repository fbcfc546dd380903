import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';

import { freePort } from '../scripts/lib/ports.js';
import { ConfigError } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import type { Sandbox } from '../src/sandbox/sandbox.js';
import {
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  UNCONFIRMED_STATUS,
  UNMATCHED_CALLBACK_WORKFLOW_TYPE,
  type UnmatchedCallbackInput,
  type UnmatchedCallbackResult,
  unmatchedCallbackWorkflowId,
  verificationWorkflowId,
} from '../src/shared/contract.js';
import { createWebhookMetrics, startMetricsServer, type WebhookMetrics } from '../src/webhook/metrics.js';
import { RecentCallbacks } from '../src/webhook/recent-callbacks.js';
import { BODY_LIMIT_BYTES, CALLBACK_PATH, createWebhookServer } from '../src/webhook/server.js';
import { loadWebhookConfig } from '../src/webhook/webhook-config.js';
import { computeCallbackHash } from '../src/xgateway/callback-hash.js';
import { signedCallback } from './fixtures/callbacks.js';
import type { TemporalTestContext } from './helpers/temporal.js';
import { type ReceiverWorld, startReceiverWorld } from './helpers/webhook.js';
import {
  barrierSignal,
  barriersQuery,
  callbackRecorderWorkflow,
  finishSignal,
  receivedCallbacksQuery,
} from './workflows/webhook-workflows.js';

// Obviously fake keys; the log test searches every line for them.
const CURRENT_KEY = 'test-current-key-0f5e2b';
const PREVIOUS_KEY = 'test-previous-key-9a41c7';
const API_KEY = `test-api-key-${process.pid}`;

type Json = Record<string, unknown>;

interface Receiver {
  app: FastifyInstance;
  url: string;
  metrics: WebhookMetrics;
  logLines: string[];
}

let world: ReceiverWorld;
let temporal: TemporalTestContext;
let sandbox: Sandbox;
let taskQueue: string;
const receivers: Receiver[] = [];
const recorders: WorkflowHandle[] = [];

beforeAll(async () => {
  // The fake XGateway answers the unmatched-callback workflow's status reads, and sends callbacks hashed like ours.
  world = await startReceiverWorld({
    apiKey: API_KEY,
    secretKey: CURRENT_KEY,
    callbackRetryBaseMs: 50,
    callbackMaxRetries: 2,
  });
  ({ temporal, sandbox, taskQueue } = world);
});

afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.app.close()));
  await Promise.allSettled(recorders.map((handle) => handle.signal(finishSignal)));
  await world.close();
});

/**
 * Every receiver here reads one clock, stopped at today's 12:02:30 UTC: mid-way through the repeat windows (5 minutes,
 * and a day for unmatched records), so a repeat posted seconds later never falls into the next window by chance.
 */
const RECEIVER_CLOCK = Math.floor(Date.now() / 86_400_000) * 86_400_000 + 12 * 3_600_000 + 150_000;

async function startReceiver(
  options: { client?: Client; logLevel?: string; temporalTimeoutMs?: number } = {},
): Promise<Receiver> {
  const logLines: string[] = [];
  const metrics = createWebhookMetrics();
  const app = await createWebhookServer({
    client: options.client ?? temporal.client,
    taskQueue,
    secretKeys: [CURRENT_KEY, PREVIOUS_KEY],
    metrics,
    logger: createLogger('kyc-webhook', {
      level: options.logLevel ?? 'info',
      destination: { write: (line) => logLines.push(line) },
    }),
    temporalTimeoutMs: options.temporalTimeoutMs,
    readyTimeoutMs: options.temporalTimeoutMs,
    now: () => new Date(RECEIVER_CLOCK),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
  const receiver = { app, url: `http://127.0.0.1:${address.port}`, metrics, logLines };
  receivers.push(receiver);
  return receiver;
}

const newCustomerId = () => `c-${randomUUID().slice(0, 8)}`;

function callback(customerId: string, overrides: Json = {}, key = CURRENT_KEY): Json {
  return signedCallback(customerId, key, overrides);
}

async function post(
  receiver: Receiver,
  body: unknown,
  options: { contentType?: string | null; raw?: string | Uint8Array } = {},
): Promise<{ status: number; json: Json }> {
  const headers: Record<string, string> = {};
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  // A Uint8Array body keeps fetch from inventing a text/plain content type.
  const raw = options.raw ?? JSON.stringify(body);
  const response = await fetch(`${receiver.url}${CALLBACK_PATH}`, {
    method: 'POST',
    headers,
    body: typeof raw === 'string' ? new TextEncoder().encode(raw) : raw,
  });
  return { status: response.status, json: (await response.json()) as Json };
}

/** A stand-in verification; `kycStatus` is the KycStatus it has published, as the real workflow does. */
async function startRecorder(
  customerId: string,
  kycStatus = UNCONFIRMED_STATUS,
): Promise<WorkflowHandle<typeof callbackRecorderWorkflow>> {
  const handle = await temporal.client.workflow.start(callbackRecorderWorkflow, {
    taskQueue,
    workflowId: verificationWorkflowId(customerId),
    typedSearchAttributes: [{ key: kycStatusSearchAttribute, value: kycStatus }],
  });
  recorders.push(handle);
  return handle;
}

/** The `kycCallback` events in the history, once every signal sent so far has been processed. */
async function signalEvents(handle: WorkflowHandle): Promise<number> {
  const token = randomUUID();
  await handle.signal(barrierSignal, token);
  // Signals that arrive during a workflow task are buffered; the barrier shows when they have been written.
  for (const started = Date.now(); !(await handle.query(barriersQuery)).includes(token);) {
    if (Date.now() - started > 30_000) throw new Error('the recorder never processed the barrier signal');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return countSignalEvents(handle);
}

async function countSignalEvents(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter(
    (event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'kycCallback',
  ).length;
}

/** What the receiver put into the start event: the workflow input and the search attributes at start. */
async function startedWith(handle: WorkflowHandle): Promise<{ input: unknown; kycStatus: unknown }> {
  const history = await handle.fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = started?.input?.payloads?.[0];
  const kycStatus = started?.searchAttributes?.indexedFields?.[kycStatusSearchAttribute.name];
  return {
    input: input && defaultPayloadConverter.fromPayload(input),
    kycStatus: kycStatus && defaultPayloadConverter.fromPayload(kycStatus),
  };
}

async function counterValue(metrics: WebhookMetrics, name: keyof WebhookMetrics, labels: Json = {}): Promise<number> {
  const metric = metrics[name];
  if (!('get' in metric)) throw new Error(`${name} is not a metric`);
  const { values } = await metric.get();
  const match = values.find((value) =>
    Object.entries(labels).every(([label, expected]) => (value.labels as Json)[label] === expected),
  );
  return match?.value ?? 0;
}

describe('POST /callbacks/kyc: accepted callbacks', () => {
  let receiver: Receiver;
  beforeAll(async () => void (receiver = await startReceiver()));

  it('signals the open verification with the claim only (status, processing status), plus receivedAt', async () => {
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const response = await post(receiver, { ...callback(customerId), vendorExtra: 'not forwarded' });
    expect(response).toEqual({
      status: 200,
      json: { ok: true, outcome: 'signalled', workflowId: verificationWorkflowId(customerId) },
    });

    const [payload, ...rest] = await handle.query(receivedCallbacksQuery);
    expect(rest).toHaveLength(0);
    expect(payload).toEqual({ status: 'SOFT_KYC_FAILED', kycProcessingStatus: null, receivedAt: expect.any(String) });
    expect(payload).not.toHaveProperty('hash');
    expect(new Date(payload?.receivedAt ?? '').toISOString()).toBe(payload?.receivedAt);
  });

  it('accepts the documented docsMissing objects and absent optional fields', async () => {
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const body = callback(customerId, { docsMissing: [{ docType: 'SELFIE' }, { docType: 'PROOF_OF_ADDRESS' }] });
    delete body.kycRejectLabel;
    delete body.kycProcessingStatus;
    const response = await post(receiver, body, { contentType: 'application/vnd.xgateway+json; charset=utf-8' });
    expect(response.status).toBe(200);

    const [payload] = await handle.query(receivedCallbacksQuery);
    expect(payload).toEqual({ status: 'SOFT_KYC_FAILED', kycProcessingStatus: null, receivedAt: expect.any(String) });
  });

  it('accepts a hash made with the previous secret key during a rotation', async () => {
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const response = await post(receiver, callback(customerId, {}, PREVIOUS_KEY));
    expect(response.json).toMatchObject({ ok: true, outcome: 'signalled' });
    expect(await signalEvents(handle)).toBe(1);
  });

  it('answers 200 to repeats and leaves one signal event, even from a replica that never saw the first', async () => {
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const body = callback(customerId);

    expect((await post(receiver, body)).json).toMatchObject({ ok: true, outcome: 'signalled' });
    expect((await post(receiver, body)).json).toMatchObject({ ok: true, outcome: 'duplicate' });
    // A second replica has an empty cache, so it signals again; Temporal drops the signal by its request id.
    const replica = await startReceiver();
    expect((await post(replica, body)).json).toMatchObject({ ok: true, outcome: 'signalled' });
    expect(await signalEvents(handle)).toBe(1);
    expect(await handle.query(receivedCallbacksQuery)).toHaveLength(1);

    // A different callback for the same customer is new news and is delivered.
    expect((await post(receiver, callback(customerId, { status: 'KYC_PENDING' }))).json).toMatchObject({
      outcome: 'signalled',
    });
    expect(await signalEvents(handle)).toBe(2);
  });
});

describe('POST /callbacks/kyc: progress reports', () => {
  it('acknowledges "verification in progress" for an open verification without a signal', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    const progress = callback(customerId, { status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' });
    expect((await post(receiver, progress)).json).toMatchObject({ ok: true, outcome: 'progress' });
    // Anything else about the same customer is still news.
    expect((await post(receiver, callback(customerId, { status: 'FULL_USER' }))).json).toMatchObject({
      outcome: 'signalled',
    });
    expect(await signalEvents(handle)).toBe(1);
    expect(await handle.query(receivedCallbacksQuery)).toEqual([expect.objectContaining({ status: 'FULL_USER' })]);
    expect(await receiver.metrics.registry.getSingleMetricAsString('kyc_webhook_callbacks_progress_total')).toMatch(
      /kyc_webhook_callbacks_progress_total 1$/m,
    );
  });

  it('signals a progress report while the verification waits for a resubmission: it is news then', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId, 'SOFT_KYC_FAILED');
    const progress = callback(customerId, { status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' });
    expect((await post(receiver, progress)).json).toMatchObject({ ok: true, outcome: 'signalled' });
    expect(await signalEvents(handle)).toBe(1);
  });

  it('records a progress report with no open verification, like any other', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const progress = callback(customerId, { status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' });
    expect((await post(receiver, progress)).json).toMatchObject({ ok: true, outcome: 'unmatched' });
  });
});

describe('POST /callbacks/kyc: unmatched callbacks', () => {
  let receiver: Receiver;
  beforeAll(async () => void (receiver = await startReceiver()));

  it('records a callback with no open verification as an unmatched-callback workflow, once', async () => {
    const customerId = newCustomerId();
    sandbox.scriptCustomer(customerId, { status: 'FULL_USER' });
    const body = callback(customerId, { status: 'FULL_USER', docsMissing: [], kycRejectLabel: null });
    const first = await post(receiver, body);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ ok: true, outcome: 'unmatched' });
    const workflowId = String(first.json.workflowId);
    expect(workflowId).toMatch(
      new RegExp(`^${escape(unmatchedCallbackWorkflowId(customerId, 'D', 0)).replace('D-0', '[0-9a-f]{16}-[0-9]+')}$`),
    );

    const handle = temporal.client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    expect(description.type).toBe(UNMATCHED_CALLBACK_WORKFLOW_TYPE);
    expect(description.taskQueue).toBe(taskQueue);
    expect(description.typedSearchAttributes.get(kycCustomerIdSearchAttribute)).toBe(customerId);
    expect(await description.staticSummary()).toBe(`Unmatched KYC callback for ${customerId} claiming FULL_USER`);
    // The workflow upserts the confirmed status later; the receiver starts it as UNCONFIRMED.
    const { input, kycStatus } = await startedWith(handle);
    expect(kycStatus).toBe(UNCONFIRMED_STATUS);
    expect(input).toEqual({
      previousStatus: null,
      callback: expect.objectContaining({ customerId, status: 'FULL_USER', receivedAt: expect.any(String) }),
    });
    expect((input as UnmatchedCallbackInput).callback).not.toHaveProperty('hash');
    expect(await handle.result()).toMatchObject({
      customerId,
      claimedStatus: 'FULL_USER',
      confirmedStatus: 'FULL_USER',
      reversal: false,
    });

    // Repeats collapse: from this replica's cache, and from another replica through the workflow id.
    expect((await post(receiver, body)).json).toEqual({ ok: true, outcome: 'duplicate', workflowId });
    const replica = await startReceiver();
    expect((await post(replica, body)).json).toEqual({ ok: true, outcome: 'duplicate', workflowId });
    expect((await handle.describe()).runId).toBe(description.runId);
    expect(await counterValue(replica.metrics, 'unmatched')).toBe(0);
    expect(await counterValue(replica.metrics, 'duplicates')).toBe(1);
  });

  it('passes the last completed verification status on, so a reversal is flagged, and never restarts it', async () => {
    const customerId = newCustomerId();
    const verification = await world.completeVerification(customerId, 'FULL_USER');
    sandbox.scriptCustomer(customerId, { status: 'SOFT_KYC_FAILED' });

    const response = await post(receiver, callback(customerId, { status: 'SOFT_KYC_FAILED' }));
    expect(response.json).toMatchObject({ ok: true, outcome: 'unmatched' });
    const handle = temporal.client.workflow.getHandle(String(response.json.workflowId));
    expect(((await startedWith(handle)).input as UnmatchedCallbackInput).previousStatus).toBe('FULL_USER');
    const result = (await handle.result()) as UnmatchedCallbackResult;
    expect(result).toMatchObject({ confirmedStatus: 'SOFT_KYC_FAILED', reversal: true });
    // The late callback neither signalled nor restarted the closed verification.
    expect((await verification.describe()).runId).toBe(verification.firstExecutionRunId);
    expect(await countSignalEvents(verification)).toBe(0);
  });
});

describe('callbacks sent by the sandbox', () => {
  it('are accepted as XGateway sends them, repeats included, and reach the verification workflow once', async () => {
    const receiver = await startReceiver();
    const customerId = newCustomerId();
    const handle = await startRecorder(customerId);
    sandbox.scriptCustomer(customerId, {
      status: 'KYC_PENDING',
      callbackUrl: `${receiver.url}${CALLBACK_PATH}`,
      callbacks: { mode: 'duplicate' },
    });
    sandbox.setStatus(customerId, { status: 'SOFT_KYC_FAILED', docsMissing: ['SELFIE'], kycRejectLabel: 'BAD_SELFIE' });
    await sandbox.settled();

    expect(sandbox.requestLog(customerId).callbacks.map((attempt) => attempt.statusCode)).toEqual([200, 200]);
    expect(await signalEvents(handle)).toBe(1);
    // Only the claim travels: the workflow reads the documents and messages from the status API.
    expect(await handle.query(receivedCallbacksQuery)).toEqual([
      { status: 'SOFT_KYC_FAILED', kycProcessingStatus: null, receivedAt: expect.any(String) },
    ]);
  });
});

describe('POST /callbacks/kyc: rejections', () => {
  let receiver: Receiver;
  const customerId = newCustomerId();
  let recorder: WorkflowHandle;
  beforeAll(async () => {
    receiver = await startReceiver();
    recorder = await startRecorder(customerId);
  });

  const huge = 'x'.repeat(BODY_LIMIT_BYTES + 1);
  const asJson = (body: unknown) => ({ raw: JSON.stringify(body) });
  const cases: [string, number, string, { raw: string | Uint8Array; contentType?: string | null }][] = [
    ['malformed JSON', 400, 'malformed_json', { raw: '{"callbackType":"kyc",' }],
    ['an empty JSON body', 400, 'malformed_json', { raw: '' }],
    ['an array body', 400, 'invalid_body', asJson([callback(customerId)])],
    ['a null body', 400, 'invalid_body', { raw: 'null' }],
    ['a string body', 400, 'invalid_body', asJson('kyc')],
    ['a missing customerId', 400, 'invalid_body', asJson({ ...callback(customerId), customerId: undefined })],
    ['a missing hash', 400, 'invalid_body', asJson({ ...callback(customerId), hash: undefined })],
    ['a numeric hash', 400, 'invalid_body', asJson({ ...callback(customerId), hash: 42 })],
    ['another callbackType', 400, 'invalid_body', asJson(callback(customerId, { callbackType: 'transaction' }))],
    ['a numeric status', 400, 'invalid_body', asJson(callback(customerId, { status: 3 }))],
    ['a huge status', 400, 'invalid_body', asJson(callback(customerId, { status: 'S'.repeat(5000) }))],
    ['docsMissing as a string', 400, 'invalid_body', asJson(callback(customerId, { docsMissing: 'SELFIE' }))],
    ['docsMissing of numbers', 400, 'invalid_body', asJson(callback(customerId, { docsMissing: [1, 2] }))],
    ['docsMissing objects without docType', 400, 'invalid_body', asJson(callback(customerId, { docsMissing: [{}] }))],
    ['a customerId with a slash', 400, 'invalid_body', asJson(callback(`${customerId}/x`))],
    ['an over-long customerId', 400, 'invalid_body', asJson(callback(`${customerId}${'9'.repeat(300)}`))],
    ['a garbled hash', 401, 'bad_hash', asJson(callback(customerId, { hash: 'not-the-hash' }))],
    ['a hash made with a wrong secret', 401, 'bad_hash', asJson(callback(customerId, {}, 'some-other-secret'))],
    [
      'a hash for another customer',
      401,
      'bad_hash',
      asJson(callback(customerId, { hash: computeCallbackHash('c-other', CURRENT_KEY) })),
    ],
    ['a body over 64 KiB', 413, 'body_too_large', asJson(callback(customerId, { kycEndUserErrorMessage: huge }))],
    ['text/plain', 415, 'unsupported_media_type', { ...asJson(callback(customerId)), contentType: 'text/plain' }],
    [
      'a form body',
      415,
      'unsupported_media_type',
      { raw: 'customerId=x', contentType: 'application/x-www-form-urlencoded' },
    ],
    [
      'application/jsonp',
      415,
      'unsupported_media_type',
      { ...asJson(callback(customerId)), contentType: 'application/jsonp' },
    ],
    ['no content type', 415, 'unsupported_media_type', { ...asJson(callback(customerId)), contentType: null }],
    ['no content type and no body', 415, 'unsupported_media_type', { raw: new Uint8Array(), contentType: null }],
  ];

  it.each(cases)('refuses %s with %i', async (_name, status, reason, request) => {
    const before = await counterValue(receiver.metrics, 'rejected', { reason });
    const response = await post(receiver, undefined, request);
    expect(response.status).toBe(status);
    expect(response.json).toEqual({ error: expect.any(String) });
    expect(await counterValue(receiver.metrics, 'rejected', { reason })).toBe(before + 1);
  });

  it('sent no signal for any of them', async () => {
    expect(await signalEvents(recorder)).toBe(0);
    expect(await counterValue(receiver.metrics, 'signalled')).toBe(0);
    expect(await counterValue(receiver.metrics, 'unmatched')).toBe(0);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const response = await fetch(`${receiver.url}/callbacks/transaction`, { method: 'POST' });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not found' });
  });
});

describe('health, readiness and an unreachable Temporal', () => {
  it('is healthy and ready with the real server', async () => {
    const receiver = await startReceiver();
    expect((await fetch(`${receiver.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${receiver.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ok: true });
  });

  it('answers 503 to an authentic callback and to /readyz while Temporal is unreachable', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    try {
      const receiver = await startReceiver({ client: new Client({ connection }), temporalTimeoutMs: 1000 });
      const customerId = newCustomerId();
      const response = await post(receiver, callback(customerId));
      expect(response).toEqual({ status: 503, json: { error: expect.any(String) } });
      expect(await counterValue(receiver.metrics, 'failed', { reason: 'temporal_unavailable' })).toBe(1);

      const ready = await fetch(`${receiver.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ error: expect.any(String) });
      expect((await fetch(`${receiver.url}/healthz`)).status).toBe(200);

      // Nothing was remembered, so the retry XGateway sends later is not mistaken for a repeat.
      expect(await post(receiver, callback(customerId))).toMatchObject({ status: 503 });
    } finally {
      await connection.close();
    }
  });
});

describe('metrics and logs', () => {
  it('exposes the counters and the latency histogram in the Prometheus text format', async () => {
    const receiver = await startReceiver();
    const metricsServer = await startMetricsServer(receiver.metrics.registry, { host: '127.0.0.1', port: 0 });
    try {
      const customerId = newCustomerId();
      await startRecorder(customerId);
      await post(receiver, callback(customerId));
      await post(receiver, callback(customerId));
      await post(receiver, callback(newCustomerId()));
      await post(receiver, callback(customerId, { hash: 'nope' }));
      await post(receiver, callback(customerId), { contentType: 'text/plain' });

      const response = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      const sample = (name: string) => Number(new RegExp(`^${escape(name)} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(sample('kyc_webhook_callbacks_received_total')).toBe(5);
      expect(sample('kyc_webhook_callbacks_hash_verified_total')).toBe(3);
      expect(sample('kyc_webhook_callbacks_signalled_total')).toBe(1);
      expect(sample('kyc_webhook_callbacks_duplicate_total')).toBe(1);
      expect(sample('kyc_webhook_callbacks_unmatched_total')).toBe(1);
      expect(sample('kyc_webhook_callbacks_rejected_total{reason="bad_hash"}')).toBe(1);
      expect(sample('kyc_webhook_callbacks_rejected_total{reason="unsupported_media_type"}')).toBe(1);
      expect(sample('kyc_webhook_signal_latency_seconds_count')).toBe(1);
      expect((await fetch(`http://127.0.0.1:${metricsServer.port}/other`)).status).toBe(404);
    } finally {
      await metricsServer.close();
    }
  });

  it('logs one JSON line per callback with customerId and workflowId, and never a secret key or hash', async () => {
    const receiver = await startReceiver({ logLevel: 'trace' });
    const unreachable = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    try {
      const failing = await startReceiver({
        client: new Client({ connection: unreachable }),
        logLevel: 'trace',
        temporalTimeoutMs: 500,
      });
      const customerId = newCustomerId();
      await startRecorder(customerId);
      const sent = [
        callback(customerId),
        callback(customerId, {}, PREVIOUS_KEY),
        callback(customerId, { hash: computeCallbackHash(customerId, 'wrong') }),
        callback(newCustomerId()),
        callback(customerId, { status: 7 }),
      ];
      for (const body of sent) await post(receiver, body);
      await post(failing, callback(customerId));
      await fetch(`${failing.url}/readyz`);

      const lines = [...receiver.logLines, ...failing.logLines];
      const signalled = lines.map((line) => JSON.parse(line) as Json).find((entry) => entry.outcome === 'signalled');
      expect(signalled).toMatchObject({ msg: 'callback', customerId, workflowId: verificationWorkflowId(customerId) });
      expect(lines.some((line) => line.includes('"outcome":"failed"'))).toBe(true);
      const forbidden = [CURRENT_KEY, PREVIOUS_KEY, ...sent.map((body) => String(body.hash))];
      for (const line of lines) {
        for (const secret of forbidden) expect(line).not.toContain(secret);
      }
    } finally {
      await unreachable.close();
    }
  });
});

describe('configuration', () => {
  it('has no built-in secret: without XGATEWAY_SECRET_KEY the receiver does not start', () => {
    expect(() => loadWebhookConfig({})).toThrow(/^Invalid configuration: XGATEWAY_SECRET_KEY: required/);
    expect(() => loadWebhookConfig({ XGATEWAY_SECRET_KEY: '' })).toThrow(/XGATEWAY_SECRET_KEY/);
    expect(loadWebhookConfig({ XGATEWAY_SECRET_KEY: CURRENT_KEY })).toMatchObject({
      port: 3000,
      metricsPort: 9464,
      secretKeys: [CURRENT_KEY],
      rateLimitPerMinute: 30,
      unmatchedWindowMs: 24 * 60 * 60_000,
    });
  });

  it('takes the current key first and the previous one for rotation; METRICS_PORT=0 turns metrics off', () => {
    const config = loadWebhookConfig({
      XGATEWAY_SECRET_KEY: CURRENT_KEY,
      XGATEWAY_SECRET_KEY_PREVIOUS: PREVIOUS_KEY,
      METRICS_PORT: '0',
      WEBHOOK_PORT: '8081',
    });
    expect(config).toMatchObject({
      port: 8081,
      metricsPort: null,
      secretKeys: [CURRENT_KEY, PREVIOUS_KEY],
    });
  });

  it.each([
    [{ NODE_ENV: 'production' }, 'XGATEWAY_SECRET_KEY'],
    [{ XGATEWAY_SECRET_KEY: CURRENT_KEY, WEBHOOK_PORT: 'http' }, 'WEBHOOK_PORT'],
    [{ XGATEWAY_SECRET_KEY: CURRENT_KEY, METRICS_PORT: '70000' }, 'METRICS_PORT'],
    [{ XGATEWAY_SECRET_KEY: CURRENT_KEY, WEBHOOK_RATE_LIMIT_PER_MINUTE: '0' }, 'WEBHOOK_RATE_LIMIT_PER_MINUTE'],
    [{ XGATEWAY_SECRET_KEY: CURRENT_KEY, UNMATCHED_CALLBACK_WINDOW_MS: 'soon' }, 'UNMATCHED_CALLBACK_WINDOW_MS'],
  ])('refuses %j with one line naming %s', (env, variable) => {
    expect(() => loadWebhookConfig(env)).toThrow(ConfigError);
    expect(() => loadWebhookConfig(env)).toThrow(variable);
  });
});

describe('RecentCallbacks', () => {
  it('forgets entries after their time to live and evicts the least recently used beyond its bound', () => {
    let now = 0;
    const recent = new RecentCallbacks({ maxEntries: 2, ttlMs: 1000, now: () => now });
    recent.set('a', { outcome: 'signalled', workflowId: 'w-a' });
    recent.set('b', { outcome: 'signalled', workflowId: 'w-b' });
    expect(recent.get('a')?.workflowId).toBe('w-a');
    recent.set('c', { outcome: 'unmatched', workflowId: 'w-c' });
    expect(recent.get('b')).toBeUndefined();
    expect(recent.get('a')?.workflowId).toBe('w-a');
    now = 1000;
    expect(recent.get('c')).toBeUndefined();
    expect(recent.size).toBe(1);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
