// Exactly one verification request per start or resubmission, and an outcome that follows from why the run stopped,
// whatever the vendor and the clock do. Each case here failed against the workflow before its fix.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';

import { localActivityType } from '../bench/figures/cost.js';
import type { CustomerScript } from '../src/sandbox/scenarios.js';
import { kycCallbackSignal, resubmitUpdate, statusQuery } from '../src/shared/contract.js';
import { approving, newCustomerId, softThenVerified } from './fixtures/customers.js';
import {
  acceptedPosts,
  CALLBACK_ONLY,
  checkStatusRuns,
  createKycStack,
  eventually,
  type KycStack,
  type KycWorkerOptions,
  vendorRequests,
  waitForPhase,
} from './helpers/kyc.js';
import { uniqueTaskQueue } from './helpers/temporal.js';

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

/** Resolves once the sandbox holds a status read of this customer that it has not answered yet. */
const readInFlight = (customerId: string) =>
  eventually(
    async () =>
      vendorRequests(stack.sandbox, customerId, 'GET').some((r) => r.answeredAt === null) ? true : undefined,
    'a status read in flight',
  );

describe('a verification request whose answer was lost is never sent again on its own', () => {
  const losses: [string, CustomerScript, KycWorkerOptions][] = [
    ['a 500 after acceptance', { postFaultsAfterAccept: ['500'], postDelayMs: 300 }, {}],
    ['a reset after acceptance', { postFaultsAfterAccept: ['reset'], postDelayMs: 300 }, {}],
    ['our own timeout', { postDelayMs: 3_000 }, { postTimeoutMs: 1_000 }],
  ];
  const cases = ['SOFT_KYC_FAILED', 'PENDING_KYC_DATA', 'KYC_PENDING'].flatMap((status) =>
    losses.map(([loss, script, worker]) => [status, loss, script, worker] as const),
  );

  it.each(cases)('from %s, lost by %s, the status back where it started', async (status, _loss, script, worker) => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving());
    // The vendor accepts and ends the verification where it started within 50 ms; the answer, lost, comes later.
    stack.sandbox.scriptCustomer(customerId, {
      status,
      outcomes: [{ status }, { status: 'FULL_USER' }],
      processingDelayMs: 50,
      ...script,
    });
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const state = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'AWAITING_RESUBMISSION' && s.lastError ? s : undefined;
      }, 'the unknown outcome, shown');
      expect(state.lastError).toMatch(/Outcome unknown: .*no sign that the request landed; send resubmit/);
      expect(state).toMatchObject({ status, kycProcessingStatus: null, attempts: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);

      // The merchant decides: an explicit resubmit sends exactly one more request.
      expect(await handle.executeUpdate(resubmitUpdate)).toEqual({ resubmission: 1 });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 2, resubmissions: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    }, worker);
  });

  it('from SOFT_KYC_FAILED, lost because the worker stopped mid-request: the next worker never sends it again', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(
      customerId,
      approving({
        status: 'SOFT_KYC_FAILED',
        outcomes: [{ status: 'SOFT_KYC_FAILED' }, { status: 'FULL_USER' }],
        processingDelayMs: 50,
        postDelayMs: 60_000,
      }),
    );
    const taskQueue = uniqueTaskQueue('kyc');
    // The first worker stops while its POST waits for an answer: it aborts the request, after the vendor accepted it.
    const handle = await stack.withKycWorker(
      async ({ start }) => {
        const started = await start({ customerId, timing: CALLBACK_ONLY });
        await eventually(
          async () => (acceptedPosts(stack.sandbox, customerId) === 1 ? true : undefined),
          'the accepted POST',
        );
        return started;
      },
      { taskQueue },
    );
    await stack.withKycWorker(
      async () => {
        const state = await eventually(async () => {
          const s = await handle.query(statusQuery);
          return s.phase === 'AWAITING_RESUBMISSION' && s.lastError ? s : undefined;
        }, 'the unknown outcome, shown by the next worker');
        expect(state.lastError).toMatch(/^Outcome unknown: /);
        expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
        stack.sandbox.patchCustomer(customerId, { postDelayMs: 0 });
        await handle.executeUpdate(resubmitUpdate);
        expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 2 });
        expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
      },
      { taskQueue },
    );
  });

  it('moves on without resubmit when the status shows that the lost request landed', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ postFaultsAfterAccept: ['503'], processingDelayMs: 600_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const state = await waitForPhase(handle, 'AWAITING_RESULT');
      expect(state).toMatchObject({ status: 'KYC_PENDING', kycProcessingStatus: 'VERIFICATION_IN_PROGRESS' });
      expect(state.lastError).toBeNull();
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
    });
  });

  it('sends again a request that provably never left: refused with 429, not before Retry-After', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving());
    // 3 s is longer than the workflow's own first pause (1 s), so only Retry-After explains the gap.
    stack.sandbox.scriptCustomer(customerId, { postFaults: ['429'], retryAfterSeconds: 3 });
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      const [refused, accepted] = vendorRequests(stack.sandbox, customerId, 'POST');
      expect(refused).toMatchObject({ statusCode: 429 });
      expect(accepted).toMatchObject({ accepted: true });
      const gap = Date.parse(accepted?.time ?? '') - Date.parse(refused?.answeredAt ?? '');
      expect(gap).toBeGreaterThanOrEqual(3_000 - 1);
    });
  });

  it('fails the first start on a 2xx whose body says success false, sending nothing more', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ postResponse: 'refusal' }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { ...CALLBACK_ONLY, resubmissionWindow: '2s' } });
      await expect(handle.result()).rejects.toMatchObject({
        cause: { type: 'XGatewayRequestRejectedError', message: expect.stringMatching(/success false/) },
      });
      expect(vendorRequests(stack.sandbox, customerId, 'POST')).toHaveLength(1);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(0);
    });
  });
});

