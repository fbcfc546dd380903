import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';

import {
  kycCallbackSignal,
  kycStatusSearchAttribute,
  type KycVerificationResult,
  resubmitUpdate,
  statusQuery,
} from '../src/shared/contract.js';
import {
  approving,
  flaky,
  newCustomerId,
  rejecting,
  silent,
  softThenVerified,
  withoutUser,
} from './fixtures/customers.js';
import { failureOf } from './helpers/failures.js';
import {
  acceptedPosts,
  CALLBACK_ONLY,
  checkStatusRuns,
  createKycStack,
  eventually,
  historyEvents,
  historyTexts,
  type KycStack,
  resubmit,
  vendorRequests,
  waitForPhase,
} from './helpers/kyc.js';

const EventType = proto.api.enums.v1.EventType;

/** Vendor processing that never ends on its own: the test decides when the vendor answers. */
const NEVER = 600_000;

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

describe('kycVerificationWorkflow', () => {
  it('completes VERIFIED through the callback signal, with one POST and one status check', async () => {
    const customerId = newCustomerId('approve');
    // The vendor decides only once the run waits: a decision that came first would show in the start's own reading.
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      const result: KycVerificationResult = await handle.result();
      expect(result).toMatchObject({ customerId, outcome: 'VERIFIED', status: 'FULL_USER', attempts: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
      expect(await checkStatusRuns(handle)).toBe(1);
      expect((await historyEvents(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).length).toBeGreaterThan(0);
      const description = await handle.describe();
      expect(description.typedSearchAttributes.get(kycStatusSearchAttribute)).toBe('FULL_USER');
    });
  });

  it('falls back to status checks when no callback comes', async () => {
    const customerId = newCustomerId('silent');
    stack.sandbox.scriptCustomer(customerId, silent({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '2s', deadline: '1h' },
      });
      // Timer-driven checks run as remote activities (a callback's check is a local one): two of them read
      // KYC_PENDING before the vendor decides, so the run keeps checking on its own.
      const timerChecks = async () =>
        (await historyEvents(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).length >= 3 ? true : undefined;
      await eventually(timerChecks, 'the start and two timer-driven checks');
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
      expect(await historyEvents(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)).toHaveLength(0);
      // Each check waited for its timer, and the waits grew: 1 s, then 2 s (maxCheckInterval).
      const reads = vendorRequests(stack.sandbox, customerId, 'GET').map((r) => Date.parse(r.time));
      const gaps = reads.slice(2).map((time, i) => time - reads[i + 1]!);
      expect(gaps.length).toBeGreaterThanOrEqual(3);
      expect(gaps[0]).toBeGreaterThanOrEqual(1_000);
      expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(2_000);
    });
  });

  it('does not let a forged callback decide the result', async () => {
    const customerId = newCustomerId('reject');
    stack.sandbox.scriptCustomer(customerId, rejecting({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      // A label no callback carries: only a status read made after the forged claim can show it.
      stack.sandbox.patchCustomer(customerId, { statusDataOverrides: { kycRejectLabel: 'READ_AFTER_CLAIM' } });
      // Right shape, false status: the workflow must check the status API and keep waiting.
      await handle.signal(kycCallbackSignal, { customerId, status: 'FULL_USER', kycProcessingStatus: null });
      const state = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.kycRejectLabel === 'READ_AFTER_CLAIM' ? s : undefined;
      }, 'the state after the check of the claim');
      expect(state).toMatchObject({
        phase: 'AWAITING_RESULT',
        status: 'KYC_PENDING',
        lastCallback: { status: 'FULL_USER' },
      });
      expect(await checkStatusRuns(handle)).toBe(1);
      expect((await handle.describe()).typedSearchAttributes.get(kycStatusSearchAttribute)).not.toBe('FULL_USER');
      stack.sandbox.patchCustomer(customerId, { statusDataOverrides: {} });
      stack.sandbox.setStatus(customerId, { status: 'HARD_KYC_FAILED', kycRejectLabel: 'FORGERY' });
      expect(await handle.result()).toMatchObject({
        outcome: 'REJECTED',
        status: 'HARD_KYC_FAILED',
        kycRejectLabel: 'FORGERY',
      });
    });
  });

  it.each(['duplicate', 'reorder'] as const)('is unaffected by %s callbacks', async (mode) => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ callbacks: { mode }, processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      // Reorder sends this FULL_USER first, then the KYC_PENDING it held back since the POST.
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
      // Stale KYC_PENDING claims never cost a status check; only the FULL_USER claim does.
      expect(await checkStatusRuns(handle)).toBe(1);
    });
  });

  it('heartbeats through a slow POST', async () => {
    const customerId = newCustomerId('slow');
    stack.sandbox.scriptCustomer(customerId, approving({ postDelayMs: 4_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const beats = new Set<string>();
      const result = handle.result();
      // Each distinct last-heartbeat time is one heartbeat that reached the server during the POST.
      while (
        acceptedPosts(stack.sandbox, customerId) === 0 ||
        (await handle.describe()).raw.pendingActivities?.length
      ) {
        const { raw } = await handle.describe();
        const time = raw.pendingActivities?.[0]?.lastHeartbeatTime?.seconds;
        const nanos = raw.pendingActivities?.[0]?.lastHeartbeatTime?.nanos;
        if (time) beats.add(`${time}.${nanos}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(beats.size).toBeGreaterThanOrEqual(3);
      expect(await result).toMatchObject({ outcome: 'VERIFIED' });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
    });
  });

  it('never POSTs twice when a POST that took effect lost its answer', async () => {
    // Accepted, then answered 500; the vendor decides SOFT_KYC_FAILED before the retry reads the status.
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(
      customerId,
      softThenVerified({ postFaultsAfterAccept: ['500'], processingDelayMs: 100 }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const state = await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      expect(state).toMatchObject({ status: 'SOFT_KYC_FAILED', attempts: 1 });
      const posts = stack.sandbox.requestLog(customerId).requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
      expect(posts[0]).toMatchObject({ accepted: true, statusCode: 500 });
      await handle.cancel();
    });
  });

  it('waits while the vendor still creates the applicant, then starts', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(
      customerId,
      approving({
        status: 'CREATED',
        kycProcessingStatus: 'APPLICANT_CREATION_IN_PROGRESS',
      }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await eventually(async () => {
        const state = await handle.query(statusQuery);
        return state.lastError?.includes('APPLICANT_CREATION_IN_PROGRESS') ? state : undefined;
      }, 'the first request put off while the applicant is created');
      stack.sandbox.setStatus(customerId, { status: 'PENDING_KYC_DATA' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED' });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
    });
  });

  it('waits for a resubmission when the vendor asks for data again after the POST', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(
      customerId,
      approving({
        outcomes: [{ status: 'PENDING_KYC_DATA', docsMissing: ['PASSPORT'] }, { status: 'FULL_USER' }],
      }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      expect(await waitForPhase(handle, 'AWAITING_RESUBMISSION')).toMatchObject({ docsMissing: ['PASSPORT'] });
      await resubmit(handle);
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', resubmissions: 1 });
    });
  });

  it('confirms the status when the resubmission window ends, so data fixed without a callback still counts', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified({ callbacks: { mode: 'drop' } }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { firstCheckAfter: '1s', resubmissionWindow: '3s' } });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER' });
    });
  });

  it('retries a flaky vendor (failed reads, a 429 on the POST) until the POST is accepted exactly once', async () => {
    const customerId = newCustomerId('flaky');
    stack.sandbox.scriptCustomer(customerId, flaky());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      const { requests } = stack.sandbox.requestLog(customerId);
      expect(requests.filter((r) => r.method === 'GET').map((r) => r.fault)).toEqual(
        expect.arrayContaining(['500', 'reset']),
      );
      expect(requests.filter((r) => r.method === 'POST').map((p) => p.fault)).toEqual(['429', null]);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
    });
  });

  it('fails clearly and without retrying on a rejected API key, never showing the key', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving());
    const apiKey = 'wrong-key-that-must-not-leak';
    await stack.withKycWorker(
      async ({ start }) => {
        const handle = await start({ customerId });
        const failure = await failureOf(handle.result());
        expect(failure.type).toBe('XGatewayUnauthorizedError');
        expect(failure.message).toMatch(/HTTP 401/);
        expect((await historyTexts(await handle.fetchHistory())).join('\n')).not.toContain(apiKey);
        expect((await historyTexts(await handle.fetchHistory())).join('\n')).toContain('HTTP 401');
        expect(stack.sandbox.requestLog(customerId).requests).toHaveLength(1);
      },
      { apiKey },
    );
  });

  it('fails with KycPreconditionError when the customer has no user', async () => {
    const customerId = newCustomerId('nouser');
    stack.sandbox.scriptCustomer(customerId, withoutUser());
    await stack.withKycWorker(async ({ start }) => {
      const failure = await failureOf((await start({ customerId })).result());
      expect(failure.type).toBe('KycPreconditionError');
      expect(failure.message).toMatch(/no XGateway user/);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(0);
    });
  });

  it('waits in AWAITING_RESUBMISSION after SOFT_KYC_FAILED, then verifies after resubmit', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const state = await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      expect(state).toMatchObject({ status: 'SOFT_KYC_FAILED', docsMissing: ['SELFIE'] });
      expect(state.kycEndUserErrorMessage).toBeTruthy();
      expect((await handle.describe()).typedSearchAttributes.get(kycStatusSearchAttribute)).toBe('SOFT_KYC_FAILED');
      expect(await resubmit(handle)).toEqual({ resubmission: 1 });
      expect(await handle.result()).toMatchObject({
        outcome: 'VERIFIED',
        status: 'FULL_USER',
        resubmissions: 1,
        attempts: 2,
      });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    });
  });

  it('rejects resubmit when the workflow is not awaiting it', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESULT');
      await expect(handle.executeUpdate(resubmitUpdate)).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED', resubmissions: 0 });
    });
  });

  it('gives NEEDS_DATA when the resubmission window expires', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { resubmissionWindow: '2s', firstCheckAfter: '10m' } });
      expect(await handle.result()).toMatchObject({
        outcome: 'NEEDS_DATA',
        status: 'SOFT_KYC_FAILED',
        docsMissing: ['SELFIE'],
      });
    });
  });

  it('gives TIMED_OUT at the deadline', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { firstCheckAfter: '1s', deadline: '4s' } });
      expect(await handle.result()).toMatchObject({ outcome: 'TIMED_OUT', status: 'KYC_PENDING' });
    });
  });

  it('gives CANCELLED on cancellation and cancels the running POST cleanly', async () => {
    const customerId = newCustomerId('slow');
    stack.sandbox.scriptCustomer(customerId, approving({ postDelayMs: 60_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId });
      await eventually(
        async () => (stack.sandbox.requestLog(customerId).requests.some((r) => r.method === 'POST') ? true : undefined),
        'the POST',
      );
      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED' });
      // The activity acknowledged the cancellation (it aborted its request) before the workflow completed.
      expect(await historyEvents(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED)).toHaveLength(1);
    });
  });

  it('starts idempotently: a second start gives the same run', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ processingDelayMs: NEVER }));
    await stack.withKycWorker(async ({ start }) => {
      const first = await start({ customerId, timing: CALLBACK_ONLY });
      const second = await start({ customerId, timing: CALLBACK_ONLY });
      expect(second.firstExecutionRunId).toBe(first.firstExecutionRunId);
      await first.cancel();
    });
  });

  it('never sends a POST for a customer already FULL_USER', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ status: 'FULL_USER' }));
    await stack.withKycWorker(async ({ start }) => {
      expect(await (await start({ customerId })).result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      expect(stack.sandbox.requestLog(customerId).requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    });
  });
});

describe('kycVerificationWorkflow with bad input', () => {
  // One worker serves every case: each run fails in its first workflow task, and a worker per case only added its
  // start and shutdown.
  let badInput: { taskQueue: string; worker: Worker; running: Promise<void> };
  beforeAll(async () => {
    const { taskQueue, createWorker } = stack.helpers();
    const worker = await createWorker();
    badInput = { taskQueue, worker, running: worker.run() };
  });
  afterAll(async () => {
    badInput.worker.shutdown();
    await badInput.running;
  });

  it.each([
    [{ customerId: '' }, /customerId/],
    [{ customerId: 'a/b' }, /customerId/],
    [{ customerId: 'x', timing: { deadline: 'soon' } }, /timing\.deadline/],
    [{ customerId: 'x', colour: 'red' }, /input/],
    [{ customerId: 'x', timing: { firstCheckAfter: '0s' } }, /timing\.firstCheckAfter: must be at least 1 second/],
    [{ customerId: 'x', timing: { deadline: '999999d' } }, /timing\.deadline: must be at most 366 days/],
    [{ customerId: 'x', timing: { firstCheckAfter: '5m', maxCheckInterval: '1m' } }, /timing\.maxCheckInterval/],
    [{ customerId: 'x', timing: { maxCheckInterval: '2m' } }, /timing\.maxCheckInterval: plans more than 2000/],
  ])('fails bad input %j with InvalidInputError naming the field', async (input, field) => {
    const handle = await stack.client.workflow.start('kycVerificationWorkflow', {
      taskQueue: badInput.taskQueue,
      workflowId: newCustomerId('bad-input'),
      args: [input],
    });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('InvalidInputError');
    expect(failure.message).toMatch(field);
  });
});

describe('kycUnmatchedCallbackWorkflow', () => {
  it('confirms the status and flags a reversal of FULL_USER', async () => {
    const customerId = newCustomerId('approve');
    stack.sandbox.scriptCustomer(customerId, approving({ status: 'FRAUD_SUSPECTED' }));
    await stack.withKycWorker(async ({ taskQueue }) => {
      const result = await stack.client.workflow.execute('kycUnmatchedCallbackWorkflow', {
        taskQueue,
        workflowId: `unmatched-${customerId}`,
        args: [
          {
            callback: { customerId, status: 'FRAUD_SUSPECTED', kycProcessingStatus: null },
            previousStatus: 'FULL_USER',
          },
        ],
      });
      expect(result).toMatchObject({ customerId, confirmedStatus: 'FRAUD_SUSPECTED', reversal: true });
    });
  });
});
