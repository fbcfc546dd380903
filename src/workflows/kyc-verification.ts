import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  log,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { KycSnapshot } from '../shared/kyc-status.js';
import {
  CALLBACK_CHECK_SPACING_MS,
  DEFAULT_MAX_RESUBMISSIONS,
  DEFAULT_TIMING,
  FailureTypes,
  kycCallbackPayloadSchema,
  kycCallbackSignal,
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  kycVerificationInputSchema,
  resubmitUpdate,
  statusQuery,
  type KycVerificationInput,
  type KycVerificationResult,
  type KycVerificationState,
  type Outcome,
  type Step,
  UNCONFIRMED_STATUS,
} from '../shared/contract.js';
import { checkActivities, startActivities } from './activity-proxies.js';
import {
  classifyStartFailure,
  isBudgetExhausted,
  showsNoRequest,
  startFailureDetails,
  startRetryDelay,
  stepAfterUnknownOutcome,
  stepForStatus,
} from './decisions.js';
import { renderDetails } from './details.js';
import { parseWorkflowInput } from './input.js';

type WaitStep = Exclude<Step, Outcome>;
/** Callback-triggered checks after each verification request that are never coalesced: progress, then result. */
const FREE_CALLBACK_CHECKS = 2;

/**
 * Starts one customer's KYC verification at XGateway and returns the final result, confirmed through the status API.
 * Callbacks (the `kycCallback` signal) only wake it up early; a timer-based status check is the fallback.
 */
