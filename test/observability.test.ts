// What operators see: the JSON logs, which must never carry a key or a callback hash, and the KycStatus search
// attribute, which a run upserts only when the confirmed status changes (each upsert is a billable action).
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';

import { createLogger, temporalLogger } from '../src/logging.js';
import { kycStatusSearchAttribute, UNCONFIRMED_STATUS } from '../src/shared/contract.js';
import { approving, newCustomerId } from './fixtures/customers.js';
import {
  checkStatusRuns,
  createKycStack,
  eventually,
  historyEvents,
  type KycStack,
  resubmit,
  waitForPhase,
} from './helpers/kyc.js';

const EventType = proto.api.enums.v1.EventType;

describe('log redaction (src/logging.ts)', () => {
  const SECRET = `secret-${randomUUID()}`;

  /** The worker's logger, writing into an array instead of stdout. */
  function capturedLogger() {
    const lines: string[] = [];
    const logger = createLogger('kyc-worker', { level: 'info', destination: { write: (line) => lines.push(line) } });
    return { logger, lines };
  }

  const withHeaders = (headers: Record<string, string>) => ({ method: 'GET', url: '/kyc', headers });

  // Where a secret could end up if code logged the wrong object: the XGateway client's options, a callback body with
  // its hash, a request's headers, the receiver's keys, an HTTP error that carries the request's headers.
  it.each([
    ['apiKey', { apiKey: SECRET }],
    ['config.apiKey', { config: { baseUrl: 'http://vendor.example', apiKey: SECRET } }],
    ['secretKey', { secretKey: SECRET }],
    ['options.secretKey', { options: { secretKey: SECRET } }],
    ['secretKeys', { secretKeys: [SECRET, `${SECRET}-previous`] }],
    ['config.secretKeys', { config: { secretKeys: [SECRET] } }],
    ['hash', { hash: SECRET }],
    ['body.hash', { body: { customerId: 'c-1', hash: SECRET } }],
    ['callback.body.hash', { callback: { body: { hash: SECRET } } }],
    ['headers["x-api-key"]', { headers: { 'x-api-key': SECRET } }],
    ['request.headers["x-api-key"]', { request: withHeaders({ 'x-api-key': SECRET }) }],
    ['req.headers.authorization', { req: withHeaders({ authorization: `Bearer ${SECRET}` }) }],
    ['req.headers.cookie', { req: withHeaders({ cookie: `session=${SECRET}` }) }],
    ['err.headers["x-api-key"]', { err: Object.assign(new Error('HTTP 401'), { headers: { 'x-api-key': SECRET } }) }],
  ])('redacts %s and keeps the rest of the line', (path, fields) => {
    const { logger, lines } = capturedLogger();
    logger.warn({ customerId: 'c-redact', ...fields }, 'XGateway refused the request');
    expect(lines).toHaveLength(1);
    const line = lines[0] ?? '';
    expect(line).not.toContain(SECRET);
    const entry = JSON.parse(line) as Record<string, unknown>;
    expect(entry).toMatchObject({ name: 'kyc-worker', customerId: 'c-redact', msg: 'XGateway refused the request' });
    // The field is still there, so a reader knows something was withheld, not that nothing was sent.
    const value = path
      .split(/\.|\["|"\]/)
      .filter(Boolean)
      .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], entry);
    expect(value).toBe('[redacted]');
  });

  it('redacts what the Temporal SDK logs through the worker (temporalLogger), with its metadata', () => {
    const { logger, lines } = capturedLogger();
    temporalLogger(logger).warn('Activity failed', {
      activityType: 'startVerification',
      workflowId: 'kyc-verification-c-redact',
      apiKey: SECRET,
      request: withHeaders({ 'x-api-key': SECRET }),
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 40,
      msg: 'Activity failed',
      activityType: 'startVerification',
      workflowId: 'kyc-verification-c-redact',
      apiKey: '[redacted]',
      request: { method: 'GET', url: '/kyc', headers: { 'x-api-key': '[redacted]' } },
    });
  });
});