describe('resubmit is accepted only when it leads to exactly one request', () => {
  it('refuses a resubmit while the end-of-window check runs, and ends NEEDS_DATA with no POST', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified({ callbacks: { mode: 'drop' } }));
    await stack.withKycWorker(async ({ start }) => {
      // No callbacks: a timer check finds SOFT_KYC_FAILED, and only the window's end moves the run on.
      const timing = { firstCheckAfter: '1s', deadline: '1h', resubmissionWindow: '2s' };
      const handle = await start({ customerId, timing });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 3_000 });
      await readInFlight(customerId);
      const refusal = handle.executeUpdate(resubmitUpdate);
      await expect(refusal).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(refusal).rejects.toMatchObject({ cause: { message: expect.stringMatching(/status check runs/) } });
      expect(await handle.result()).toMatchObject({ outcome: 'NEEDS_DATA', resubmissions: 0 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
    });
  });

  it('lets a resubmit sent during a callback-triggered check wait for its reading: one request follows', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 2_000 });
      await handle.signal(kycCallbackSignal, { customerId, status: 'KYC_PENDING', kycProcessingStatus: null });
      await readInFlight(customerId);
      // The check is a local activity inside the callback's workflow task: the update is delivered once the reading
      // (still SOFT_KYC_FAILED) has landed, so accepting it means exactly one request, and a second one is refused.
      const resubmitted = handle.executeUpdate(resubmitUpdate);
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 0 });
      expect(await resubmitted).toEqual({ resubmission: 1 });
      const { lastCheckAt, lastCallback } = await handle.query(statusQuery);
      expect(lastCheckAt! > lastCallback!.signalledAt).toBe(true);
      await expect(handle.executeUpdate(resubmitUpdate)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', resubmissions: 1, attempts: 2 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    });
  });
});

describe('why the run stopped decides the outcome', () => {
  it('gives CANCELLED when a cancel meets a status read that then fails', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: 600_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 2_000, getFaults: Array(20).fill('503') });
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      await readInFlight(customerId);
      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED' });
    });
  });
});

describe('a failing status API during a callback-triggered check', () => {
  // The check runs as a local activity inside the callback's workflow task. Left to retry there, an outage would hold
  // the task and add a timer per retry to the history for as long as it lasted; after a short budget it must hand
  // over to a remote activity, whose retries add nothing to the history.
  it('hands the check over to a remote activity after three attempts, and still completes', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: 600_000, callbacks: { mode: 'drop' } }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      // More failures than the local activity has attempts (reads at 0, 2 and 6 s).
      stack.sandbox.patchCustomer(customerId, { getFaults: Array(4).fill('503') });
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
      const events = (await handle.fetchHistory()).events ?? [];
      const remoteChecks = events.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkStatus',
      );
      const localChecks = events.filter((e) => localActivityType(e) === 'checkStatus');
      expect(localChecks).toHaveLength(1);
      expect(remoteChecks).toHaveLength(1);
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1); // the fallback timer only
    });
  });
});