export async function kycVerificationWorkflow(rawInput: KycVerificationInput): Promise<KycVerificationResult> {
  const input = parseWorkflowInput(kycVerificationInputSchema, rawInput, 'kycVerificationWorkflow');
  const timing = { ...DEFAULT_TIMING, ...input.timing };
  const { customerId, continued } = input;
  const startedAt = continued ? Date.parse(continued.state.startedAt) : Date.now();
  const deadline = startedAt + timing.deadline;

  const state: KycVerificationState = continued?.state ?? {
    customerId,
    phase: 'STARTING',
    status: null,
    kycProcessingStatus: null,
    attempts: 0,
    resubmissions: 0,
    maxResubmissions: input.maxResubmissions ?? DEFAULT_MAX_RESUBMISSIONS,
    docsMissing: [],
    kycRejectLabel: null,
    kycEndUserErrorMessage: null,
    callbacksReceived: 0,
    lastCallback: null,
    lastCheckAt: null,
    nextCheckAt: null,
    startedAt: iso(startedAt),
    deadlineAt: iso(deadline),
    resubmitBy: null,
    lastError: null,
  };
  /** `state.callbacksReceived` when the status was last read: any callback since then wakes the next check. */
  let callbacksChecked = continued?.callbacksChecked ?? 0;
  /** When a callback last triggered a check, and how many did since the last request: to coalesce a flood. */
  let lastCallbackCheckAt = continued?.lastCallbackCheckAt ?? null;
  let callbackChecksSinceRequest = continued?.callbackChecksSinceRequest ?? 0;
  let checkInterval = continued?.checkInterval || timing.firstCheckAfter;
  let checking = false;
  let resubmitRequested = continued?.resubmitRequested ?? false;
  let publishedStatus = workflowInfo().typedSearchAttributes.get(kycStatusSearchAttribute);

  setHandler(statusQuery, () => state);
  setHandler(kycCallbackSignal, (raw) => {
    const parsed = kycCallbackPayloadSchema.safeParse(raw);
    if (!parsed.success) {
      // A signal cannot be refused; a malformed one is logged and changes nothing.
      log.warn('Ignoring a malformed kycCallback signal', { customerId });
      return;
    }
    const callback = parsed.data;
    state.callbacksReceived += 1;
    state.lastCallback = {
      status: callback.status,
      kycProcessingStatus: callback.kycProcessingStatus,
      receivedAt: callback.receivedAt ?? null,
      signalledAt: iso(Date.now()),
    };
    render();
  });
  setHandler(
    resubmitUpdate,
    () => {
      resubmitRequested = true;
      state.resubmissions += 1;
      render();
      return { resubmission: state.resubmissions };
    },
    {
      // Accepting means exactly one verification request follows, so refuse whatever could end the wait otherwise.
      validator: () => {
        if (state.phase !== 'AWAITING_RESUBMISSION') {
          throw new Error(`resubmit is accepted only while awaiting resubmission; the phase is ${state.phase}`);
        }
        if (resubmitRequested) throw new Error('resubmit was already accepted; the verification request follows');
        if (checking) {
          throw new Error('resubmit is not accepted while a status check runs (it may end the wait); send it again');
        }
        if (state.resubmissions >= state.maxResubmissions) {
          throw new Error(`resubmit refused: all ${state.maxResubmissions} resubmissions are used`);
        }
      },
    },
  );

  const remaining = () => deadline - Date.now();
  const callbackPending = () => state.callbacksReceived > callbacksChecked;

  function apply(snapshot: KycSnapshot): void {
    state.status = snapshot.status;
    state.kycProcessingStatus = snapshot.kycProcessingStatus;
    state.docsMissing = snapshot.docsMissing;
    state.kycRejectLabel = snapshot.kycRejectLabel;
    state.kycEndUserErrorMessage = snapshot.kycEndUserErrorMessage;
    state.lastCheckAt = snapshot.checkedAt;
    state.nextCheckAt = null;
  }

  /** KycStatus is upserted only when it changed, and only at resting points: each upsert is a billable action. */
  function publishStatus(): void {
    const status = state.status ?? 'NULL';
    if (status === publishedStatus) return;
    upsertSearchAttributes([{ key: kycStatusSearchAttribute, value: status }]);
    publishedStatus = status;
  }

  function render(): void {
    setCurrentDetails(renderDetails(state));
  }

  async function checkStatus(reason: string, byCallback = false): Promise<void> {
    // This reading answers every callback received so far; one arriving while it runs wakes the next check.
    callbacksChecked = state.callbacksReceived;
    if (byCallback) {
      lastCallbackCheckAt = Date.now();
      callbackChecksSinceRequest += 1;
    }
    checking = true;
    try {
      apply(
        await checkActivities.checkStatus.executeWithOptions(
          { summary: `Check KYC status (${reason})`, scheduleToCloseTimeout: Math.max(remaining(), 60_000) },
          [{ customerId }],
        ),
      );
    } finally {
      checking = false;
    }
  }

  /**
   * Waits until `until`, a callback, or `other()`. After each verification request the vendor reports progress and
   * then a result, so the first two callback-triggered checks run at once; later ones wait out a minute since the
   * last, so that a flood of (replayed) callbacks costs one status read a minute at most.
   */
  async function waitForNews(
    until: number,
    summary: string,
    other: () => boolean = () => false,
  ): Promise<'callback' | 'other' | 'timeout'> {
    const woken = await condition(() => other() || callbackPending(), Math.max(until - Date.now(), 1), { summary });
    if (other()) return 'other';
    if (!woken) return 'timeout';
    const spaced = callbackChecksSinceRequest >= FREE_CALLBACK_CHECKS && lastCallbackCheckAt !== null;
    const spacedUntil = spaced ? Math.min((lastCallbackCheckAt ?? 0) + CALLBACK_CHECK_SPACING_MS, until) : 0;
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
    await continueAsNew<typeof kycVerificationWorkflow>({
      customerId,
      timing,
      maxResubmissions: state.maxResubmissions,
      // Callbacks and a resubmit that arrive during the hand-over are carried in these counters and flags.
      continued: {
        step,
        state,
        callbacksChecked,
        lastCallbackCheckAt,
        callbackChecksSinceRequest,
        checkInterval,
        resubmitRequested,
      },
    });
  }

  async function start(resumed: boolean): Promise<Step> {
    state.phase = 'STARTING';
    if (!resumed) state.attempts += 1;
    state.resubmitBy = null;
    lastCallbackCheckAt = null;
    callbackChecksSinceRequest = 0;
    const isResubmission = state.attempts > 1;
    for (let retry = 0; ; retry += 1) {
      render();
      callbacksChecked = state.callbacksReceived;
      try {
        const { outcome, snapshot } = await startActivities.startVerification.executeWithOptions(
          {
            summary: isResubmission ? `Resubmit KYC verification (#${state.resubmissions})` : 'Start KYC verification',
            scheduleToCloseTimeout: Math.max(remaining(), 60_000),
          },
          [{ customerId }],
        );
        state.lastError = null;
        if (snapshot) apply(snapshot);
        else await checkStatus('after the verification request');
        log.info('KYC verification request done', { customerId, outcome, status: state.status });
        return stepForStatus(state);
      } catch (error) {
        if (stopping(error)) throw error;
        const kind = classifyStartFailure(error);
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
        render();
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
    await checkStatus('verification request outcome unknown');
    state.lastError = showsNoRequest(state)
      ? `Outcome unknown: ${lost}. The status shows no sign that the request landed; send resubmit to send it again.`
      : null;
    return stepAfterUnknownOutcome(state);
  }

  async function awaitResult(): Promise<Step> {
    state.phase = 'AWAITING_RESULT';
    for (;;) {
      if (remaining() <= 0) return 'TIMED_OUT';
      await continueAsNewIfSuggested('AWAIT_RESULT');
      const due = Date.now() + Math.min(checkInterval, remaining());
      state.nextCheckAt = iso(due);
      render();
      const news = await waitForNews(due, 'Wait for the KYC callback or the next check');
      const byCallback = news === 'callback';
      await checkStatus(byCallback ? 'callback received' : 'no callback yet', byCallback);
      // A status that lasted less than the first wait is never published: this saves an upsert on the happy path.
      if (!byCallback) publishStatus();
      const next = stepForStatus(state);
      if (next !== 'AWAIT_RESULT') return next;
      // A callback the status API did not (yet) confirm may be ahead of it: look again soon, not hours later.
      checkInterval = byCallback ? timing.firstCheckAfter : Math.min(checkInterval * 2, timing.maxCheckInterval);
    }
  }

  async function awaitResubmission(resumed: boolean): Promise<Step> {
    state.phase = 'AWAITING_RESUBMISSION';
    publishStatus();
    if (state.resubmissions >= state.maxResubmissions && !resubmitRequested) return 'NEEDS_DATA';
    const windowEnd =
      resumed && state.resubmitBy
        ? Date.parse(state.resubmitBy)
        : Math.min(Date.now() + timing.resubmissionWindow, deadline);
    state.resubmitBy = iso(windowEnd);
    for (;;) {
      await continueAsNewIfSuggested('AWAIT_RESUBMISSION');
      render();
      const news = await waitForNews(windowEnd, 'Wait for the merchant to resubmit', () => resubmitRequested);
      if (news === 'other') {
        resubmitRequested = false;
        return 'START';
      }
      if (news === 'timeout') {
        // The outcome rests on a fresh reading: the data may have been fixed without a callback reaching us.
        await checkStatus('resubmission window over');
        const next = stepForStatus(state);
        return next === 'AWAIT_RESUBMISSION' ? 'NEEDS_DATA' : next;
      }
      // The vendor reports a change while we wait (e.g. data fixed through another channel): confirm it.
      await checkStatus('callback while awaiting resubmission', true);
      const next = stepForStatus(state);
      if (next !== 'AWAIT_RESUBMISSION') return next;
    }
  }

  function complete(outcome: Outcome): KycVerificationResult {
    state.phase = 'COMPLETED';
    state.nextCheckAt = null;
    state.resubmitBy = null;
    publishStatus();
    render();
    log.info('KYC verification completed', { customerId, outcome, status: state.status });
    return {
      customerId,
      outcome,
      status: state.status,
      docsMissing: state.docsMissing,
      kycRejectLabel: state.kycRejectLabel,
      kycEndUserErrorMessage: state.kycEndUserErrorMessage,
      attempts: state.attempts,
      resubmissions: state.resubmissions,
      startedAt: state.startedAt,
      completedAt: iso(Date.now()),
      confirmedAt: state.lastCheckAt,
    };
  }

  /** Why the run stops decides its outcome, not the failure that happened to be in flight. */
  function stopping(error: unknown): boolean {
    return error instanceof ContinueAsNew || CancellationScope.current().consideredCancelled || remaining() <= 0;
  }

  if (!continued) ensureSearchAttributes(customerId);
  publishedStatus ??= UNCONFIRMED_STATUS;
  let step: Step = continued?.step ?? 'START';
  let resumed = continued !== undefined;
  try {
    for (;;) {
      if (step === 'START') step = await start(resumed);
      else if (step === 'AWAIT_RESULT') step = await awaitResult();
      else if (step === 'AWAIT_RESUBMISSION') step = await awaitResubmission(resumed);
      else return complete(step);
      resumed = false;
    }
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    if (CancellationScope.current().consideredCancelled) return complete('CANCELLED');
    if (remaining() <= 0 || isBudgetExhausted(error)) return complete('TIMED_OUT');
    throw asWorkflowFailure(error);
  }
}

/** Starters other than src/client.ts may not set the search attributes; one upsert makes every run searchable. */
function ensureSearchAttributes(customerId: string): void {
  const current = workflowInfo().typedSearchAttributes;
  const missing = [];
  if (current.get(kycCustomerIdSearchAttribute) === undefined) {
    missing.push({ key: kycCustomerIdSearchAttribute, value: customerId });
  }
  if (current.get(kycStatusSearchAttribute) === undefined) {
    missing.push({ key: kycStatusSearchAttribute, value: UNCONFIRMED_STATUS });
  }
  if (missing.length) upsertSearchAttributes(missing);
}

function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
    ? (error.cause.type ?? undefined)
    : undefined;
}

function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** A caller-fixable activity failure fails the workflow with the same named type, so callers can match on it. */
function asWorkflowFailure(error: unknown): unknown {
  const type = failureType(error);
  if (type && (Object.values(FailureTypes) as string[]).includes(type)) {
    return ApplicationFailure.create({ type, message: failureMessage(error), nonRetryable: true });
  }
  return error;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