describe('the KycStatus search attribute', () => {
  let stack: KycStack;
  beforeAll(async () => {
    stack = await createKycStack();
  });
  afterAll(async () => stack.close());

  const utf8 = (data: Uint8Array | null | undefined) => Buffer.from(data ?? []).toString();

  /** Every status the run read, in order: the start activity's readings, and each check, remote or local. */
  async function readings(handle: WorkflowHandle): Promise<string[]> {
    const statuses: string[] = [];
    for (const event of (await handle.fetchHistory()).events ?? []) {
      const payload =
        event.activityTaskCompletedEventAttributes?.result?.payloads?.[0] ??
        (event.markerRecordedEventAttributes?.markerName === 'core_local_activity'
          ? event.markerRecordedEventAttributes.details?.result?.payloads?.[0]
          : undefined);
      if (!payload) continue;
      // checkStatus returns a snapshot; startVerification returns { outcome, snapshot }.
      const result = JSON.parse(utf8(payload.data)) as { status?: string; snapshot?: { status: string } | null };
      const status = result.status ?? result.snapshot?.status;
      if (status !== undefined) statuses.push(status);
    }
    return statuses;
  }

  /** The KycStatus value of each upsert that set it; patched() upserts TemporalChangeVersion alone. */
  async function publishedStatuses(handle: WorkflowHandle): Promise<string[]> {
    const upserts = await historyEvents(handle, EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES);
    return upserts
      .map((event) => event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields)
      .filter((fields) => fields?.[kycStatusSearchAttribute.name])
      .map((fields) => JSON.parse(utf8(fields?.[kycStatusSearchAttribute.name]?.data)) as string);
  }

  /** Waits until the run has scheduled `count` status checks in all. */
  const checksScheduled = (handle: WorkflowHandle, count: number) =>
    eventually(async () => ((await checkStatusRuns(handle)) >= count ? true : undefined), `${count} status checks`);

  it('is upserted once per change of the confirmed status, however often a reading repeats it', async () => {
    const customerId = newCustomerId('upserts');
    // Processing never ends by itself: the test moves the status, after timer checks have read each one repeatedly.
    // Callbacks come twice, as XGateway may send them.
    stack.sandbox.scriptCustomer(
      customerId,
      approving({ processingDelayMs: 30 * 60_000, callbacks: { mode: 'duplicate' } }),
    );
    await stack.withKycWorker(async ({ start }) => {
      // A check a second; the short deadline keeps the planned checks within what the input allows.
      const timing = { firstCheckAfter: '1s', maxCheckInterval: '1s', deadline: '10m' };
      const handle = await start({ customerId, timing });
      await checksScheduled(handle, 3);
      stack.sandbox.setStatus(customerId, { status: 'SOFT_KYC_FAILED', docsMissing: ['SELFIE'] });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      const checksBefore = await checkStatusRuns(handle);
      // Refused, by design, while a callback's check runs; the refusal says to send it again.
      await resubmit(handle);
      await checksScheduled(handle, checksBefore + 3);
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER', resubmissions: 1 });

      const read = await readings(handle);
      const changes = read.filter((status, i) => status !== (i === 0 ? UNCONFIRMED_STATUS : read[i - 1]));
      expect(changes).toEqual(['KYC_PENDING', 'SOFT_KYC_FAILED', 'KYC_PENDING', 'FULL_USER']);
      // The scenario did repeat readings: at least two more KYC_PENDING in each wait for the result.
      expect(read.length).toBeGreaterThanOrEqual(changes.length + 4);

      const published = await publishedStatuses(handle);
      expect(published).toEqual(changes);
      published.forEach((status, i) => expect(status).not.toBe(i === 0 ? UNCONFIRMED_STATUS : published[i - 1]));
      expect((await handle.describe()).typedSearchAttributes.get(kycStatusSearchAttribute)).toBe('FULL_USER');
    });
  });
});
