import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { KycSnapshot } from '../shared/kyc-status.js';
import {
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
  UNCONFIRMED_STATUS,
} from '../shared/contract.js';
import { checkActivities, startActivities } from './activity-proxies.js';
import { renderDetails } from './details.js';
import { parseWorkflowInput } from './input.js';

/** Where the workflow goes next; an Outcome ends it. */
type Step = 'START' | 'AWAIT_RESULT' | 'AWAIT_RESUBMISSION' | Outcome;

/**
 * Starts one customer's KYC verification at XGateway and returns the final result, confirmed through the status API.
 * Callbacks (the `kycCallback` signal) only wake it up early; a timer-based status check is the fallback.
 */
export async function kycVerificationWorkflow(rawInput: KycVerificationInput): Promise<KycVerificationResult> {
  const input = parseWorkflowInput(kycVerificationInputSchema, rawInput, 'kycVerificationWorkflow');
  const timing = { ...DEFAULT_TIMING, ...input.timing };
  const startedAt = Date.now();
  const deadline = startedAt + timing.deadline;
  const { customerId } = input;

  const state: KycVerificationState = {
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
  /** The status the latest callback claims, until a status check has looked at it. */
  let claim: string | null | undefined;
  let resubmitRequested = false;
  let publishedStatus = workflowInfo().typedSearchAttributes.get(kycStatusSearchAttribute);

  setHandler(statusQuery, () => state);
  setHandler(kycCallbackSignal, (raw) => {
    const parsed = kycCallbackPayloadSchema.safeParse(raw);
    if (!parsed.success || parsed.data.customerId !== customerId) {
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
    claim = callback.status;
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
      validator: () => {
        if (state.phase !== 'AWAITING_RESUBMISSION' || resubmitRequested) {
          throw new Error(`resubmit is accepted only while awaiting resubmission; the phase is ${state.phase}`);
        }
      },
    },
  );

  /** A callback is news only when it claims something other than what the status API last confirmed. */
  const claimIsNews = () => claim !== undefined && claim !== state.status;
  const remaining = () => deadline - Date.now();

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

  function route(): Step {
    switch (state.status) {
      case 'FULL_USER':
        return 'VERIFIED';
      case 'HARD_KYC_FAILED':
        return 'REJECTED';
      case 'SOFT_KYC_FAILED':
        return 'AWAIT_RESUBMISSION';
      case 'PENDING_KYC_DATA':
      case 'KYC_NEEDED':
        // Nothing is running at the vendor and it waits for data: only the merchant can move this on.
        return state.kycProcessingStatus === null ? 'AWAIT_RESUBMISSION' : 'AWAIT_RESULT';
      default:
        // KYC_PENDING and undocumented statuses are not final: keep watching.
        return 'AWAIT_RESULT';
    }
  }

  async function checkStatus(reason: string): Promise<void> {
    // This reading answers every callback received so far; one arriving while it runs wakes the workflow again.
    claim = undefined;
    apply(
      await checkActivities.checkStatus.executeWithOptions(
        { summary: `Check KYC status (${reason})`, scheduleToCloseTimeout: Math.max(remaining(), 60_000) },
        [{ customerId }],
      ),
    );
  }

  async function start(): Promise<Step> {
    state.phase = 'STARTING';
    state.attempts += 1;
    state.resubmitBy = null;
    render();
    const isResubmission = state.attempts > 1;
    claim = undefined;
    try {
      const { outcome, snapshot } = await startActivities.startVerification.executeWithOptions(
        {
          summary: isResubmission ? `Resubmit KYC verification (#${state.resubmissions})` : 'Start KYC verification',
          scheduleToCloseTimeout: Math.max(remaining(), 60_000),
        },
        [{ customerId }],
      );
      apply(snapshot);
      state.lastError = null;
      log.info('KYC verification request done', { customerId, outcome, status: snapshot.status });
    } catch (error) {
      // A refused resubmission (e.g. data still missing) goes back to waiting for one; a refused first start fails.
      const type = failureType(error);
      if (!isResubmission || type !== FailureTypes.requestRejected) throw error;
      state.lastError = failureMessage(error);
      return 'AWAIT_RESUBMISSION';
    }
    return route();
  }

  async function awaitResult(): Promise<Step> {
    state.phase = 'AWAITING_RESULT';
    let interval = timing.firstCheckAfter;
    for (;;) {
      if (remaining() <= 0) return 'TIMED_OUT';
      const wait = Math.min(interval, remaining());
      state.nextCheckAt = iso(Date.now() + wait);
      render();
      const woken = await condition(claimIsNews, wait, { summary: 'Wait for the KYC callback or the next check' });
      await checkStatus(woken ? 'callback received' : 'no callback yet');
      // A status that lasted less than the first wait is never published: this saves an upsert on the happy path.
      if (!woken) publishStatus();
      const next = route();
      if (next !== 'AWAIT_RESULT') return next;
      // A callback the status API did not (yet) confirm may be ahead of it: look again soon, not hours later.
      interval = woken ? timing.firstCheckAfter : Math.min(interval * 2, timing.maxCheckInterval);
    }
  }

  async function awaitResubmission(): Promise<Step> {
    state.phase = 'AWAITING_RESUBMISSION';
    publishStatus();
    if (state.resubmissions >= state.maxResubmissions) return 'NEEDS_DATA';
    const windowEnd = Math.min(Date.now() + timing.resubmissionWindow, deadline);
    state.resubmitBy = iso(windowEnd);
    for (;;) {
      render();
      const waitMs = windowEnd - Date.now();
      const woken =
        waitMs > 0 &&
        (await condition(() => resubmitRequested || claimIsNews(), waitMs, {
          summary: 'Wait for the merchant to resubmit',
        }));
      if (!woken) {
        // The outcome rests on a fresh reading: the data may have been fixed without a callback reaching us.
        await checkStatus('resubmission window over');
        const next = route();
        return next === 'AWAIT_RESUBMISSION' ? 'NEEDS_DATA' : next;
      }
      if (resubmitRequested) {
        resubmitRequested = false;
        return 'START';
      }
      // The vendor reports a change while we wait (e.g. data fixed through another channel): confirm it.
      await checkStatus('callback while awaiting resubmission');
      const next = route();
      if (next !== 'AWAIT_RESUBMISSION') return next;
    }
  }

  function complete(outcome: Outcome): KycVerificationResult {
    state.phase = 'COMPLETED';
    state.nextCheckAt = null;
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

  ensureSearchAttributes(customerId);
  publishedStatus ??= UNCONFIRMED_STATUS;
  let step: Step = 'START';
  try {
    while (step === 'START' || step === 'AWAIT_RESULT' || step === 'AWAIT_RESUBMISSION') {
      if (step === 'START') step = await start();
      else if (step === 'AWAIT_RESULT') step = await awaitResult();
      else step = await awaitResubmission();
    }
    return complete(step);
  } catch (error) {
    if (isCancellation(error)) return complete('CANCELLED');
    if (isTimeout(error)) return complete('TIMED_OUT');
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
  return error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
}

/** The deadline ran out while an activity was still retrying. */
function isTimeout(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause?.name === 'TimeoutFailure';
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
