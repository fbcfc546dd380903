// A verification's input: the customer, the timing, and what a run carries over when it continues as new. Part of
// the contract (re-exported by contract.ts); apart only to keep each file to one subject. Checked by hand, not with
// zod: the workflow checks its input, and the client checks it with the same function before starting.
import { boolean, InputError, integer, object, optional, text } from './checks.js';
import type { KycVerificationState } from './contract.js';

/** What is wrong with a customer id, if anything: the one rule, which the receiver's zod schema applies too. */
export function customerIdProblem(id: string): string | undefined {
  if (id.length < 1 || id.length > 200) return 'must be 1 to 200 characters';
  if (/[\s/\\]/.test(id)) return 'must not contain whitespace or slashes';
  return undefined;
}

/** The merchant's customer id, XGateway's `{id}`: also the workflow id's business key. */
export function checkCustomerId(value: unknown, field = 'customerId'): string {
  if (typeof value !== 'string') throw new InputError(field, 'must be a string');
  const problem = customerIdProblem(value);
  if (problem) throw new InputError(field, problem);
  return value;
}

/** A duration: milliseconds, or a string such as "90s", "5m", "2h", "7d"; from 1 second to 366 days. */
export type Duration = number | string;
const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function duration(value: unknown, field: string): number {
  let ms: number;
  if (Number.isInteger(value)) ms = value as number;
  else {
    const match = typeof value === 'string' ? DURATION.exec(value) : null;
    if (!match) throw new InputError(field, 'must be whole milliseconds or look like 500ms, 90s, 5m, 2h or 7d');
    ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  }
  if (ms < 1000) throw new InputError(field, 'must be at least 1 second');
  if (ms > 366 * UNIT_MS.d) throw new InputError(field, 'must be at most 366 days');
  return ms;
}

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
export interface ContinuedRun {
  step: WaitStep;
  state: KycVerificationState;
  callbacksChecked: number;
  lastCallbackCheckAt: number | null;
  callbackChecksSinceRequest: number;
  checkInterval: number;
  resubmitRequested: boolean;
  /** Optional, as the next one: runs that continued as new before they existed carry none. */
  requestUnsent?: boolean;
  unknownOutcome?: string | null;
}
const CONTINUED_FIELDS = [
  'step',
  'state',
  'callbacksChecked',
  'lastCallbackCheckAt',
  'callbackChecksSinceRequest',
  'checkInterval',
  'resubmitRequested',
  'requestUnsent',
  'unknownOutcome',
] as const satisfies readonly (keyof ContinuedRun)[];

const TIMING_FIELDS = ['firstCheckAfter', 'maxCheckInterval', 'deadline', 'resubmissionWindow'] as const;
type TimingField = (typeof TIMING_FIELDS)[number];

/** Workflow input. Plain JSON, e.g. `{"customerId":"c-1","timing":{"firstCheckAfter":"30s"}}`. */
export interface KycVerificationInput {
  customerId: string;
  timing?: Partial<Record<TimingField, Duration>>;
  maxResubmissions?: number;
  /** Set only by the workflow itself when it continues as new; callers never send it. */
  continued?: ContinuedRun;
}

/** The input once checked: durations in milliseconds. */
export interface CheckedVerificationInput extends Omit<KycVerificationInput, 'timing'> {
  timing?: Partial<Record<TimingField, number>>;
}

/** Checks a verification's input; throws an `InputError` naming the first bad field. */
export function checkVerificationInput(raw: unknown): CheckedVerificationInput {
  const input = object(raw, 'input', ['customerId', 'timing', 'maxResubmissions', 'continued']);
  const checked: CheckedVerificationInput = { customerId: checkCustomerId(input.customerId) };
  if (input.timing !== undefined) {
    const timing = object(input.timing, 'timing', TIMING_FIELDS);
    checked.timing = {};
    for (const field of TIMING_FIELDS) {
      if (timing[field] !== undefined) checked.timing[field] = duration(timing[field], `timing.${field}`);
    }
    checkPlannedChecks({ ...DEFAULT_TIMING, ...checked.timing });
  }
  const maxResubmissions = optional(input.maxResubmissions, (value) => integer(value, 'maxResubmissions', 0, 20));
  if (maxResubmissions !== undefined) checked.maxResubmissions = maxResubmissions;
  if (input.continued !== undefined) checked.continued = checkContinuedRun(input.continued);
  return checked;
}

function checkPlannedChecks(timing: Record<TimingField, number>): void {
  const field = 'timing.maxCheckInterval';
  if (timing.maxCheckInterval < timing.firstCheckAfter) {
    throw new InputError(field, 'must not be shorter than timing.firstCheckAfter');
  }
  if (timing.deadline / timing.maxCheckInterval > MAX_PLANNED_CHECKS) {
    const least = Math.ceil(timing.deadline / MAX_PLANNED_CHECKS / 60_000);
    throw new InputError(
      field,
      `plans more than ${MAX_PLANNED_CHECKS} status checks before timing.deadline; use at least ${least}m, or a shorter deadline`,
    );
  }
}

/** Written by the previous run, so only its shape is checked; `state` is taken as that run left it. */
function checkContinuedRun(raw: unknown): ContinuedRun {
  const run = object(raw, 'continued', CONTINUED_FIELDS);
  const count = (field: (typeof CONTINUED_FIELDS)[number]) => integer(run[field], `continued.${field}`, 0);
  if (!WAIT_STEPS.includes(run.step as WaitStep)) {
    throw new InputError('continued.step', `must be one of ${WAIT_STEPS.join(', ')}`);
  }
  const { lastCallbackCheckAt } = run;
  if (lastCallbackCheckAt !== null && !Number.isFinite(lastCallbackCheckAt)) {
    throw new InputError('continued.lastCallbackCheckAt', 'must be a number or null');
  }
  const unknownOutcome = optional(run.unknownOutcome, (value) =>
    value === null ? null : text(value, 'continued.unknownOutcome', { max: Number.MAX_SAFE_INTEGER }),
  );
  return {
    step: run.step as WaitStep,
    state: object(run.state, 'continued.state') as unknown as KycVerificationState,
    callbacksChecked: count('callbacksChecked'),
    lastCallbackCheckAt: lastCallbackCheckAt as number | null,
    callbackChecksSinceRequest: count('callbackChecksSinceRequest'),
    checkInterval: count('checkInterval'),
    resubmitRequested: boolean(run.resubmitRequested, 'continued.resubmitRequested'),
    ...(run.requestUnsent === undefined
      ? {}
      : { requestUnsent: boolean(run.requestUnsent, 'continued.requestUnsent') }),
    ...(unknownOutcome === undefined ? {} : { unknownOutcome }),
  };
}
