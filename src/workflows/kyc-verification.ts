import {
  ActivityFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  log,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';

import {
  CALLBACK_CHECK_SPACING_MS,
  checkCallbackPayload,
  checkVerificationInput,
  DEFAULT_TIMING,
  FailureTypes,
  kycCallbackSignal,
  type KycVerificationInput,
  type KycVerificationResult,
  resubmitUpdate,
  statusQuery,
  type Step,
  type WaitStep,
} from '../shared/contract.js';
import { callbackCheckActivities, checkActivities, startActivities } from './activity-proxies.js';
import {
  asWorkflowFailure,
  classifyStartFailure,
  failureMessage,
  failureType,
  isBudgetExhausted,
  startFailureDetails,
  startRetryDelay,
  stepAfterUnknownOutcome,
  stepForStatus,
} from './decisions.js';
import { parseWorkflowInput } from './input.js';
import { retryTiming } from './retry-timing.js';
import { ensureSearchAttributes, iso, VerificationRun } from './verification-state.js';

/**
 * Starts one customer's KYC verification at XGateway and returns the final result, confirmed through the status API.
 * Callbacks (the `kycCallback` signal) only wake it up early; a timer-based status check is the fallback.
 */
export async function kycVerificationWorkflow(rawInput: KycVerificationInput): Promise<KycVerificationResult> {
  const input = parseWorkflowInput(checkVerificationInput, rawInput, 'kycVerificationWorkflow');
  const timing = { ...DEFAULT_TIMING, ...input.timing };
  const { customerId, continued } = input;
  const run = new VerificationRun(customerId, {
    maxResubmissions: input.maxResubmissions,
    firstCheckAfter: timing.firstCheckAfter,
    deadlineMs: timing.deadline,
    continued,
  });
  const { state } = run;
  const remaining = () => run.deadline - Date.now();

  setHandler(statusQuery, () => state);
  setHandler(kycCallbackSignal, (raw) => {
    // A signal cannot be refused; a malformed one is logged and changes nothing.
    let payload;
    try {
      payload = checkCallbackPayload(raw);
    } catch (error) {
      log.warn('Ignoring a malformed kycCallback signal', { customerId, error: (error as Error).message });
      return;
    }
    run.recordCallback(payload);
  });
  setHandler(resubmitUpdate, () => ({ resubmission: run.acceptResubmit() }), {
    validator: () => {
      const refusal = run.resubmitRefusal();
      if (refusal) throw new Error(refusal);
    },
  });

  async function checkStatus(reason: string, byCallback = false): Promise<void> {
    run.beginCheck(byCallback);
    run.checking = true;
    try {
      run.applyReading(await readStatus(`Check KYC status (${reason})`, byCallback));
    } finally {
      run.checking = false;
    }
  }

  /**
   * A callback's check runs as a local activity for a few attempts, then, should the status API still fail, as a
   * remote activity, whose retries wait outside the workflow task and add nothing to the history. Runs that checked
   * a callback with a remote activity before the local one existed keep doing so where they replay.
   */
  async function readStatus(summary: string, byCallback: boolean) {
    const scheduleToCloseTimeout = Math.max(remaining(), retryTiming.checkBudgetFloorMs);
    if (byCallback && patched('callback-check-local-activity')) {
      try {
        return await callbackCheckActivities.checkStatus.executeWithOptions({ summary, scheduleToCloseTimeout }, [
          { customerId },
        ]);
      } catch (error) {
        if (stopping(error)) throw error;
      }
    }
    return checkActivities.checkStatus.executeWithOptions({ summary, scheduleToCloseTimeout }, [{ customerId }]);
  }

  /** Waits until `until`, a callback (coalesced after the first two per request), or `other()`. */
  async function waitForNews(until: number, summary: string, other = () => false) {
    const woken = await condition(() => other() || run.callbackPending, Math.max(until - Date.now(), 1), { summary });
    if (other()) return 'other';
    if (!woken) return 'timeout';
    const spacedUntil = Math.min(run.callbackCheckSpacedUntil(CALLBACK_CHECK_SPACING_MS), until);
    if (spacedUntil > Date.now()) {
      const summary = 'Coalesce callbacks: at most one status check a minute';
      if (await condition(other, spacedUntil - Date.now(), { summary })) return 'other';
    }
    return 'callback';
  }

  /** Hands over to a fresh run when the history grows long; only ever at a resting point. */
  async function continueAsNewIfSuggested(step: WaitStep): Promise<void> {
    if (!workflowInfo().continueAsNewSuggested) return;
    await condition(allHandlersFinished);
    log.info('Continuing as new', { customerId, step, events: workflowInfo().historyLength });
    // Callbacks and a resubmit that arrive during the hand-over are carried in the run's counters and flags.
    const next = { customerId, timing, maxResubmissions: state.maxResubmissions, continued: run.carryOver(step) };
    await continueAsNew<typeof kycVerificationWorkflow>(next);
  }

  /** One verification request: sent again only while it provably never left (see `classifyStartFailure`). */
  async function sendVerificationRequest(resumed: boolean): Promise<Step> {
    state.phase = 'STARTING';
    // An unsent request tried again is the same request: it counts once.
    if (!resumed && !run.requestUnsent) state.attempts += 1;
    state.resubmitBy = null;
    run.beginRequest();
    const isResubmission = state.attempts > 1;
    for (let retry = 0; ; retry += 1) {
      run.render();
      run.beginCheck(false); // each attempt reads the status first: it answers the callbacks so far
      try {
        const { outcome, snapshot } = await startActivities.startVerification.executeWithOptions(
          {
            summary: isResubmission ? `Resubmit KYC verification (#${state.resubmissions})` : 'Start KYC verification',
            scheduleToCloseTimeout: Math.max(remaining(), 60_000),
          },
          [{ customerId }],
        );
        state.lastError = null;
        if (snapshot) run.applyReading(snapshot);
        else await checkStatus('after the verification request');
        log.info('KYC verification request done', { customerId, outcome, status: state.status });
        // Runs that took NOT_STARTABLE before this rule existed replay the old way (waiting for a resubmit).
        run.requestUnsent = outcome === 'NOT_STARTABLE' && patched('defer-unsent-request');
        if (run.requestUnsent) {
          state.lastError = `Not sent yet: XGateway's status ${state.status} does not accept a verification request; it is sent once the status does`;
          // Straight back here would read the same status at once: wait for the next check (or a callback) instead.
          return 'AWAIT_RESULT';
        }
        return stepForStatus(state);
      } catch (error) {
        if (stopping(error)) throw error;
        const kind = classifyStartFailure(error);
        // A request refused, or whose answer was lost, was sent: it is no longer one the run may send on its own.
        if (kind !== 'NOT_SENT') run.requestUnsent = false;
        if (kind === 'REFUSED') {
          // A refused resubmission (e.g. data still missing) goes back to waiting for one; a refused first start fails.
          if (!isResubmission || failureType(error) !== FailureTypes.requestRejected) throw error;
          state.lastError = `Resubmission refused: ${failureMessage(error)}`;
          return 'AWAIT_RESUBMISSION';
        }
        if (kind === 'UNKNOWN') return afterUnknownOutcome(error);
        // Provably not sent: try again after a pause, as a retry policy would, and never before Retry-After.
        const details = error instanceof ActivityFailure ? startFailureDetails(error) : undefined;
        const delay = Math.min(startRetryDelay(retry, details?.retryAfterMs ?? null), remaining());
        if (delay <= 0) return 'TIMED_OUT';
        state.lastError = `Not sent yet (${failureMessage(error)}); trying again at ${iso(Date.now() + delay)}`;
        run.render();
        await sleep(delay, { summary: 'Wait before sending the verification request again' });
        if (remaining() <= 0) return 'TIMED_OUT';
        await continueAsNewIfSuggested('START');
      }
    }
  }

  /** The request may have reached the vendor: watch the status, and never send it again without `resubmit`. */
  async function afterUnknownOutcome(error: unknown): Promise<Step> {
    const lost = failureMessage(error);
    log.warn('KYC verification request outcome unknown', { customerId, error: lost });
    // Each reading from here on says what is known of it (see VerificationRun.applyReading), in `lastError`.
    run.unknownOutcome = lost;
    await checkStatus('verification request outcome unknown');
    return stepAfterUnknownOutcome(state);
  }

  async function awaitResult(): Promise<Step> {
    state.phase = 'AWAITING_RESULT';
    for (;;) {
      if (remaining() <= 0) return 'TIMED_OUT';
      await continueAsNewIfSuggested('AWAIT_RESULT');
      const due = Date.now() + Math.min(run.checkInterval, remaining());
      state.nextCheckAt = iso(due);
      run.render();
      const byCallback = (await waitForNews(due, 'Wait for the KYC callback or the next check')) === 'callback';
      await checkStatus(byCallback ? 'callback received' : 'no callback yet', byCallback);
      // A status that lasted less than the first wait is never published: this saves an upsert on the happy path.
      if (!byCallback) run.publishStatus();
      const next = stepForStatus(state, run.requestUnsent);
      if (next !== 'AWAIT_RESULT') return next;
      // A callback the status API did not (yet) confirm may be ahead of it: look again soon, not hours later.
      run.checkInterval = byCallback
        ? timing.firstCheckAfter
        : Math.min(run.checkInterval * 2, timing.maxCheckInterval);
    }
  }

  async function awaitResubmission(resumed: boolean): Promise<Step> {
    state.phase = 'AWAITING_RESUBMISSION';
    run.publishStatus();
    if (state.resubmissions >= state.maxResubmissions && !run.resubmitRequested) return 'NEEDS_DATA';
    const windowEnd =
      resumed && state.resubmitBy
        ? Date.parse(state.resubmitBy)
        : Math.min(Date.now() + timing.resubmissionWindow, run.deadline);
    state.resubmitBy = iso(windowEnd);
    for (;;) {
      await continueAsNewIfSuggested('AWAIT_RESUBMISSION');
      run.render();
      const news = await waitForNews(windowEnd, 'Wait for the merchant to resubmit', () => run.resubmitRequested);
      if (news === 'other') {
        run.resubmitRequested = false;
        return 'START';
      }
      if (news === 'timeout') {
        // The outcome rests on a fresh reading: the data may have been fixed without a callback reaching us.
        await checkStatus('resubmission window over');
        const next = stepForStatus(state, run.requestUnsent);
        return next === 'AWAIT_RESUBMISSION' ? 'NEEDS_DATA' : next;
      }
      // The vendor reports a change while we wait (e.g. data fixed through another channel): confirm it.
      await checkStatus('callback while awaiting resubmission', true);
      const next = stepForStatus(state, run.requestUnsent);
      if (next !== 'AWAIT_RESUBMISSION') return next;
    }
  }

  /** Why the run stops decides its outcome, not the failure that happened to be in flight. */
  function stopping(error: unknown): boolean {
    return error instanceof ContinueAsNew || CancellationScope.current().consideredCancelled || remaining() <= 0;
  }

  if (!continued) ensureSearchAttributes(customerId);
  let step: Step = continued?.step ?? 'START';
  let resumed = continued !== undefined;
  try {
    for (;;) {
      if (step === 'START') step = await sendVerificationRequest(resumed);
      else if (step === 'AWAIT_RESULT') step = await awaitResult();
      else if (step === 'AWAIT_RESUBMISSION') step = await awaitResubmission(resumed);
      else break;
      resumed = false;
    }
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    if (CancellationScope.current().consideredCancelled) step = 'CANCELLED';
    else if (remaining() <= 0 || isBudgetExhausted(error)) step = 'TIMED_OUT';
    else throw asWorkflowFailure(error);
  }
  log.info('KYC verification completed', { customerId, outcome: step, status: state.status });
  return run.complete(step);
}
