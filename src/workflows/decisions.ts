// Pure decisions of the verification workflow: no Temporal calls, so each is table-tested on its own.
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

import { FailureTypes, type StartFailureDetails, type Step } from '../shared/contract.js';
import { isDocumentedStatus, KYC_STATUS, type KycSnapshot, STARTABLE_STATUSES } from '../shared/kyc-status.js';
import { retryTiming } from './retry-timing.js';

type Reading = Pick<KycSnapshot, 'status' | 'kycProcessingStatus'>;

/**
 * Which step follows a confirmed status. `requestUnsent`: the current request has not been sent yet (the status did
 * not accept one), so a status it can be sent from means sending it now, not waiting for the merchant.
 */
export function stepForStatus(reading: Reading, requestUnsent = false): Step {
  const { status, kycProcessingStatus } = reading;
  if (requestUnsent && showsNoRequest(reading)) return 'START';
  switch (status) {
    case KYC_STATUS.FULL_USER:
      return 'VERIFIED';
    case KYC_STATUS.HARD_KYC_FAILED:
      return 'REJECTED';
    case KYC_STATUS.SOFT_KYC_FAILED:
      return 'AWAIT_RESUBMISSION';
    case KYC_STATUS.PENDING_KYC_DATA:
    case KYC_STATUS.KYC_NEEDED:
      // Nothing is running at the vendor and it waits for data: only the merchant can move this on.
      return kycProcessingStatus === null ? 'AWAIT_RESUBMISSION' : 'AWAIT_RESULT';
    default:
      // KYC_PENDING and undocumented statuses are not final: keep watching.
      return 'AWAIT_RESULT';
  }
}

/** Nothing runs at the vendor, and the POST could be sent from this status: no sign that a request landed. */
export function showsNoRequest({ status, kycProcessingStatus }: Reading): boolean {
  return kycProcessingStatus === null && STARTABLE_STATUSES.includes(status);
}

/** The step after a request whose answer was lost: with no sign that it landed, the merchant decides (`resubmit`). */
export function stepAfterUnknownOutcome(reading: Reading): Step {
  return showsNoRequest(reading) ? 'AWAIT_RESUBMISSION' : stepForStatus(reading);
}

/**
 * What `lastError` says after a reading while a request's outcome is unknown (`lost`: why), or null once the reading
 * shows that the request landed. An undocumented status shows neither, so the outcome stays unknown.
 */
export function unknownOutcomeMessage(reading: Reading, lost: string): string | null {
  if (showsNoRequest(reading)) {
    return `Outcome unknown: ${lost}. The status shows no sign that the request landed; send resubmit to send it again.`;
  }
  if (!isDocumentedStatus(reading.status)) {
    return `Outcome unknown: ${lost}. The status ${reading.status} does not show yet whether the request landed; watching it.`;
  }
  return null;
}

/**
 * How a failed `startVerification` is handled:
 * - `REFUSED`: the vendor said no, or a precondition is missing; retrying the same request cannot help.
 * - `NOT_SENT`: nothing reached the vendor; the same request may be sent again after a pause.
 * - `UNKNOWN`: the request may have taken effect; it is never sent again without the merchant's `resubmit`.
 * Anything not proven otherwise (a timeout, a worker that died, an unexpected error) is `UNKNOWN`.
 */
export function classifyStartFailure(error: unknown): 'REFUSED' | 'NOT_SENT' | 'UNKNOWN' {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure)) return 'UNKNOWN';
  const { type } = error.cause;
  if (type === FailureTypes.preconditionMissing || type === FailureTypes.unauthorized) return 'REFUSED';
  if (type === FailureTypes.requestRejected) return 'REFUSED';
  return startFailureDetails(error)?.requestSent === false ? 'NOT_SENT' : 'UNKNOWN';
}

export function startFailureDetails(error: ActivityFailure): StartFailureDetails | undefined {
  const details = error.cause instanceof ApplicationFailure ? error.cause.details?.[0] : undefined;
  return typeof details === 'object' && details !== null ? (details as StartFailureDetails) : undefined;
}

/** The pause before sending a request that provably did not go out: as a retry policy would, never before Retry-After. */
export function startRetryDelay(retry: number, retryAfterMs: number | null): number {
  const backoff = Math.min(retryTiming.startRetryBaseMs * 2 ** Math.min(retry, 16), 5 * 60_000);
  return Math.max(backoff, retryAfterMs ?? 0);
}

/**
 * The budget of an activity ran out while it still retried. The server then ends the retries with `retryState`
 * TIMEOUT and the last attempt's failure as the cause (not a TimeoutFailure), or with a schedule-to-close timeout.
 */
export function isBudgetExhausted(error: unknown): boolean {
  if (!(error instanceof ActivityFailure)) return false;
  if (error.retryState === RetryState.TIMEOUT) return true;
  return error.cause instanceof TimeoutFailure && error.cause.timeoutType === 'SCHEDULE_TO_CLOSE';
}

export function failureType(error: unknown): string | undefined {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure
    ? (error.cause.type ?? undefined)
    : undefined;
}

export function failureMessage(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** A caller-fixable activity failure fails the workflow with the same named type, so callers can match on it. */
export function asWorkflowFailure(error: unknown): unknown {
  const type = failureType(error);
  if (type && (Object.values(FailureTypes) as string[]).includes(type)) {
    return ApplicationFailure.create({ type, message: failureMessage(error), nonRetryable: true });
  }
  return error;
}