describe('callbacks wake the workflow', () => {
  it('wakes for news that a stale callback followed in the same activation', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: 600_000, callbacks: { mode: 'drop' } }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      // A slow read answers with the status at its arrival; both callbacks land while it runs.
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 1_500 });
      await handle.signal(kycCallbackSignal, { customerId, status: 'SOFT_KYC_FAILED', kycProcessingStatus: null });
      await readInFlight(customerId);
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      await handle.signal(kycCallbackSignal, {
        customerId,
        status: 'KYC_PENDING',
        kycProcessingStatus: 'VERIFICATION_IN_PROGRESS',
      });
      const done = await eventually(
        async () => {
          const s = await handle.query(statusQuery);
          return s.phase === 'COMPLETED' ? s : undefined;
        },
        'the result, woken by the FULL_USER callback',
        20_000,
      );
      expect(done).toMatchObject({ status: 'FULL_USER', callbacksReceived: 3 });
    });
  });

  it('coalesces a flood of callbacks to one status check a minute after the first two', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: 600_000 }));
    const flood = async (handle: WorkflowHandle, count: number) => {
      for (let i = 0; i < count; i += 1) {
        await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      }
    };
    const readsInFlight = (count: number) =>
      eventually(
        async () =>
          vendorRequests(stack.sandbox, customerId, 'GET').filter((r) => r.answeredAt === null).length >= 1 &&
          vendorRequests(stack.sandbox, customerId, 'GET').length >= count
            ? true
            : undefined,
        `status read ${count} in flight`,
      );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      const readsBefore = vendorRequests(stack.sandbox, customerId, 'GET').length;
      // Slow reads, so that each burst lands while a check runs: after the first, then after the second.
      stack.sandbox.patchCustomer(customerId, { getDelayMs: 1_000 });
      await flood(handle, 1);
      await readsInFlight(readsBefore + 1);
      await flood(handle, 10);
      await readsInFlight(readsBefore + 2);
      await flood(handle, 10);
      const coalescing = await eventually(async () => {
        const { events } = await handle.fetchHistory();
        return (events ?? []).find((e) =>
          e.timerStartedEventAttributes
            ? Buffer.from(e.userMetadata?.summary?.data ?? [])
                .toString()
                .includes('Coalesce')
            : false,
        );
      }, 'the coalescing timer');
      expect(coalescing).toBeDefined();
      expect((await handle.query(statusQuery)).callbacksReceived).toBe(21);
      expect(await checkStatusRuns(handle)).toBe(2);
      expect(vendorRequests(stack.sandbox, customerId, 'GET')).toHaveLength(readsBefore + 2);
      await handle.cancel();
    });
  });
});

