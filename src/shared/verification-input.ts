// A verification's input: the customer, the timing, and what a run carries over when it continues as new. Part of
// the contract (re-exported by contract.ts); apart only to keep each file to one subject.
import { z } from 'zod';

import type { KycVerificationState } from './contract.js';

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
  /** Optional, as the next one: runs that continued as new before they existed carry none. */
  requestUnsent: z.boolean().optional(),
  unknownOutcome: z.string().nullable().optional(),
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

function toMs(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  return Number(match?.[1]) * units[(match?.[2] ?? 'ms') as keyof typeof units];
}
