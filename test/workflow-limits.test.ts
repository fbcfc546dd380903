// The workflow's limits on the real dev server: one accepted resubmit at a time, maxResubmissions, the deadline while
// an activity still retries, and a worker that stops heart-beating mid-request.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

import { createActivities } from '../src/activities/index.js';
import { startKycVerification } from '../src/client.js';
import { createDataConverter } from '../src/codec/data-converter.js';
import { resubmitUpdate, statusQuery } from '../src/shared/contract.js';
import { createXGatewayClient } from '../src/xgateway/client.js';
import { approving, newCustomerId, silent, softThenVerified } from './fixtures/customers.js';
import {
  acceptedPosts,
  CALLBACK_ONLY,
  createKycStack,
  eventually,
  type KycStack,
  resubmit,
  vendorRequests,
  waitForCheckedResubmission,
  waitForPhase,
} from './helpers/kyc.js';
import { uniqueTaskQueue } from './helpers/temporal.js';
import { retryTiming as fastRetryTiming } from './workflows/fast-retry-timing.js';

const { EventType, RetryState, TimeoutType } = temporal.api.enums.v1;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

const SOFT_FAILURE = { status: 'SOFT_KYC_FAILED', docsMissing: ['SELFIE'] };

const posts = (customerId: string) => vendorRequests(stack.sandbox, customerId, 'POST');
const postsReach = (customerId: string, count: number) =>
  eventually(async () => (posts(customerId).length >= count ? true : undefined), `POST #${count} at the sandbox`);

const eventMs = (event: HistoryEvent | undefined) =>
  Number(event?.eventTime?.seconds ?? NaN) * 1000 + Math.floor((event?.eventTime?.nanos ?? 0) / 1e6);
const events = async (handle: WorkflowHandle) => (await handle.fetchHistory()).events ?? [];
const ofType = (all: HistoryEvent[], type: temporal.api.enums.v1.EventType) => all.filter((e) => e.eventType === type);

describe('resubmit: one accepted at a time', () => {
  it('accepts exactly one of two concurrent resubmits, and one more POST follows', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      // Resting: the SOFT_KYC_FAILED callback's check is over, so only the two updates can refuse each other.
      await waitForCheckedResubmission(handle);
      expect(posts(customerId)).toHaveLength(1);

      const settled = await Promise.allSettled([
        handle.executeUpdate(resubmitUpdate),
        handle.executeUpdate(resubmitUpdate),
      ]);
      const accepted = settled.filter((s) => s.status === 'fulfilled');
      const refused = settled.filter((s) => s.status === 'rejected');
      expect(accepted.map((s) => s.value)).toEqual([{ resubmission: 1 }]);
      expect(refused).toHaveLength(1);
      // Which reason depends on whether both updates reached the same workflow task; the server decides that.
      const [refusal] = refused.map((s) => s.reason as unknown);
      expect(refusal).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(refusal).toMatchObject({
        cause: { message: expect.stringMatching(/already accepted|only while awaiting resubmission/) },
      });

      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 2, resubmissions: 1 });
      expect(posts(customerId)).toHaveLength(2);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    });
  });

  it('refuses a resubmit while the accepted one still sends its request', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      // The vendor holds the resubmission's POST: the run is inside that request until the test cancels it.
      stack.sandbox.patchCustomer(customerId, { postDelayMs: 600_000 });
      expect(await resubmit(handle)).toEqual({ resubmission: 1 });
      await postsReach(customerId, 2);

      const second = handle.executeUpdate(resubmitUpdate);
      await expect(second).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      await expect(second).rejects.toMatchObject({
        cause: { message: expect.stringMatching(/only while awaiting resubmission; the phase is STARTING/) },
      });

      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED', attempts: 2, resubmissions: 1 });
      expect(posts(customerId)).toHaveLength(2);
    });
  });
});

