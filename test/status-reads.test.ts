// Status reads and callbacks, whatever the vendor's status API and the callbacks do: a failing read during a
// callback's check, callbacks that wake the run, and odd or undocumented vendor answers. Each case here failed against
// the workflow before its fix. Split from test/exactly-once.test.ts, so that the two run on separate jest workers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { WorkflowHandle } from '@temporalio/client';

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
  readInFlight,
  resubmit,
  vendorRequests,
  waitForPhase,
} from './helpers/kyc.js';

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

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
      // A held read answers with the status at its arrival; both callbacks land while it is in flight.
      stack.sandbox.patchCustomer(customerId, { holdReads: true });
      await handle.signal(kycCallbackSignal, { customerId, status: 'SOFT_KYC_FAILED', kycProcessingStatus: null });
      await readInFlight(stack.sandbox, customerId);
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      await handle.signal(kycCallbackSignal, {
        customerId,
        status: 'KYC_PENDING',
        kycProcessingStatus: 'VERIFICATION_IN_PROGRESS',
      });
      stack.sandbox.patchCustomer(customerId, { holdReads: false });
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
      // Held reads, so that each burst lands while a check runs: after the first, then after the second.
      stack.sandbox.patchCustomer(customerId, { holdReads: true });
      await flood(handle, 1);
      await readsInFlight(readsBefore + 1);
      await flood(handle, 10);
      stack.sandbox.releaseReads(customerId);
      await readsInFlight(readsBefore + 2);
      await flood(handle, 10);
      stack.sandbox.patchCustomer(customerId, { holdReads: false });
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
      await resubmit(handle);
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
