// What every process agrees on: names, ids, messages, input and result shapes. Other services and other
// languages' SDKs rely on these names; change them only with a versioning plan.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

import { object, optional, text, textOrNull } from './checks.js';
import type { KycStatus } from './kyc-status.js';
import { checkCustomerId, type WaitStep } from './verification-input.js';

export * from './verification-input.js';

export const WORKFLOW_TYPE = 'kycVerificationWorkflow';
export const UNMATCHED_CALLBACK_WORKFLOW_TYPE = 'kycUnmatchedCallbackWorkflow';
export const DEFAULT_TASK_QUEUE = 'kyc-verification';

/** Workflow ids are business keys: one verification per customer at a time. */
export const verificationWorkflowId = (customerId: string): string => `kyc-verification-${customerId}`;

export const kycStatusSearchAttribute = defineSearchAttributeKey('KycStatus', SearchAttributeType.KEYWORD);
export const kycCustomerIdSearchAttribute = defineSearchAttributeKey('KycCustomerId', SearchAttributeType.KEYWORD);
/** `KycStatus` before the status API has confirmed anything. */
export const UNCONFIRMED_STATUS = 'UNCONFIRMED';
/** `KycStatus` when the status API confirmed `status: null` (no XGateway user yet): search attributes hold no null. */
export const NULL_STATUS = 'NULL';

export type Phase = 'STARTING' | 'AWAITING_RESULT' | 'AWAITING_RESUBMISSION' | 'COMPLETED';
export type Outcome = 'VERIFIED' | 'REJECTED' | 'NEEDS_DATA' | 'TIMED_OUT' | 'CANCELLED';
/** Where the workflow goes next; an Outcome ends it. */
export type Step = WaitStep | Outcome;

/** Documented bounds of a KYC callback's fields; the receiver refuses a body over any of them with 400. */
export const CALLBACK_LIMITS = {
  /** `status` and `kycProcessingStatus`. */
  statusChars: 100,
  /** `kycRejectLabel` and `kycEndUserErrorMessage`. */
  freeTextChars: 2048,
  docsMissingItems: 50,
  docChars: 100,
} as const;

/** What identifies one callback delivery: whose it is and the status pair it claims. */
export interface CallbackClaim {
  customerId: string;
  status: KycStatus;
  kycProcessingStatus: string | null;
}

/**
 * The `kycCallback` signal: only what the workflow uses, the claimed status pair and when the receiver got it. It is a
 * wake-up call, never trusted as a result; the workflow reads everything else from the status API. Well under 512
 * bytes whatever the callback held. Fields other senders may still send (customerId, docsMissing, labels) are ignored.
 */
export interface KycCallbackPayload {
  status: KycStatus;
  kycProcessingStatus?: string | null;
  /** When the receiver got it (ISO); set by the receiver. */
  receivedAt?: string;
  /** Other senders may add fields (e.g. `customerId`): they are ignored. */
  [field: string]: unknown;
}

/** Checks a `kycCallback` signal's payload; throws an `InputError` naming the first bad field. */
export function checkCallbackPayload(raw: unknown, field = 'signal'): KycCallbackPayload {
  const payload = object(raw, field);
  const receivedAt = optional(payload.receivedAt, (value) => text(value, `${field}.receivedAt`, { max: 40 }));
  return {
    status:
      payload.status === null ? null : text(payload.status, `${field}.status`, { max: CALLBACK_LIMITS.statusChars }),
    kycProcessingStatus: textOrNull(
      payload.kycProcessingStatus,
      `${field}.kycProcessingStatus`,
      CALLBACK_LIMITS.statusChars,
    ),
    ...(receivedAt === undefined ? {} : { receivedAt }),
  };
}

export interface LastCallback {
  status: KycStatus;
  kycProcessingStatus: string | null;
  receivedAt: string | null;
  /** When the workflow saw it (ISO). */
  signalledAt: string;
}