describe('maxResubmissions', () => {
  it('ends NEEDS_DATA at once when the last allowed resubmission fails softly again', async () => {
    const customerId = newCustomerId('soft');
    // Every verification ends SOFT_KYC_FAILED (the last outcome repeats).
    stack.sandbox.scriptCustomer(customerId, approving({ outcomes: [SOFT_FAILURE] }));
    await stack.withKycWorker(async ({ start }) => {
      // The default 7-day window: only the maxResubmissions rule can end this run within the test. The receiver
      // drops the second SOFT_KYC_FAILED callback as a repeat of the first (same content within 5 minutes), so a
      // timer check finds it.
      const handle = await start({ customerId, timing: { firstCheckAfter: '1s' }, maxResubmissions: 1 });
      expect(await waitForPhase(handle, 'AWAITING_RESUBMISSION')).toMatchObject({
        resubmissions: 0,
        maxResubmissions: 1,
      });
      expect(await resubmit(handle)).toEqual({ resubmission: 1 });

      // Completed, or (wrongly) waiting for a resubmit that the validator would refuse: whichever comes first.
      const after = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'COMPLETED' || (s.phase === 'AWAITING_RESUBMISSION' && s.attempts === 2) ? s : undefined;
      }, 'the run after the second soft failure');
      expect(after.phase).toBe('COMPLETED');
      expect(await handle.result()).toMatchObject({
        outcome: 'NEEDS_DATA',
        status: 'SOFT_KYC_FAILED',
        docsMissing: ['SELFIE'],
        attempts: 2,
        resubmissions: 1,
      });
      expect(posts(customerId)).toHaveLength(2);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(2);
    });
  });
});

describe('the deadline', () => {
  it('gives TIMED_OUT, not a vendor failure, when the deadline passes while a status read still retries', async () => {
    const customerId = newCustomerId('silent');
    // The start's two reads answer; every read after them is refused 429 with Retry-After 2 s. The first timer check
    // (1 s after the start) is then tried again 2 s later, after the 3 s deadline whenever the start took any time at
    // all, and the try after that (2 s more) falls outside the read's 3 s budget: the order is fixed, not a race of
    // backoffs against the deadline.
    stack.sandbox.scriptCustomer(
      customerId,
      silent({
        processingDelayMs: 600_000,
        getFaults: ['ok', 'ok', ...Array<'429'>(50).fill('429')],
        retryAfterSeconds: 2,
      }),
    );
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { firstCheckAfter: '1s', deadline: '3s' } });
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'TIMED_OUT', status: 'KYC_PENDING', attempts: 1 });
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);

      const deadline = Date.parse((await handle.query(statusQuery)).deadlineAt);
      const all = await events(handle);
      const [scheduled] = ofType(all, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkStatus',
      );
      const ofRead = (id: unknown) => id !== undefined && String(id) === String(scheduled?.eventId);
      const failed = all.find((e) => ofRead(e.activityTaskFailedEventAttributes?.scheduledEventId));
      const timedOut = all.find((e) => ofRead(e.activityTaskTimedOutEventAttributes?.scheduledEventId));
      const [completed] = ofType(all, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
      // The read was scheduled before the deadline and still retrying after it: the server ended it on its budget.
      expect(eventMs(scheduled)).toBeLessThan(deadline);
      const ended = failed?.activityTaskFailedEventAttributes ?? timedOut?.activityTaskTimedOutEventAttributes;
      // Between two attempts the server reports retry state TIMEOUT; during one, a schedule-to-close timeout (with
      // retry state NON_RETRYABLE_FAILURE). Which of the two is a matter of milliseconds; the workflow reads both alike.
      const onBudget =
        ended?.retryState === RetryState.RETRY_STATE_TIMEOUT ||
        ended?.failure?.timeoutFailureInfo?.timeoutType === TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE;
      expect({ onBudget, ended }).toMatchObject({ onBudget: true });
      expect(
        vendorRequests(stack.sandbox, customerId, 'GET').filter((r) => r.statusCode === 429).length,
      ).toBeGreaterThan(1);
      const failedReadsAfterDeadline = vendorRequests(stack.sandbox, customerId, 'GET').filter(
        (r) => r.statusCode === 429 && Date.parse(r.time) > deadline,
      );
      expect(failedReadsAfterDeadline.length).toBeGreaterThan(0);
      // The read's budget is max(remaining, a floor), so the run ends only when the server gives up on the read: not at
      // the deadline but up to the floor after it (a minute in production, 3 s in the test bundle).
      expect(eventMs(completed) - deadline).toBeGreaterThan(0);
      expect(eventMs(completed) - deadline).toBeLessThan(fastRetryTiming.checkBudgetFloorMs);
    });
  });

  it('gives TIMED_OUT with no accepted POST when every POST is refused with 429 until the deadline', async () => {
    const customerId = newCustomerId('approve');
    // Far more refusals than a 3 s deadline leaves time for: the run must stop, not outlast them.
    stack.sandbox.scriptCustomer(customerId, approving({ postFaults: Array(10).fill('429'), retryAfterSeconds: 1 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { ...CALLBACK_ONLY, deadline: '3s' } });
      expect(await handle.result()).toMatchObject({ outcome: 'TIMED_OUT', attempts: 1, resubmissions: 0 });
      const refused = posts(customerId);
      expect(refused.length).toBeGreaterThan(1);
      expect(refused.every((r) => r.statusCode === 429 && r.accepted !== true)).toBe(true);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(0);
      // The pause before the next attempt is cut at the deadline: no attempt is decided after it. The workflow's
      // clock is the start of the workflow task that decides (the scheduled event itself is stamped a moment later).
      const deadline = Date.parse((await handle.query(statusQuery)).deadlineAt);
      const all = await events(handle);
      const attempts = ofType(all, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
      expect(attempts).toHaveLength(refused.length);
      const decidedAt = (scheduled: HistoryEvent) =>
        eventMs(
          all
            .filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
            .filter((e) => Number(e.eventId) < Number(scheduled.eventId))
            .at(-1),
        );
      expect(attempts.filter((e) => decidedAt(e) >= deadline)).toEqual([]);
    });
  });
});