describe('vendor answers', () => {
  it('reads a status answer with odd informative fields, keeping what it can', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(
      customerId,
      approving({
        status: 'FULL_USER',
        statusDataOverrides: {
          id: 42,
          docsMissing: [{ docType: 'SELFIE' }, 7, 'PASSPORT', { kind: 'x' }],
          kycRejectLabel: ['BAD_SELFIE', 'BAD_PASSPORT'],
          kycEndUserErrorMessage: { text: 'not a string' },
          addedLater: { nested: true },
        },
      }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const result = await Promise.race([
        handle.result(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no result: reads stall')), 20_000)),
      ]);
      expect(result).toMatchObject({
        outcome: 'VERIFIED',
        docsMissing: ['SELFIE', 'PASSPORT'],
        kycRejectLabel: 'BAD_SELFIE, BAD_PASSPORT',
        kycEndUserErrorMessage: null,
      });
    });
  });

  it('keeps an unknown status, treats it as not final, and sends nothing', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ status: 'UNDER_REVIEW_BY_COMPLIANCE' }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      expect(await waitForPhase(handle, 'AWAITING_RESULT')).toMatchObject({ status: 'UNDER_REVIEW_BY_COMPLIANCE' });
      expect(vendorRequests(stack.sandbox, customerId, 'POST')).toHaveLength(0);
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      expect(vendorRequests(stack.sandbox, customerId, 'POST')).toHaveLength(0);
    });
  });

  it.each<[string, CustomerScript, string | null]>([
    ['read once (a glitch of the status API)', { getFaults: ['unknown-status'] }, null],
    ['that lasts until the vendor moves on', { status: 'UNDER_REVIEW_BY_COMPLIANCE' }, 'PENDING_KYC_DATA'],
  ])(
    'sends its own request once an undocumented status %s gives way to one it can be sent from, without resubmit',
    async (_, script, nextStatus) => {
      const customerId = newCustomerId('approve');
      stack.sandbox.scriptCustomer(customerId, approving(script));
      await stack.withKycWorker(async ({ start }) => {
        const handle = await start({
          customerId,
          timing: { firstCheckAfter: '1s', maxCheckInterval: '2s', deadline: '5m' },
        });
        const waiting = await waitForPhase(handle, 'AWAITING_RESULT');
        expect(waiting.lastError).toMatch(/Not sent yet: .* does not accept a verification request/);
        expect(vendorRequests(stack.sandbox, customerId, 'POST')).toHaveLength(0);
        if (nextStatus) stack.sandbox.setStatus(customerId, { status: nextStatus });
        expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1, resubmissions: 0 });
        expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
      });
    },
  );

  it('never sends a deferred request again on its own once its answer was lost: the merchant decides', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ status: 'UNDER_REVIEW_BY_COMPLIANCE' }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '2s', deadline: '5m' },
      });
      await waitForPhase(handle, 'AWAITING_RESULT');
      // The deferred request goes out, is accepted, and its answer is lost; the vendor then ends it SOFT_KYC_FAILED.
      stack.sandbox.patchCustomer(customerId, {
        postFaultsAfterAccept: ['500'],
        outcomes: [{ status: 'SOFT_KYC_FAILED', docsMissing: ['SELFIE'] }, { status: 'FULL_USER' }],
        processingDelayMs: 50,
      });
      stack.sandbox.setStatus(customerId, { status: 'PENDING_KYC_DATA' });
      // Resting after the SOFT_KYC_FAILED callback was checked: nothing was sent again meanwhile.
      await eventually(async () => {
        const s = await handle.query(statusQuery);
        const checkedAfterCallback =
          s.lastCallback?.status === 'SOFT_KYC_FAILED' &&
          Date.parse(s.lastCheckAt ?? '') >= Date.parse(s.lastCallback.signalledAt);
        return s.phase === 'AWAITING_RESUBMISSION' && checkedAfterCallback ? s : undefined;
      }, 'the SOFT_KYC_FAILED callback checked, the run waiting for the merchant');
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
      expect(await handle.executeUpdate(resubmitUpdate)).toEqual({ resubmission: 1 });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 2, resubmissions: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    });
  });

  it('keeps saying that the outcome is unknown when the read after it shows an undocumented status', async () => {
    const customerId = newCustomerId('approve');
    // The POST fails before acceptance (503: outcome unknown); the read that follows answers an undocumented status.
    stack.sandbox.scriptCustomer(customerId, approving({ postFaults: ['503'], getFaults: ['ok', 'unknown-status'] }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '2s', deadline: '5m' },
      });
      const waiting = await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      expect(waiting).toMatchObject({ status: 'PENDING_KYC_DATA', kycProcessingStatus: null });
      expect(waiting.lastError).toMatch(/^Outcome unknown: .*no sign that the request landed; send resubmit/);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(0);
      await handle.cancel();
    });
  });

  it('starts the fallback checks over at firstCheckAfter with each new request', async () => {
    const customerId = newCustomerId('silent');
    // No callbacks, and a first verification that outlasts checks at 1, 2, 4 and 8 s: the interval reaches its cap.
    stack.sandbox.scriptCustomer(
      customerId,
      softThenVerified({ callbacks: { mode: 'drop' }, processingDelayMs: 12_000 }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '8s', deadline: '5m' },
      });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      stack.sandbox.patchCustomer(customerId, { processingDelayMs: 600_000 });
      await handle.executeUpdate(resubmitUpdate);
      const waiting = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'AWAITING_RESULT' && s.attempts === 2 && s.nextCheckAt ? s : undefined;
      }, 'the resubmitted request sent, the next check planned');
      const plannedIn = Date.parse(waiting.nextCheckAt ?? '') - Date.parse(waiting.lastCheckAt ?? '');
      expect(plannedIn).toBeLessThanOrEqual(2_000);
      await handle.cancel();
    });
  });

  it('never reads again before a status read’s Retry-After has passed', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: 600_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      // 4 s is longer than the read policy's first interval (2 s), so only Retry-After explains the gap.
      stack.sandbox.patchCustomer(customerId, { getFaults: ['429'], retryAfterSeconds: 4 });
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED' });
      const reads = vendorRequests(stack.sandbox, customerId, 'GET');
      const limited = reads.findIndex((r) => r.statusCode === 429);
      const gap = Date.parse(reads[limited + 1]?.time ?? '') - Date.parse(reads[limited]?.answeredAt ?? '');
      expect(gap).toBeGreaterThanOrEqual(4_000 - 1);
    });
  });
});
