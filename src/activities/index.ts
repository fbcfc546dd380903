// Side effects of a KYC verification: every call to XGateway happens here, never in workflow code.
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import type { XGatewayClient } from '../xgateway/client.js';
import { XGatewayError } from '../xgateway/errors.js';
import {
  FINAL_STATUSES,
  PRECONDITION_MISSING_STATUSES,
  STARTABLE_STATUSES,
  VERIFICATION_IN_PROGRESS,
  type KycSnapshot,
} from '../shared/kyc-status.js';
import { FailureTypes } from '../shared/contract.js';

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
  /** The status read through the status API after the decision (after the POST, when one was sent). */
  snapshot: KycSnapshot;
}

/** Activities come from a factory, so tests can pass other dependencies. */
export function createActivities({ xgateway, heartbeatIntervalMs = 5_000 }: ActivityDependencies) {
  return {
    /**
     * Reads the status, then POSTs the verification request only when the vendor would accept it. Reading first on
     * every attempt means a retry after a POST that in fact succeeded never sends a second one.
     */
    async startVerification({ customerId }: CustomerInput): Promise<StartVerificationResult> {
      const context = Context.current();
      const { cancellationSignal: signal } = context;
      const before = await vendorCall(() => xgateway.getKycStatus(customerId, { signal }));
      // An earlier attempt sent the POST but lost its answer (timeout, reset, 5xx after acceptance). If the status
      // moved since, that POST took effect, and another one would start a second verification.
      const marker = context.info.heartbeatDetails as PostMarker | undefined;
      if (marker?.postedFrom && movedSince(marker.postedFrom, before)) return { outcome: 'STARTED', snapshot: before };
      const decision = decideStart(before);
      if (decision !== 'POST') return { outcome: decision, snapshot: before };

      log.info('Sending the KYC verification request', { customerId, attempt: context.info.attempt });
      const postedFrom = { status: before.status, kycProcessingStatus: before.kycProcessingStatus };
      const after = await withHeartbeats(heartbeatIntervalMs, { postedFrom }, async () => {
        await vendorCall(() => xgateway.startKycVerification(customerId, { signal }));
        return vendorCall(() => xgateway.getKycStatus(customerId, { signal }));
      });
      return { outcome: 'STARTED', snapshot: after };
    },

    /** One reading of the status API. */
    async checkStatus({ customerId }: CustomerInput): Promise<KycSnapshot> {
      const { cancellationSignal } = Context.current();
      return vendorCall(() => xgateway.getKycStatus(customerId, { signal: cancellationSignal }));
    },
  };
}

export type KycActivities = ReturnType<typeof createActivities>;

/** Heartbeat details of the verification POST: the status it was sent from. */
interface PostMarker {
  postedFrom?: { status: string | null; kycProcessingStatus: string | null };
}

function movedSince(from: NonNullable<PostMarker['postedFrom']>, now: KycSnapshot): boolean {
  return from.status !== now.status || from.kycProcessingStatus !== now.kycProcessingStatus;
}

function decideStart(snapshot: KycSnapshot): StartOutcome | 'POST' {
  const { status, kycProcessingStatus } = snapshot;
  if (FINAL_STATUSES.includes(status)) return 'ALREADY_FINAL';
  if (kycProcessingStatus === VERIFICATION_IN_PROGRESS) return 'ALREADY_IN_PROGRESS';
  if (kycProcessingStatus !== null) {
    // Another vendor request (creating the user or applicant, uploading documents) is still running; the POST may
    // be sent once it is done, and a missing precondition may be about to appear.
    throw ApplicationFailure.create({
      type: 'KycBusyError',
      message: `XGateway is still processing ${kycProcessingStatus}; the verification request waits for it`,
    });
  }
  if (PRECONDITION_MISSING_STATUSES.includes(status)) {
    throw ApplicationFailure.create({
      type: FailureTypes.preconditionMissing,
      nonRetryable: true,
      message:
        status === null
          ? 'KYC precondition missing: the customer has no XGateway user yet (status null); create the user first'
          : 'KYC precondition missing: the customer has no KYC applicant yet (status CREATED); create it first',
    });
  }
  return STARTABLE_STATUSES.includes(status) ? 'POST' : 'NOT_STARTABLE';
}

/** Turns adapter errors into Temporal failures named after the error class, honouring Retry-After. */
async function vendorCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof XGatewayError) {
      throw ApplicationFailure.create({
        type: error.name,
        message: error.message,
        nonRetryable: !error.retryable,
        nextRetryDelay: error.retryAfterMs,
        details: [{ httpStatus: error.httpStatus ?? null, vendorCode: error.vendorCode ?? null }],
      });
    }
    throw error;
  }
}

/**
 * Heartbeats while a long request is in flight, so a dead worker is noticed within the heartbeat timeout. The first
 * beat goes out at once and carries `details`, which the next attempt reads if this one fails.
 */
async function withHeartbeats<T>(intervalMs: number, details: object, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const startedAt = Date.now();
  const beat = () => context.heartbeat({ ...details, waitingForVendorMs: Date.now() - startedAt });
  beat();
  const timer = setInterval(beat, intervalMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
