// Generated callbacks against the real receiver and the real dev server (fast-check; the seed is in any failure and
// can be replayed with FUZZ_SEED=<seed>). Whatever the body: no 5xx, nothing reaches Temporal without a valid hash,
// every refusal has its documented status code, and the process keeps answering.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';

import { createLogger } from '../src/logging.js';
import { createWebhookMetrics, type WebhookMetrics } from '../src/webhook/metrics.js';
import { CALLBACK_PATH, createWebhookServer } from '../src/webhook/server.js';
import { computeCallbackHash } from '../src/xgateway/callback-hash.js';
import { signedCallback } from './fixtures/callbacks.js';
import { createKycStack, type KycStack, waitForPhase } from './helpers/kyc.js';
import { connectTestTemporal, type TemporalTestContext, uniqueTaskQueue } from './helpers/temporal.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Date.now() % 2 ** 31;
const SECRET = `fuzz-secret-${process.pid}`;
/** What the README documents for a refusal; 200 is the only success. */
const DOCUMENTED = new Set([200, 400, 401, 413, 415, 429]);

const STATUSES = ['KYC_PENDING', 'SOFT_KYC_FAILED', 'HARD_KYC_FAILED', 'FULL_USER', 'PENDING_KYC_DATA', 'KYC_NEEDED'];
const anyJson = fc.jsonValue({ maxDepth: 3 });
/** 'é' is two bytes: from 4 KB to 80 KB, so some bodies pass the 64 KiB body limit and some do not. */
const hugeString = fc.integer({ min: 2_000, max: 40_000 }).map((n) => 'é'.repeat(n));
/** Mostly what XGateway sends, sometimes anything at all. */
const oddly = <T>(usual: fc.Arbitrary<T>) =>
  // Without bias, so that the weights hold: fast-check otherwise favours some choices.
  fc.noBias(
    fc.oneof(
      { weight: 18, arbitrary: usual },
      { weight: 1, arbitrary: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), hugeString) },
      { weight: 1, arbitrary: anyJson },
    ),
  );
const shortText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.constant(null));

/** One body as entries, so that keys like `__proto__` can be written into the JSON text as own keys. */
const entries = fc.record({
  customerId: oddly(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/)),
  validHash: fc.boolean(),
  fields: fc
    .record(
      {
        callbackType: oddly(fc.constant('kyc')),
        status: oddly(fc.constantFrom(...STATUSES, null)),
        kycProcessingStatus: oddly(fc.constantFrom(null, 'VERIFICATION_IN_PROGRESS', 'DOCUMENT_UPLOAD_IN_PROGRESS')),
        docsMissing: oddly(
          fc.array(fc.constantFrom('SELFIE', 'PASSPORT', { docType: 'SELFIE' }, { docType: 7 }), { maxLength: 55 }),
        ),
        kycRejectLabel: oddly(shortText),
        kycEndUserErrorMessage: oddly(shortText),
      },
      { requiredKeys: ['callbackType', 'status'] },
    )
    .map((fields) => Object.entries(fields)),
  extras: fc.array(
    fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'extra'), anyJson),
    { maxLength: 3 },
  ),
  shape: fc.constantFrom('object', 'object', 'object', 'object', 'object', 'truncated', 'array', 'scalar'),
  cut: fc.nat(),
});

type GeneratedBody = typeof entries extends fc.Arbitrary<infer T> ? T : never;

