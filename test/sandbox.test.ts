import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';

import { createSandbox, type RequestLog, type Sandbox } from '../src/sandbox/sandbox.js';

const API_KEY = 'test-api-key';
const SECRET_KEY = 'test-secret-key';
const UNAUTHORIZED = {
  success: false,
  errors: [{ code: 'unauthorized', message: 'You do not have permission to access this resource.' }],
};

interface ReceivedCallback {
  customerId: string;
  status: string | null;
  body: Record<string, unknown>;
}

/** A callback target on loopback that records every body and can refuse the next deliveries of one status. */
async function startCallbackTarget() {
  const received: ReceivedCallback[] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    request.on('end', () => {
      const body = JSON.parse(raw) as Record<string, unknown>;
      const customerId = String(body.customerId);
      const status = body.status as string | null;
      received.push({ customerId, status, body });
      const key = `${customerId}/${status}`;
      const failing = failures.get(key) ?? 0;
      if (failing > 0) failures.set(key, failing - 1);
      response.writeHead(failing > 0 ? 500 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/callbacks/kyc`,
    received,
    for: (customerId: string) => received.filter((callback) => callback.customerId === customerId),
    failNext: (customerId: string, status: string, count: number) => failures.set(`${customerId}/${status}`, count),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const byStatus = (callbacks: ReceivedCallback[]) =>
  [...callbacks].sort((a, b) => String(a.status).localeCompare(String(b.status)));

async function waitFor<T>(read: () => T | Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  const giveUpAt = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > giveUpAt) throw new Error(`Timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('XGateway sandbox', () => {
  let sandbox: Sandbox;
  let target: Awaited<ReturnType<typeof startCallbackTarget>>;

  beforeAll(async () => {
    target = await startCallbackTarget();
    sandbox = createSandbox({
      apiKey: API_KEY,
      secretKey: SECRET_KEY,
      callbackUrl: target.url,
      processingDelayMs: 30,
      slowPostMs: 300,
      callbackRetryBaseMs: 10,
      reorderHoldMs: 300,
    });
    await sandbox.start();
  });
  afterAll(async () => {
    await sandbox.close();
    await target.close();
  });
  beforeEach(async () => {
    await control('POST', '/reset');
    target.received.length = 0;
  });

  const verify = (customerId: string, key: string | null = API_KEY, signal?: AbortSignal) =>
    fetch(`${sandbox.url}/customer/${customerId}/bank-transfer/kyc/verification`, {
      method: 'POST',
      headers: key === null ? {} : { 'x-api-key': key },
      signal,
    });
  const readStatus = (customerId: string, key: string | null = API_KEY) =>
    fetch(`${sandbox.url}/customer/${customerId}/bank-transfer/kyc`, {
      headers: key === null ? {} : { 'x-api-key': key },
    });
  const statusOf = async (customerId: string) => {
    const body = (await (await readStatus(customerId)).json()) as { data: { status: string | null } };
    return body.data;
  };
  const waitForStatus = (customerId: string, status: string) =>
    waitFor(
      () => statusOf(customerId),
      (data) => data.status === status,
      `${customerId} to reach ${status}`,
    );
  const waitForCallbacks = (customerId: string, count: number) =>
    waitFor(
      () => target.for(customerId),
      (list) => list.length >= count,
      `${count} callbacks for ${customerId}`,
    );
  async function control(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${sandbox.controlUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }
  const requestLog = async (customerId: string) =>
    (await (await control('GET', `/requests?customerId=${customerId}`)).json()) as RequestLog;

  it('answers 401 with the documented body for a missing or wrong API key', async () => {
    for (const key of [null, 'wrong-key']) {
      const post = await verify('approve-401', key);
      expect(post.status).toBe(401);
      expect(await post.json()).toEqual(UNAUTHORIZED);
      const get = await readStatus('approve-401', key);
      expect(get.status).toBe(401);
      expect(await get.json()).toEqual(UNAUTHORIZED);
    }
    const log = await requestLog('approve-401');
    expect(log.requests.map((entry) => entry.statusCode)).toEqual([401, 401, 401, 401]);
    expect(log.requests.some((entry) => entry.accepted)).toBe(false);
    expect((await control('GET', '/customers/approve-401')).status).toBe(404);
  });

  it('starts a verification with 204, shows KYC_PENDING, then the outcome, and refuses a second POST', async () => {
    const post = await verify('approve-1');
    expect(post.status).toBe(204);
    expect(await post.text()).toBe('');

    const final = await waitForStatus('approve-1', 'FULL_USER');
    expect(final).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      status: 'FULL_USER',
      kycProcessingStatus: null,
      docsMissing: [],
      kycRejectLabel: null,
      kycEndUserErrorMessage: null,
    });

    const second = await verify('approve-1');
    expect(second.status).toBe(400);
    expect(await second.json()).toEqual({
      success: false,
      errors: [{ code: 'db_violation', message: expect.any(String) }],
    });

    const log = await requestLog('approve-1');
    const posts = log.requests.filter((entry) => entry.method === 'POST');
    expect(posts.map((entry) => [entry.statusCode, entry.accepted])).toEqual([
      [204, true],
      [400, false],
    ]);
  });

  it('is KYC_PENDING / VERIFICATION_IN_PROGRESS while processing, and refuses a POST meanwhile', async () => {
    await control('PUT', '/customers/approve-busy', { processingDelayMs: 60_000 });
    expect((await verify('approve-busy')).status).toBe(204);

    const response = await readStatus('approve-busy');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      data: expect.objectContaining({ status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' }),
    });

    const again = await verify('approve-busy');
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ errors: [{ code: 'db_violation' }] });
    // The log says that the second one came while the first ran, even when a fault answers it.
    await control('PATCH', '/customers/approve-busy', { postFaults: ['503'] });
    expect((await verify('approve-busy')).status).toBe(503);
    const posts = (await requestLog('approve-busy')).requests.filter((entry) => entry.method === 'POST');
    expect(posts.map((entry) => entry.runningAtArrival)).toEqual([false, true, true]);
  });

  it('sends callbacks with the documented body and a hash of "<customerId>.<secret>"', async () => {
    expect((await verify('reject-1')).status).toBe(204);
    const callbacks = await waitForCallbacks('reject-1', 2);
    const expectedHash = createHash('sha512').update(`reject-1.${SECRET_KEY}`).digest('base64');

    // Deliveries run concurrently, as the vendor's do: compare in status order, not arrival order.
    expect(byStatus(callbacks).map((callback) => callback.body)).toEqual([
      {
        callbackType: 'kyc',
        customerId: 'reject-1',
        status: 'HARD_KYC_FAILED',
        kycProcessingStatus: null,
        docsMissing: [],
        kycRejectLabel: 'FORGERY',
        kycEndUserErrorMessage: expect.any(String),
        hash: expectedHash,
      },
      {
        callbackType: 'kyc',
        customerId: 'reject-1',
        status: 'KYC_PENDING',
        kycProcessingStatus: 'VERIFICATION_IN_PROGRESS',
        docsMissing: [],
        kycRejectLabel: null,
        kycEndUserErrorMessage: null,
        hash: expectedHash,
      },
    ]);
    expect((await statusOf('reject-1')).status).toBe('HARD_KYC_FAILED');
  });

  it('answers a null status for a nouser- customer and refuses to start its verification', async () => {
    const response = await readStatus('nouser-1');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      success: true,
      data: expect.objectContaining({ status: null, kycProcessingStatus: null }),
    });
    const post = await verify('nouser-1');
    expect(post.status).toBe(400);
    expect(await post.json()).toMatchObject({ success: false, errors: [{ code: 'db_violation' }] });
  });

  it('fails a soft- customer with a missing selfie, then verifies it after a second request', async () => {
    expect((await verify('soft-1')).status).toBe(204);
    const soft = await waitForStatus('soft-1', 'SOFT_KYC_FAILED');
    expect(soft).toMatchObject({
      kycProcessingStatus: null,
      docsMissing: [{ docType: 'SELFIE' }],
      kycRejectLabel: 'BAD_SELFIE',
      kycEndUserErrorMessage: expect.any(String),
    });
    const softCallback = (await waitForCallbacks('soft-1', 2)).find(
      (callback) => callback.status === 'SOFT_KYC_FAILED',
    );
    expect(softCallback?.body).toMatchObject({ docsMissing: ['SELFIE'], kycRejectLabel: 'BAD_SELFIE' });

    expect((await verify('soft-1')).status).toBe(204);
    expect(await waitForStatus('soft-1', 'FULL_USER')).toMatchObject({ docsMissing: [], kycRejectLabel: null });
    const callbacks = await waitForCallbacks('soft-1', 4);
    expect(byStatus(callbacks).map((callback) => callback.status)).toEqual([
      'FULL_USER',
      'KYC_PENDING',
      'KYC_PENDING',
      'SOFT_KYC_FAILED',
    ]);
  });

  it('fails a flaky- customer’s first two reads (500, then a reset) and rate-limits its first POST', async () => {
    expect((await readStatus('flaky-1')).status).toBe(500);
    await expect(readStatus('flaky-1')).rejects.toThrow();
    expect((await readStatus('flaky-1')).status).toBe(200);

    const first = await verify('flaky-1');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('1');
    expect((await verify('flaky-1')).status).toBe(204);
    await waitForStatus('flaky-1', 'FULL_USER');

    const posts = (await requestLog('flaky-1')).requests.filter((entry) => entry.method === 'POST');
    expect(posts.map((entry) => [entry.fault, entry.statusCode, entry.accepted ?? null])).toEqual([
      ['429', 429, null],
      [null, 204, true],
    ]);
  });

  it('changes a customer’s behaviour through PATCH, keeping its status: junk, overrides, refusals', async () => {
    await control('PUT', '/customers/approve-patch', { status: 'SOFT_KYC_FAILED' });
    const patch = await control('PATCH', '/customers/approve-patch', {
      getFaults: ['junk'],
      statusDataOverrides: { id: 42, kycRejectLabel: ['A', 'B'] },
      postResponse: 'refusal',
    });
    expect(patch.status).toBe(200);
    expect(await patch.json()).toMatchObject({ status: 'SOFT_KYC_FAILED', getFaults: ['junk'] });

    const junk = await readStatus('approve-patch');
    expect(junk.status).toBe(200);
    const junkText = await junk.text();
    expect(() => JSON.parse(junkText)).toThrow();
    expect((await (await readStatus('approve-patch')).json()) as unknown).toMatchObject({
      data: { id: 42, status: 'SOFT_KYC_FAILED', kycRejectLabel: ['A', 'B'] },
    });
    const refused = await verify('approve-patch');
    expect(refused.status).toBe(200);
    expect(await refused.json()).toMatchObject({ success: false, errors: [{ code: 'db_violation' }] });
    expect((await requestLog('approve-patch')).requests.at(-1)).toMatchObject({ method: 'POST', accepted: false });
    expect(await statusOf('approve-patch')).toMatchObject({ status: 'SOFT_KYC_FAILED' });

    const bad = await control('PATCH', '/customers/approve-patch', { status: 'FULL_USER' });
    expect(bad.status).toBe(400);
  });

  it('answers an undocumented status for one read with the unknown-status fault', async () => {
    await control('PUT', '/customers/c-unknown', { status: 'PENDING_KYC_DATA', getFaults: ['unknown-status'] });
    expect(await statusOf('c-unknown')).toMatchObject({ status: 'KYC_UNDER_REVIEW' });
    expect(await statusOf('c-unknown')).toMatchObject({ status: 'PENDING_KYC_DATA' });
    expect((await requestLog('c-unknown')).requests.map((entry) => entry.fault)).toEqual(['unknown-status', null]);
  });

  it('draws random faults from a seeded sequence: the same script and requests give the same faults', async () => {
    const faultsOf = async (customerId: string, seed: number) => {
      await control('PUT', `/customers/${customerId}`, {
        randomFaults: { faultRate: 0.3, junkRate: 0.2, unknownStatusRate: 0.2, seed },
      });
      for (let i = 0; i < 30; i += 1) await readStatus(customerId).then((response) => response.text(), String);
      return (await requestLog(customerId)).requests.map((entry) => entry.fault ?? entry.error);
    };
    const first = await faultsOf('c-random', 1);
    const again = await faultsOf('c-random', 1);
    const otherSeed = await faultsOf('c-random', 2);
    expect(again.slice(30)).toEqual(first);
    expect(otherSeed.slice(60)).not.toEqual(first);
    // Each kind shows up in 30 draws at these rates (fixed by the seed, so this cannot flap).
    for (const kind of ['junk', 'unknown-status', null]) expect(first).toContain(kind);
    expect(first.filter((fault) => fault === '500' || fault === '503' || fault === 'reset').length).toBeGreaterThan(0);
  });

  it('loses the answer of an accepted POST, and delays requests by a spike, at rate 1', async () => {
    await control('PUT', '/customers/c-lost', {
      processingDelayMs: 60_000,
      randomFaults: { lostAnswerRate: 1, spikeRate: 1, spikeMs: 200 },
    });
    const startedAt = Date.now();
    const lost = await verify('c-lost').then(
      (response) => response.status,
      () => 'reset',
    );
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(200);
    expect(['reset', 500]).toContain(lost);
    expect((await requestLog('c-lost')).requests).toMatchObject([{ method: 'POST', accepted: true }]);
    expect(await statusOf('c-lost')).toMatchObject({
      status: 'KYC_PENDING',
      kycProcessingStatus: 'VERIFICATION_IN_PROGRESS',
    });
  });

  it('can end a verification back at the status it started from (PENDING_KYC_DATA), then verify the next one', async () => {
    await control('PUT', '/customers/c-bounce', {
      outcomes: [{ status: 'PENDING_KYC_DATA' }, { status: 'FULL_USER' }],
    });
    expect((await verify('c-bounce')).status).toBe(204);
    await waitForStatus('c-bounce', 'PENDING_KYC_DATA');
    expect(await statusOf('c-bounce')).toMatchObject({ kycProcessingStatus: null });
    expect((await verify('c-bounce')).status).toBe(204);
    await waitForStatus('c-bounce', 'FULL_USER');
  });

  it('refuses random-fault rates outside [0, 1]', async () => {
    const bad = await control('PUT', '/customers/c-bad-rate', { randomFaults: { faultRate: 1.5 } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: expect.stringContaining('randomFaults.faultRate') });
  });

  it('answers scripted 400, 401 and 403 refusals with the documented bodies, and starts nothing', async () => {
    await control('PUT', '/customers/c-refusals', { postFaults: ['400', '401', '403'], getFaults: ['401'] });
    const answers: unknown[][] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await verify('c-refusals');
      answers.push([response.status, await response.json()]);
    }
    expect(answers).toEqual([
      [400, { success: false, errors: [{ code: 'db_violation', message: expect.any(String) }] }],
      [401, UNAUTHORIZED],
      [403, { success: false, errors: [{ code: 'forbidden', message: expect.any(String) }] }],
    ]);
    const read = await readStatus('c-refusals');
    expect([read.status, await read.json()]).toEqual([401, UNAUTHORIZED]);
    expect((await requestLog('c-refusals')).requests.map((entry) => [entry.fault, entry.accepted ?? null])).toEqual([
      ['400', false],
      ['401', false],
      ['403', false],
      ['401', null],
    ]);
    expect(await statusOf('c-refusals')).toMatchObject({ status: 'PENDING_KYC_DATA', kycProcessingStatus: null });
    // A refusal is an answer before acceptance: it cannot be scripted as the lost answer of an accepted POST.
    expect((await control('PUT', '/customers/c-refusals', { postFaultsAfterAccept: ['400'] })).status).toBe(400);
  });

  it('answers scripted 429 (with Retry-After) and 503 faults, and scripted GET faults', async () => {
    await control('PUT', '/customers/c-faults', {
      postFaults: ['429', '503'],
      getFaults: ['500', '500'],
      retryAfterSeconds: 7,
    });
    const limited = await verify('c-faults');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toMatchObject({ errors: [{ code: 'too_many_requests' }] });
    const unavailable = await verify('c-faults');
    expect(unavailable.status).toBe(503);
    expect(await unavailable.json()).toMatchObject({ errors: [{ code: 'service_unavailable' }] });

    const reads = [await readStatus('c-faults'), await readStatus('c-faults'), await readStatus('c-faults')];
    expect(reads.map((response) => response.status)).toEqual([500, 500, 200]);
  });

  it('retries a callback the target refused until it is delivered', async () => {
    target.failNext('retry-1', 'KYC_PENDING', 2);
    expect((await verify('retry-1')).status).toBe(204);
    const attempts = await waitFor(
      async () => (await requestLog('retry-1')).callbacks.filter((attempt) => attempt.status === 'KYC_PENDING'),
      (list) => list.some((attempt) => attempt.result === 'delivered'),
      'the KYC_PENDING callback to be delivered',
    );

    const pending = target.for('retry-1').filter((callback) => callback.status === 'KYC_PENDING');
    expect(pending).toHaveLength(3);
    expect(new Set(pending.map((callback) => JSON.stringify(callback.body))).size).toBe(1);
    expect(attempts.map((attempt) => [attempt.attempt, attempt.statusCode, attempt.result])).toEqual([
      [1, 500, 'failed'],
      [2, 500, 'failed'],
      [3, 200, 'delivered'],
    ]);
  });

  it('never sends callbacks for a silent- customer, and logs them as dropped', async () => {
    expect((await verify('silent-1')).status).toBe(204);
    await waitForStatus('silent-1', 'FULL_USER');
    await sandbox.settled();
    expect(target.for('silent-1')).toEqual([]);
    const attempts = (await requestLog('silent-1')).callbacks;
    expect(attempts.map((attempt) => [attempt.status, attempt.result])).toEqual([
      ['KYC_PENDING', 'dropped'],
      ['FULL_USER', 'dropped'],
    ]);
  });

  it('sends every callback twice in duplicate mode', async () => {
    await control('PUT', '/customers/dup-1', { callbacks: { mode: 'duplicate' } });
    expect((await verify('dup-1')).status).toBe(204);
    await waitForStatus('dup-1', 'FULL_USER');
    await sandbox.settled();
    expect(byStatus(target.for('dup-1')).map((callback) => callback.status)).toEqual([
      'FULL_USER',
      'FULL_USER',
      'KYC_PENDING',
      'KYC_PENDING',
    ]);
  });

  it('delivers the later status first in reorder mode, and still delivers the earlier one', async () => {
    await control('PUT', '/customers/order-1', { callbacks: { mode: 'reorder' } });
    expect((await verify('order-1')).status).toBe(204);
    const callbacks = await waitForCallbacks('order-1', 2);
    expect(callbacks.map((callback) => callback.status)).toEqual(['FULL_USER', 'KYC_PENDING']);
  });

  it('flushes a held callback in reorder mode when no later one comes', async () => {
    await control('PUT', '/customers/order-2', { callbacks: { mode: 'reorder', delayMs: 20 } });
    await control('POST', '/customers/order-2/status', { status: 'FRAUD_SUSPECTED' });
    const [callback] = await waitForCallbacks('order-2', 1);
    expect(callback?.status).toBe('FRAUD_SUSPECTED');
  });

  it('still sends callbacks in delay mode', async () => {
    await control('PUT', '/customers/late-1', { callbacks: { mode: 'delay', delayMs: 20 } });
    expect((await verify('late-1')).status).toBe(204);
    const callbacks = await waitForCallbacks('late-1', 2);
    expect(byStatus(callbacks).map((callback) => callback.status)).toEqual(['FULL_USER', 'KYC_PENDING']);
  });

  it('keeps verifying a slow customer whose client gave up on the POST, and logs the disconnect at once', async () => {
    // An answer held for an hour: the abort always comes first, and only the disconnect can end the exchange.
    await control('PUT', '/customers/slow-1', { postDelayMs: 60 * 60_000 });
    const abort = new AbortController();
    const post = verify('slow-1', API_KEY, abort.signal);
    await waitFor(
      () => requestLog('slow-1'),
      (log) => log.requests.some((entry) => entry.accepted),
      'the POST to be accepted',
    );
    abort.abort();
    await expect(post).rejects.toThrow();

    await waitForStatus('slow-1', 'FULL_USER');
    const [entry] = await waitFor(
      async () => (await requestLog('slow-1')).requests.filter((request) => request.method === 'POST'),
      (posts) => posts[0]?.error !== null,
      'the slow POST to end',
    );
    expect(entry).toMatchObject({ accepted: true, statusCode: null, error: 'client disconnected' });
  });

  it('holds status reads until released, answering with the status at arrival, and sees a held read hang up', async () => {
    await control('PUT', '/customers/held-1', { status: 'KYC_PENDING', holdReads: true });
    const inFlight = (count: number) =>
      waitFor(
        () => requestLog('held-1'),
        (log) => log.requests.filter((entry) => entry.answeredAt === null).length === count,
        `${count} held reads`,
      );
    const first = readStatus('held-1');
    await inFlight(1);
    sandbox.setStatus('held-1', { status: 'FULL_USER' });
    const second = readStatus('held-1');
    await inFlight(2);
    sandbox.releaseReads('held-1');
    expect((await (await first).json()) as unknown).toMatchObject({ data: { status: 'KYC_PENDING' } });
    expect((await (await second).json()) as unknown).toMatchObject({ data: { status: 'FULL_USER' } });

    // Still holding: a later read waits for the next release, or ends when its client hangs up.
    const abort = new AbortController();
    const abandoned = fetch(`${sandbox.url}/customer/held-1/bank-transfer/kyc`, {
      headers: { 'x-api-key': API_KEY },
      signal: abort.signal,
    });
    await inFlight(1);
    abort.abort();
    await expect(abandoned).rejects.toThrow();
    await inFlight(0);
    const third = readStatus('held-1');
    await inFlight(1);
    await control('PATCH', '/customers/held-1', { holdReads: false });
    expect((await third).status).toBe(200);
    expect((await readStatus('held-1')).status).toBe(200);
    const reads = (await requestLog('held-1')).requests.map((entry) => entry.error);
    expect(reads).toEqual([null, null, 'client disconnected', null, null]);
  });

  it('answers a slow- POST with 204 once its delay is over', async () => {
    const post = await verify('slow-2');
    expect(post.status).toBe(204);
    const [entry] = (await requestLog('slow-2')).requests;
    expect(entry).toMatchObject({ accepted: true, statusCode: 204, error: null });
  });

  it('can answer an accepted POST with the JSON success body', async () => {
    await control('PUT', '/customers/json-1', { postResponse: 'json' });
    const post = await verify('json-1');
    expect(post.status).toBe(200);
    expect(await post.json()).toEqual({ success: true, data: expect.any(String) });
  });

  it('reverses a FULL_USER through the control API and sends a callback for it', async () => {
    expect((await verify('approve-rev')).status).toBe(204);
    await waitForStatus('approve-rev', 'FULL_USER');
    const response = await control('POST', '/customers/approve-rev/status', { status: 'FRAUD_SUSPECTED' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ customerId: 'approve-rev', status: 'FRAUD_SUSPECTED' });

    expect((await statusOf('approve-rev')).status).toBe('FRAUD_SUSPECTED');
    const callbacks = await waitForCallbacks('approve-rev', 3);
    expect(callbacks.map((callback) => callback.status)).toContain('FRAUD_SUSPECTED');
  });

  it('scripts a customer with PUT, shows it with GET, and rejects a bad script naming the field', async () => {
    const put = await control('PUT', '/customers/c-script', {
      status: 'SOFT_KYC_FAILED',
      outcomes: [{ status: 'HARD_KYC_FAILED', kycRejectLabel: 'SPAM' }],
    });
    expect(put.status).toBe(200);
    const shown = await control('GET', '/customers/c-script');
    expect(await shown.json()).toMatchObject({
      customerId: 'c-script',
      status: 'SOFT_KYC_FAILED',
      outcomes: [{ status: 'HARD_KYC_FAILED', kycRejectLabel: 'SPAM' }],
    });
    expect((await verify('c-script')).status).toBe(204);
    expect(await waitForStatus('c-script', 'HARD_KYC_FAILED')).toMatchObject({ kycRejectLabel: 'SPAM' });

    const bad = await control('PUT', '/customers/c-script', { postFaults: ['418'] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: expect.stringContaining('postFaults') });
  });

  it('answers unknown vendor routes with a not_found error body', async () => {
    const response = await fetch(`${sandbox.url}/customer/x/bank-transfer/user`, { headers: { 'x-api-key': API_KEY } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      success: false,
      errors: [{ code: 'not_found', message: expect.any(String) }],
    });
  });

  it('forgets customers and the log on reset', async () => {
    expect((await verify('approve-reset')).status).toBe(204);
    await waitForStatus('approve-reset', 'FULL_USER');
    expect((await control('POST', '/reset')).status).toBe(204);
    expect(await requestLog('approve-reset')).toEqual({ requests: [], callbacks: [] });
    expect((await control('GET', '/customers/approve-reset')).status).toBe(404);
  });

  it('closes while a POST and a verification are pending', async () => {
    const other = createSandbox({
      apiKey: API_KEY,
      secretKey: SECRET_KEY,
      callbackUrl: target.url,
      slowPostMs: 60_000,
    });
    const url = await other.start();
    const post = fetch(`${url}/customer/slow-close/bank-transfer/kyc/verification`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY },
    });
    await waitFor(
      () => other.requestLog('slow-close').requests,
      (requests) => requests.some((entry) => entry.accepted),
      'the POST to be accepted',
    );
    await other.close();
    await expect(post).rejects.toThrow();
    expect(other.customer('slow-close')).toMatchObject({ status: 'KYC_PENDING' });
  });
});
