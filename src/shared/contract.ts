// What every process agrees on: names, ids, messages, input and result shapes. Other services and other
// languages' SDKs rely on these names; change them only with a versioning plan.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { z } from 'zod';

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

/** The merchant's customer id, XGateway's `{id}`: also the workflow id's business key. */
export const customerIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s/\\]+$/, 'must not contain whitespace or slashes');

/** A duration: milliseconds, or a string such as "90s", "5m", "2h", "7d"; from 1 second to 366 days. */
const durationSchema = z
  .union([z.number().int(), z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must look like 500ms, 90s, 5m, 2h or 7d')])
  .transform(toMs)
  .pipe(
    z
      .number()
      .min(1000, 'must be at least 1 second')
      .max(366 * 24 * 60 * 60_000, 'must be at most 366 days'),
  );

export const DEFAULT_TIMING = {
  /** How long to wait for a callback before the first status check. */
  firstCheckAfter: 2 * 60_000,
  /** Checks back off ×2 from `firstCheckAfter` up to this interval. */
  maxCheckInterval: 2 * 60 * 60_000,
  /** Overall budget of the verification, from its start. Then the outcome is TIMED_OUT (or NEEDS_DATA). */
  deadline: 14 * 24 * 60 * 60_000,
  /** How long the merchant has to fix data and send `resubmit` after SOFT_KYC_FAILED. */
  resubmissionWindow: 7 * 24 * 60 * 60_000,
} as const;
export const DEFAULT_MAX_RESUBMISSIONS = 3;
/**
 * Timer-driven status checks a run may plan over its deadline. Each costs a billable action and about eight history
 * events; a run continues as new long before the server's limits, but input that plans more checks than this is
 * surely a mistake (e.g. `maxCheckInterval: "2m"` over the default 14 days plans 10,080).
 */
export const MAX_PLANNED_CHECKS = 2_000;
/** How soon a dead worker is noticed during the verification request; every read and beat fits well inside it. */
export const START_HEARTBEAT_TIMEOUT_MS = 30_000;
/** The whole verification request: a read, the POST (minutes at worst), and a read. */
export const START_TO_CLOSE_TIMEOUT_MS = 10 * 60_000;
/** Checks that callbacks trigger are coalesced: at most one in this span, so a flood of callbacks costs little. */
export const CALLBACK_CHECK_SPACING_MS = 60_000;

const WAIT_STEPS = ['START', 'AWAIT_RESULT', 'AWAIT_RESUBMISSION'] as const;
/** The steps a run can be in between outcomes, and hand over from. */
export type WaitStep = (typeof WAIT_STEPS)[number];

/** What a run hands to the next when it continues as new. */
const continuedRunSchema = z.strictObject({
  step: z.enum(WAIT_STEPS),
  state: z.custom<KycVerificationState>((value) => typeof value === 'object' && value !== null),
  callbacksChecked: z.number().int().min(0),
  lastCallbackCheckAt: z.number().nullable(),
  callbackChecksSinceRequest: z.number().int().min(0),
  checkInterval: z.number().int().min(0),
  resubmitRequested: z.boolean(),
});
export type ContinuedRun = z.output<typeof continuedRunSchema>;

export const kycVerificationInputSchema = z
  .strictObject({
    customerId: customerIdSchema,
    timing: z
      .strictObject({
        firstCheckAfter: durationSchema.optional(),
        maxCheckInterval: durationSchema.optional(),
        deadline: durationSchema.optional(),
        resubmissionWindow: durationSchema.optional(),
      })
      .optional(),
    maxResubmissions: z.number().int().min(0).max(20).optional(),
    /** Set only by the workflow itself when it continues as new; callers never send it. */
    continued: continuedRunSchema.optional(),
  })
  .superRefine((input, ctx) => {
    const timing = { ...DEFAULT_TIMING, ...input.timing };
    if (timing.maxCheckInterval < timing.firstCheckAfter) {
      ctx.addIssue({
        code: 'custom',
        path: ['timing', 'maxCheckInterval'],
        message: 'must not be shorter than timing.firstCheckAfter',
      });
    } else if (timing.deadline / timing.maxCheckInterval > MAX_PLANNED_CHECKS) {
      const least = Math.ceil(timing.deadline / MAX_PLANNED_CHECKS / 60_000);
      ctx.addIssue({
        code: 'custom',
        path: ['timing', 'maxCheckInterval'],
        message: `plans more than ${MAX_PLANNED_CHECKS} status checks before timing.deadline; use at least ${least}m, or a shorter deadline`,
      });
    }
  });
/** Workflow input. Plain JSON, e.g. `{"customerId":"c-1","timing":{"firstCheckAfter":"30s"}}`. */
export type KycVerificationInput = z.input<typeof kycVerificationInputSchema>;

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

const claimedStatusSchema = z.string().max(CALLBACK_LIMITS.statusChars).nullable();

/**
 * The `kycCallback` signal: only what the workflow uses, the claimed status pair and when the receiver got it. It is a
 * wake-up call, never trusted as a result; the workflow reads everything else from the status API. Well under 512
 * bytes whatever the callback held. Fields other senders may still send (customerId, docsMissing, labels) are ignored.
 */
export const kycCallbackPayloadSchema = z.looseObject({
  status: claimedStatusSchema,
  kycProcessingStatus: claimedStatusSchema.optional().transform((v) => v ?? null),
  /** When the receiver got it (ISO); set by the receiver. */
  receivedAt: z.string().max(40).optional(),
});
export type KycCallbackPayload = z.input<typeof kycCallbackPayloadSchema>;

export interface LastCallback {
  status: string | null;
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
  status: string | null;
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
  status: string | null;
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

function toMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  return Number(match?.[1]) * units[(match?.[2] ?? 'ms') as keyof typeof units];
}

/**
 * Records a callback that no open verification was waiting for. Temporal is the store; nothing else is. One record per
 * customer, claimed status pair and window: the id holds a digest of the pair and the window's index.
 */
export const unmatchedCallbackWorkflowId = (customerId: string, digest: string, windowIndex: number): string =>
  `kyc-unmatched-${customerId}-${digest}-${windowIndex}`;

/** `kycUnmatchedCallbackWorkflow`'s input: the signal payload plus the customer, and the last known status. */
export const unmatchedCallbackInputSchema = z.object({
  callback: kycCallbackPayloadSchema.extend({ customerId: customerIdSchema }),
  /** Status the customer's last verification confirmed, if the receiver found one. */
  previousStatus: z.string().max(CALLBACK_LIMITS.statusChars).nullable(),
});
export type UnmatchedCallbackInput = z.input<typeof unmatchedCallbackInputSchema>;

/** Set (true) on an unmatched-callback record whose confirmed status reverses a FULL_USER; filter on it in the UI. */
export const kycReversalSearchAttribute = defineSearchAttributeKey('KycReversal', SearchAttributeType.BOOL);

export interface UnmatchedCallbackResult {
  customerId: string;
  claimedStatus: string | null;
  /** Status the status API confirmed. */
  confirmedStatus: string | null;
  /** The customer was verified (FULL_USER) and no longer is. */
  reversal: boolean;
  confirmedAt: string;
}