describe('a worker that stops heart-beating during the verification request', () => {
  it('is timed out by heartbeat and replaced; the run never sends the request again on its own', async () => {
    const customerId = newCustomerId('soft');
    // The vendor accepts at once, decides SOFT_KYC_FAILED (a status the POST could be sent from again), and holds
    // the answer; callbacks are lost, so only the run's own reads see the result.
    stack.sandbox.scriptCustomer(customerId, silent({ outcomes: [SOFT_FAILURE], postDelayMs: 600_000 }));
    const taskQueue = uniqueTaskQueue('kyc');
    const { apiKey } = stack.keys;
    const real = createXGatewayClient({
      baseUrl: stack.sandbox.url,
      apiKey,
      postTimeoutMs: 600_000,
      getTimeoutMs: 5_000,
    });
    // Frees worker A's hanging POST once the test is done with it, so that A can drain.
    const release = new AbortController();
    const workerA = await Worker.create({
      connection: stack.temporal.nativeConnection,
      taskQueue,
      identity: 'frozen-worker-a',
      workflowBundle: stack.bundle,
      dataConverter: await createDataConverter(undefined),
      activities: createActivities({
        xgateway: {
          ...real,
          startKycVerification: (id, request = {}) =>
            real.startKycVerification(id, {
              signal: AbortSignal.any([release.signal, ...(request.signal ? [request.signal] : [])]),
            }),
        },
        // One beat at the start, then none within the 5 s heartbeat timeout of the test bundle.
        heartbeatIntervalMs: 600_000,
      }),
      // Shut down, A stops polling but keeps its activity running: the server alone must notice it is gone.
      shutdownGraceTime: '10m',
    });
    const runningA = workerA.run();
    try {
      const handle = await startKycVerification(
        stack.client,
        { customerId, timing: { firstCheckAfter: '1s', resubmissionWindow: '2s' } },
        { taskQueue },
      );
      await postsReach(customerId, 1);
      workerA.shutdown();
      // This POST stays held; a second one would be answered at once, so that sending again shows up quickly.
      stack.sandbox.patchCustomer(customerId, { postDelayMs: 0 });

      const timedOut = await eventually(
        async () => ofType(await events(handle), EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)[0],
        'the activity timed out by the server',
      );
      expect(timedOut.activityTaskTimedOutEventAttributes?.failure?.timeoutFailureInfo?.timeoutType).toBe(
        TimeoutType.TIMEOUT_TYPE_HEARTBEAT,
      );

      const workerB = await stack.helpers({ taskQueue }).createWorker();
      const result = await workerB.runUntil(handle.result());
      // The reading shows SOFT_KYC_FAILED with nothing running: no sign that the lost request landed, so the run
      // waits for the merchant's resubmit instead of sending it again, and the window ends it.
      expect(result).toMatchObject({ outcome: 'NEEDS_DATA', status: 'SOFT_KYC_FAILED', attempts: 1, resubmissions: 0 });
      expect(posts(customerId)).toHaveLength(1);
      expect(acceptedPosts(stack.sandbox, customerId)).toBe(1);
      // Every workflow task after the timeout ran on worker B.
      const after = (await events(handle)).filter(
        (e) => Number(e.eventId) > Number(timedOut.eventId) && e.workflowTaskStartedEventAttributes,
      );
      expect(after.length).toBeGreaterThan(0);
      expect(after.map((e) => e.workflowTaskStartedEventAttributes?.identity)).not.toContain('frozen-worker-a');
    } finally {
      release.abort();
      if (workerA.getState() === 'RUNNING') workerA.shutdown();
      await runningA;
    }
  });
});
