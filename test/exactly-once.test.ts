// Exactly one verification request per start or resubmission, and an outcome that follows from why the run stopped,
// whatever the vendor and the clock do. Each case here failed against the workflow before its fix.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';

import type { CustomerScript } from '../src/sandbox/scenarios.js';
import { kycCallbackSignal, resubmitUpdate, statusQuery } from '../src/shared/contract.js';
import { approving, newCustomerId, softThenVerified } from './fixtures/customers.js';
import {
  acceptedPosts,
  CALLBACK_ONLY,
  createKycStack,
  eventually,
  type KycStack,
  type KycWorkerOptions,
  readInFlight,
  resubmit,
  vendorRequests,
  waitForPhase,
} from './helpers/kyc.js';
import { uniqueTaskQueue } from './helpers/temporal.js';

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

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
      expect(await resubmit(handle)).toEqual({ resubmission: 1 });
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
        await resubmit(handle);
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
      stack.sandbox.patchCustomer(customerId, { holdReads: true });
      await readInFlight(stack.sandbox, customerId);
      const refusal = handle.executeUpdate(resubmitUpdate);
      await expect(refusal).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(refusal).rejects.toMatchObject({ cause: { message: expect.stringMatching(/status check runs/) } });
      stack.sandbox.patchCustomer(customerId, { holdReads: false });
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
      await readInFlight(stack.sandbox, customerId);
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
      stack.sandbox.patchCustomer(customerId, { holdReads: true, getFaults: Array(20).fill('503') });
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      await readInFlight(stack.sandbox, customerId);
      await handle.cancel();
      stack.sandbox.patchCustomer(customerId, { holdReads: false });
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED' });
    });
  });
});