function render(body: GeneratedBody): string {
  const hash =
    body.validHash && typeof body.customerId === 'string'
      ? computeCallbackHash(body.customerId, SECRET)
      : 'bm90IHRoZSBoYXNo';
  const pairs: [string, unknown][] = [['customerId', body.customerId], ['hash', hash], ...body.fields, ...body.extras];
  const json = `{${pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
  switch (body.shape) {
    case 'truncated':
      return json.slice(0, body.cut % json.length);
    case 'array':
      return `[${json}]`;
    case 'scalar':
      return JSON.stringify(body.customerId);
    default:
      return json;
  }
}

describe('the receiver under generated bodies', () => {
  let temporal: TemporalTestContext;
  let app: FastifyInstance;
  let metrics: WebhookMetrics;
  let url: string;
  beforeAll(async () => {
    temporal = await connectTestTemporal();
    metrics = createWebhookMetrics();
    app = await createWebhookServer({
      client: temporal.client,
      taskQueue: uniqueTaskQueue('fuzz'),
      secretKeys: [SECRET],
      metrics,
      logger: createLogger('kyc-webhook', { level: 'silent' }),
      // A slow dev server under the parallel suite must not turn into a 503: this property is about bodies.
      temporalTimeoutMs: 30_000,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (typeof address !== 'object' || address === null) throw new Error('receiver has no address');
    url = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app.close();
    await temporal.close();
  });

  /** Everything that reaches Temporal: signals, unmatched records, progress look-ups. */
  const reachedTemporal = async () => {
    let sum = 0;
    for (const counter of [metrics.signalled, metrics.unmatched, metrics.progress, metrics.duplicates]) {
      sum += (await counter.get()).values.reduce((total, value) => total + value.value, 0);
    }
    return sum;
  };

  it(`answers 1,000 generated bodies as documented (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(entries, async (body) => {
        const before = await reachedTemporal();
        const response = await fetch(`${url}${CALLBACK_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: render(body),
        });
        await response.arrayBuffer();
        expect(response.status).toBeLessThan(500);
        expect(DOCUMENTED.has(response.status)).toBe(true);
        const authentic = body.validHash && body.shape === 'object' && typeof body.customerId === 'string';
        if (!authentic) {
          expect(response.status).not.toBe(200);
          expect(await reachedTemporal()).toBe(before);
        }
      }),
      { numRuns: 1_000, seed: SEED },
    );
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  });
});

describe('valid callbacks in any order', () => {
  let stack: KycStack;
  beforeAll(async () => void (stack = await createKycStack()));
  afterAll(async () => stack.close());

  const OUTCOME = { FULL_USER: 'VERIFIED', HARD_KYC_FAILED: 'REJECTED', SOFT_KYC_FAILED: 'NEEDS_DATA' } as const;
  let counter = 0;

  it(`ends in the outcome the status API holds, for any permutation with duplicates (seed ${SEED})`, async () => {
    const scenario = fc.constantFrom(...(Object.keys(OUTCOME) as (keyof typeof OUTCOME)[])).chain((final) =>
      fc.record({
        final: fc.constant(final),
        // The sequence a verification sends (progress, then the result), each callback sent 1 to 3 times, shuffled.
        order: fc.shuffledSubarray(
          [
            { status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' },
            { status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' },
            { status: final, kycProcessingStatus: null },
            { status: final, kycProcessingStatus: null },
            { status: final, kycProcessingStatus: null },
          ],
          { minLength: 5, maxLength: 5 },
        ),
        copies: fc.integer({ min: 1, max: 3 }),
      }),
    );
    await stack.withKycWorker(async ({ start }) => {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ final, order, copies }) => {
          const customerId = `fuzz-order-${process.pid}-${Date.now()}-${++counter}`;
          stack.sandbox.scriptCustomer(customerId, { processingDelayMs: 600_000, callbacks: { mode: 'drop' } });
          const handle = await start({
            customerId,
            timing: { firstCheckAfter: '10m', deadline: '1d', resubmissionWindow: '2s' },
          });
          await waitForPhase(handle, 'AWAITING_RESULT');
          stack.sandbox.setStatus(customerId, { status: final });
          for (const claim of order.slice(0, 2 + copies)) {
            const body = signedCallback(customerId, stack.keys.secretKey, claim);
            const response = await fetch(stack.receiverUrl, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            });
            expect(response.status).toBe(200);
          }
          expect(await handle.result()).toMatchObject({ outcome: OUTCOME[final], status: final });
        }),
        { numRuns: 6, seed: SEED },
      );
    });
  });
});