/** Everything an operator or a caller needs to see where a verification stands. */
export interface KycVerificationState {
  customerId: string;
  phase: Phase;
  /** Last status confirmed through the status API; null before any reading. */
  status: KycStatus;
  kycProcessingStatus: string | null;
  /** Verification requests run (the first one plus resubmissions). */
  attempts: number;
  resubmissions: number;
  maxResubmissions: number;
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  callbacksReceived: number;
  lastCallback: LastCallback | null;
  lastCheckAt: string | null;
  nextCheckAt: string | null;
  startedAt: string;
  deadlineAt: string;
  /** Set while awaiting resubmission. */
  resubmitBy: string | null;
  /**
   * What went wrong with the last verification request, if anything: refused by the vendor, not sent yet (and when
   * it is tried again), or sent with its answer lost (an unknown outcome, which is never sent again on its own).
   */
  lastError: string | null;
}

/** The workflow result: plain JSON. */
export interface KycVerificationResult {
  customerId: string;
  outcome: Outcome;
  status: KycStatus;
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  attempts: number;
  resubmissions: number;
  startedAt: string;
  completedAt: string;
  /** When the status API last confirmed `status`. */
  confirmedAt: string | null;
}

export interface ResubmitResult {
  resubmission: number;
}

/** Wakes the workflow to re-check the status API; sent by the callback receiver. */
export const kycCallbackSignal = defineSignal<[KycCallbackPayload]>('kycCallback');
/** The whole current state. */
export const statusQuery = defineQuery<KycVerificationState>('status');
/** After SOFT_KYC_FAILED and a data fix: run the verification request again. */
export const resubmitUpdate = defineUpdate<ResubmitResult, []>('resubmit');

/**
 * `startVerification` failed after its POST may have reached the vendor (5xx, reset, timeout, a worker that died).
 * The workflow never sends another request for it on its own; it watches the status instead.
 */
export const REQUEST_OUTCOME_UNKNOWN = 'KycRequestOutcomeUnknownError';

/** The details of every failure `startVerification` throws. */
export interface StartFailureDetails {
  /** `false` only when the request provably never took effect: refused by the vendor, or never left this process. */
  requestSent: false | 'unknown';
  httpStatus: number | null;
  vendorCode: string | null;
  /** The vendor's Retry-After: nothing is sent again before it has passed. */
  retryAfterMs: number | null;
}

/** Failure types a caller must act on; the workflow fails with these, never retrying them. */
export const FailureTypes = {
  invalidInput: 'InvalidInputError',
  preconditionMissing: 'KycPreconditionError',
  unauthorized: 'XGatewayUnauthorizedError',
  requestRejected: 'XGatewayRequestRejectedError',
} as const;

/**
 * Records a callback that no open verification was waiting for. Temporal is the store; nothing else is. One record per
 * customer, claimed status pair and window: the id holds a digest of the pair and the window's index.
 */
export const unmatchedCallbackWorkflowId = (customerId: string, digest: string, windowIndex: number): string =>
  `kyc-unmatched-${customerId}-${digest}-${windowIndex}`;

/** `kycUnmatchedCallbackWorkflow`'s input: the signal payload plus the customer, and the last known status. */
export interface UnmatchedCallbackInput {
  callback: KycCallbackPayload & { customerId: string };
  /** Status the customer's last verification confirmed, if the receiver found one. */
  previousStatus: string | null;
}

/** Checks `kycUnmatchedCallbackWorkflow`'s input; throws an `InputError` naming the first bad field. */
export function checkUnmatchedCallbackInput(raw: unknown): UnmatchedCallbackInput {
  const input = object(raw, 'input');
  const callback = object(input.callback, 'callback');
  return {
    callback: {
      ...checkCallbackPayload(callback, 'callback'),
      customerId: checkCustomerId(callback.customerId, 'callback.customerId'),
    },
    previousStatus:
      input.previousStatus === null
        ? null
        : text(input.previousStatus, 'previousStatus', { max: CALLBACK_LIMITS.statusChars }),
  };
}

/** Set (true) on an unmatched-callback record whose confirmed status reverses a FULL_USER; filter on it in the UI. */
export const kycReversalSearchAttribute = defineSearchAttributeKey('KycReversal', SearchAttributeType.BOOL);

export interface UnmatchedCallbackResult {
  customerId: string;
  claimedStatus: KycStatus;
  /** Status the status API confirmed. */
  confirmedStatus: KycStatus;
  /** The customer was verified (FULL_USER) and no longer is. */
  reversal: boolean;
  confirmedAt: string;
}
