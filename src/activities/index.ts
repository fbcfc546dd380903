// Side effects of a KYC verification: every call to XGateway happens here, never in workflow code.
import { ApplicationFailure, Context, log } from '@temporalio/activity';

import { FailureTypes, REQUEST_OUTCOME_UNKNOWN, type StartFailureDetails } from '../shared/contract.js';
import {
  FINAL_STATUSES,
  type KycSnapshot,
  PRECONDITION_MISSING_STATUSES,
  STARTABLE_STATUSES,
  VERIFICATION_IN_PROGRESS,
} from '../shared/kyc-status.js';
import type { KycStatusReading, XGatewayClient } from '../xgateway/client.js';
import {
  XGatewayError,
  XGatewayNotReachedError,
  XGatewayRequestRejectedError,
  XGatewayUnauthorizedError,
} from '../xgateway/errors.js';

export interface ActivityDependencies {
  xgateway: XGatewayClient;
  /** How often a long POST reports liveness; the SDK throttles what reaches the server. */
  heartbeatIntervalMs?: number;
}

export interface CustomerInput {
  customerId: string;
}

export type StartOutcome =
  /** The POST was answered 2xx. */
  | 'STARTED'
  /** A verification is already running at the vendor: sending another would be refused or double-billed. */
  | 'ALREADY_IN_PROGRESS'
  /** FULL_USER or HARD_KYC_FAILED: KYC is passed once, so nothing is sent. */
  | 'ALREADY_FINAL'
  /** A status the POST does not accept (e.g. an undocumented one): wait and watch instead. */
  | 'NOT_STARTABLE';

export interface StartVerificationResult {
  outcome: StartOutcome;
  /** The status after the decision (read after the POST, when one was sent); null if that last read failed. */
  snapshot: KycSnapshot | null;
}

/** Activities come from a factory, so tests can pass other dependencies. */
export function createActivities({ xgateway, heartbeatIntervalMs = 5_000 }: ActivityDependencies) {
  async function read(customerId: string): Promise<KycSnapshot> {
    const { unreadable, ...snapshot }: KycStatusReading = await xgateway.getKycStatus(customerId, {
      signal: Context.current().cancellationSignal,
    });
    if (unreadable.length) log.warn('XGateway status answer had fields of an undocumented shape', { unreadable });
    return snapshot;
  }

  return {
    /**
     * Reads the status, then POSTs the verification request only when the vendor would accept it. The workflow runs
     * this activity once per request and never lets the server retry it: a retry cannot know whether a POST of an
     * earlier attempt reached the vendor. A failure says whether the request provably never left
     * (`StartFailureDetails.requestSent`), so the workflow may run it again, or may have, so it must not.
     */
    async startVerification({ customerId }: CustomerInput): Promise<StartVerificationResult> {
      const { signal } = { signal: Context.current().cancellationSignal };
      return withHeartbeats(heartbeatIntervalMs, async () => {
        const before = await notSentOnFailure(() => read(customerId));
        const decision = decideStart(before);
        if (decision !== 'POST') return { outcome: decision, snapshot: before };

        log.info('Sending the KYC verification request', { customerId, from: before.status });
        try {
          await xgateway.startKycVerification(customerId, { signal });
        } catch (error) {
          throw postFailure(error);
        }
        // The request was accepted; a failed read now is the workflow's to repeat, never a reason to POST again.
        const after = await read(customerId).catch((error: unknown) => {
          log.warn('Status read after the accepted verification request failed', { error: String(error) });
          return null;
        });
        return { outcome: 'STARTED', snapshot: after };
      });
    },

    /** One reading of the status API; Temporal retries it, honouring the vendor's Retry-After. */
    async checkStatus({ customerId }: CustomerInput): Promise<KycSnapshot> {
      try {
        return await read(customerId);
      } catch (error) {
        throw toFailure(error, false);
      }
    },
  };
}

export type KycActivities = ReturnType<typeof createActivities>;

function decideStart(snapshot: KycSnapshot): StartOutcome | 'POST' {
  const { status, kycProcessingStatus } = snapshot;
  if (FINAL_STATUSES.includes(status)) return 'ALREADY_FINAL';
  if (kycProcessingStatus === VERIFICATION_IN_PROGRESS) return 'ALREADY_IN_PROGRESS';
  if (kycProcessingStatus !== null) {
    // Another vendor request (creating the user or applicant, uploading documents) is still running; the POST may
    // be sent once it is done, and a missing precondition may be about to appear.
    throw failure({
      type: 'KycBusyError',
      message: `XGateway is still processing ${kycProcessingStatus}; the verification request waits for it`,
      requestSent: false,
    });
  }
  if (PRECONDITION_MISSING_STATUSES.includes(status)) {
    throw failure({
      type: FailureTypes.preconditionMissing,
      nonRetryable: true,
      requestSent: false,
      message:
        status === null
          ? 'KYC precondition missing: the customer has no XGateway user yet (status null); create the user first'
          : 'KYC precondition missing: the customer has no KYC applicant yet (status CREATED); create it first',
    });
  }
  return STARTABLE_STATUSES.includes(status) ? 'POST' : 'NOT_STARTABLE';
}

/** Everything before the POST: a failure there provably sent nothing. */
async function notSentOnFailure<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toFailure(error, false);
  }
}

/**
 * A failed POST. The vendor's explicit refusals (4xx, 429, `success: false`) and a connection that never opened
 * sent nothing that took effect; anything else (5xx, reset, timeout, abort) may have started a verification.
 */
function postFailure(error: unknown): unknown {
  if (isAbort(error)) return error;
  const refused =
    error instanceof XGatewayUnauthorizedError ||
    error instanceof XGatewayRequestRejectedError ||
    error instanceof XGatewayNotReachedError ||
    (error instanceof XGatewayError && error.httpStatus === 429);
  if (refused) return toFailure(error, false);
  const message = error instanceof Error ? error.message : String(error);
  return failure({
    type: REQUEST_OUTCOME_UNKNOWN,
    nonRetryable: true,
    requestSent: 'unknown',
    message: `The verification request may have reached XGateway, but its answer was lost: ${message}`,
    httpStatus: error instanceof XGatewayError ? error.httpStatus : undefined,
  });
}

/** Turns adapter errors into Temporal failures named after the error class, honouring Retry-After. */
function toFailure(error: unknown, requestSent: false): unknown {
  if (!(error instanceof XGatewayError)) return error;
  return failure({
    type: error.name,
    message: error.message,
    nonRetryable: !error.retryable,
    requestSent,
    httpStatus: error.httpStatus,
    vendorCode: error.vendorCode,
    retryAfterMs: error.retryAfterMs,
  });
}

function failure(
  options: { type: string; message: string; nonRetryable?: boolean } & Partial<StartFailureDetails>,
): ApplicationFailure {
  const { type, message, nonRetryable = false, ...details } = options;
  const full: StartFailureDetails = {
    requestSent: details.requestSent ?? false,
    httpStatus: details.httpStatus ?? null,
    vendorCode: details.vendorCode ?? null,
    retryAfterMs: details.retryAfterMs ?? null,
  };
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    nextRetryDelay: full.retryAfterMs ?? undefined,
    details: [full],
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * Heartbeats for the whole request, so a dead worker is noticed within the heartbeat timeout. Each read and the POST
 * are bounded below that timeout or send beats while they wait; the first beat goes out at once.
 */
async function withHeartbeats<T>(intervalMs: number, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const startedAt = Date.now();
  const beat = () => context.heartbeat({ waitingForVendorMs: Date.now() - startedAt });
  beat();
  const timer = setInterval(beat, intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
