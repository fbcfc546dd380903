// The sandbox's customers: what the control API may script, the default script that an id's prefix selects, and
// the in-memory state of one customer.
import { createHash } from 'node:crypto';

import { z } from 'zod';

import { urlSchema } from '../config.js';

/** Faults that can also hide an accepted POST (its answer lost); `reset` destroys the socket without answering. */
export const LOST_ANSWER_FAULTS = ['500', 'reset', '429', '503'] as const;
/**
 * The vendor's documented refusals, with its error bodies: `400` (db_violation), `401` (the key) and `403`
 * (forbidden). A POST answered with one starts nothing.
 */
export const REFUSAL_FAULTS = ['400', '401', '403'] as const;
/** Faults a POST or GET can be scripted to answer with. */
export const FAULTS = [...LOST_ANSWER_FAULTS, ...REFUSAL_FAULTS] as const;
/**
 * A GET may also answer `junk` (HTTP 200 with a body that is not JSON) or `unknown-status` (HTTP 200 with this
 * request's answer, but an undocumented status in place of the real one).
 */
export const GET_FAULTS = [...FAULTS, 'junk', 'unknown-status'] as const;
export type Fault = (typeof GET_FAULTS)[number];
/** The status an `unknown-status` fault answers with: one the vendor's docs do not list. */
export const UNDOCUMENTED_STATUS = 'KYC_UNDER_REVIEW';

/**
 * How a customer's callbacks go out. `delay` waits `delayMs` first; `reorder` holds each callback until the next one
 * has gone out (so the later status arrives first), or for `delayMs` at most when no next one comes.
 */
export const CALLBACK_MODES = ['normal', 'drop', 'duplicate', 'delay', 'reorder'] as const;
export type CallbackMode = (typeof CALLBACK_MODES)[number];

const statusSchema = z.string().min(1).max(100);
const textSchema = z.string().max(1000).nullable();
const delaySchema = z
  .number()
  .int()
  .min(0)
  .max(60 * 60_000);

const rateSchema = z.number().min(0).max(1);

/**
 * Faults drawn at random, request by request, on top of the scripted lists. Each draw comes from a hash of the
 * customer id, `seed` and a counter, so one script plays out the same way against the same sequence of requests.
 */
export const randomFaultsSchema = z.strictObject({
  /** Share of POSTs and GETs answered with a 500, a 503 or a reset before anything else happens. */
  faultRate: rateSchema.default(0),
  /** Share of accepted POSTs whose answer is lost after acceptance (a 500 or a reset). */
  lostAnswerRate: rateSchema.default(0),
  /** Share of POSTs and GETs that wait `spikeMs` before they are handled. */
  spikeRate: rateSchema.default(0),
  spikeMs: z
    .number()
    .int()
    .min(0)
    .max(10 * 60_000)
    .default(3000),
  /** Share of GETs answered with a body that is not JSON. */
  junkRate: rateSchema.default(0),
  /** Share of GETs answered with an undocumented status in place of the real one. */
  unknownStatusRate: rateSchema.default(0),
  seed: z.number().int().default(0),
});
export type RandomFaults = z.output<typeof randomFaultsSchema>;

/** A result the sandbox applies when a verification's processing ends. */
export const outcomeSchema = z.strictObject({
  status: statusSchema.nullable(),
  docsMissing: z.array(z.string().min(1)).optional(),
  kycRejectLabel: textSchema.optional(),
  kycEndUserErrorMessage: textSchema.optional(),
});
export type ScriptedOutcome = z.infer<typeof outcomeSchema>;

/** Body of `POST /__sandbox/customers/:id/status`: a change applied now, with a callback as for any change. */
export const statusUpdateSchema = outcomeSchema.extend({ kycProcessingStatus: statusSchema.nullable().optional() });
export type StatusUpdate = z.infer<typeof statusUpdateSchema>;

/** Body of `PUT /__sandbox/customers/:id`. Every field is optional and defaults to the id prefix's scenario. */
export const customerScriptSchema = z.strictObject({
  status: statusSchema.nullable().optional(),
  kycProcessingStatus: statusSchema.nullable().optional(),
  docsMissing: z.array(z.string().min(1)).optional(),
  kycRejectLabel: textSchema.optional(),
  kycEndUserErrorMessage: textSchema.optional(),
  /** Applied one per accepted verification; the last one repeats. */
  outcomes: z.array(outcomeSchema).min(1).optional(),
  postDelayMs: delaySchema.optional(),
  /**
   * While true, every accepted verification request waits before answering (after `postDelayMs`) until the sandbox's
   * `releasePosts` lets the waiting ones go (or this is set false again): a POST in flight for as long as a test needs.
   */
  holdPosts: z.boolean().optional(),
  /** How long every status read takes to answer (a latency spike while set). */
  getDelayMs: delaySchema.optional(),
  /**
   * While true, every status read waits before answering until the sandbox's `releaseReads` lets the waiting ones go
   * (or this is set false again): a test holds a read in flight for as long as it needs, not for a span of time.
   */
  holdReads: z.boolean().optional(),
  processingDelayMs: delaySchema.optional(),
  /** Consumed one per POST, before anything else is checked. */
  postFaults: z.array(z.enum(FAULTS)).optional(),
  /** Consumed one per GET; `ok` answers that GET normally, so that a later one in the list is the faulty one. */
  getFaults: z.array(z.enum([...GET_FAULTS, 'ok'])).optional(),
  /** Consumed one per accepted POST: the verification starts, but the answer is this fault (a lost success). */
  postFaultsAfterAccept: z.array(z.enum(LOST_ANSWER_FAULTS)).optional(),
  /** Faults at random rates, for chaos runs; null turns them off. */
  randomFaults: randomFaultsSchema.nullable().optional(),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
  /**
   * `no-content` answers an accepted POST with 204. `json` answers 200 with `{"success":true,"data":"..."}`: the spec
   * pairs that body with 204, but an HTTP 204 cannot carry a body, so 200 is the closest a client can receive.
   * `refusal` answers 200 with `{"success":false,"errors":[...]}` and starts nothing.
   */
  postResponse: z.enum(['no-content', 'json', 'refusal']).optional(),
  /** Merged into the status API's `data`, to serve fields of undocumented shapes. */
  statusDataOverrides: z.record(z.string(), z.unknown()).optional(),
  callbacks: z.strictObject({ mode: z.enum(CALLBACK_MODES), delayMs: delaySchema.optional() }).optional(),
  /** Overrides the sandbox-wide callback URL for this customer; null restores it. */
  callbackUrl: urlSchema.nullable().optional(),
});
/** A script as callers write it; defaults of nested fields are filled in when it is parsed. */
export type CustomerScript = z.input<typeof customerScriptSchema>;
type ParsedScript = z.output<typeof customerScriptSchema>;

export interface ScenarioTiming {
  processingDelayMs: number;
  slowPostMs: number;
}

/** One customer as the fake vendor holds it. Fault and outcome lists are consumed as requests arrive. */
export interface Customer {
  customerId: string;
  /** The vendor's own id for the customer (`data.id` in the status API). */
  id: string;
  status: string | null;
  kycProcessingStatus: string | null;
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  acceptedVerifications: number;
  outcomes: ScriptedOutcome[];
  postFaults: Fault[];
  getFaults: (Fault | 'ok')[];
  postFaultsAfterAccept: Fault[];
  randomFaults: RandomFaults | null;
  /** How many random draws this customer has made. */
  draws: number;
  postDelayMs: number;
  holdPosts: boolean;
  getDelayMs: number;
  holdReads: boolean;
  processingDelayMs: number;
  retryAfterSeconds: number;
  postResponse: 'no-content' | 'json' | 'refusal';
  statusDataOverrides: Record<string, unknown>;
  callbacks: { mode: CallbackMode; delayMs?: number };
  callbackUrl: string | null;
}

const FULL_USER: ScriptedOutcome = { status: 'FULL_USER' };

/** The scenario an id's prefix selects (see the table in the sandbox docs); unknown prefixes verify. */
function scenarioFor(customerId: string, timing: ScenarioTiming): Required<ParsedScript> {
  const base: Required<ParsedScript> = {
    status: 'PENDING_KYC_DATA',
    kycProcessingStatus: null,
    docsMissing: [],
    kycRejectLabel: null,
    kycEndUserErrorMessage: null,
    outcomes: [FULL_USER],
    postDelayMs: 0,
    holdPosts: false,
    getDelayMs: 0,
    holdReads: false,
    processingDelayMs: timing.processingDelayMs,
    postFaults: [],
    getFaults: [],
    postFaultsAfterAccept: [],
    randomFaults: null,
    retryAfterSeconds: 1,
    postResponse: 'no-content',
    statusDataOverrides: {},
    callbacks: { mode: 'normal' },
    callbackUrl: null,
  };
  const prefix = customerId.slice(0, customerId.indexOf('-') + 1);
  switch (prefix) {
    case 'reject-':
      return {
        ...base,
        outcomes: [
          {
            status: 'HARD_KYC_FAILED',
            kycRejectLabel: 'FORGERY',
            kycEndUserErrorMessage: 'We could not verify your identity. Please contact support.',
          },
        ],
      };
    case 'soft-':
      return {
        ...base,
        outcomes: [
          {
            status: 'SOFT_KYC_FAILED',
            docsMissing: ['SELFIE'],
            kycRejectLabel: 'BAD_SELFIE',
            kycEndUserErrorMessage: 'Your selfie could not be matched to your ID document. Please upload a new selfie.',
          },
          FULL_USER,
        ],
      };
    case 'silent-':
      return { ...base, callbacks: { mode: 'drop' } };
    case 'slow-':
      return { ...base, postDelayMs: timing.slowPostMs };
    case 'flaky-':
      // Only what a client may safely retry: failed reads, and a POST refused with 429 before it was accepted.
      return { ...base, getFaults: ['500', 'reset'], postFaults: ['429'] };
    case 'nouser-':
      return { ...base, status: null };
    default:
      return base;
  }
}

/** Body of `PATCH /__sandbox/customers/:id`: changes how the vendor behaves from now on, keeping the status. */
export const behaviourPatchSchema = customerScriptSchema.omit({
  status: true,
  kycProcessingStatus: true,
  docsMissing: true,
  kycRejectLabel: true,
  kycEndUserErrorMessage: true,
});
export type BehaviourPatch = z.input<typeof behaviourPatchSchema>;

/** A customer from its id's scenario, with the fields that `script` sets taken from the script instead. */
export function createCustomer(customerId: string, script: ParsedScript, timing: ScenarioTiming): Customer {
  const scenario = scenarioFor(customerId, timing);
  // `null` is a meaningful value for several fields, so only `undefined` falls back to the scenario.
  const pick = <K extends keyof ParsedScript>(key: K): Required<ParsedScript>[K] =>
    (script[key] === undefined ? scenario[key] : script[key]) as Required<ParsedScript>[K];
  return {
    customerId,
    id: vendorIdFor(customerId),
    status: pick('status'),
    kycProcessingStatus: pick('kycProcessingStatus'),
    docsMissing: [...pick('docsMissing')],
    kycRejectLabel: pick('kycRejectLabel'),
    kycEndUserErrorMessage: pick('kycEndUserErrorMessage'),
    acceptedVerifications: 0,
    outcomes: [...pick('outcomes')],
    postFaults: [...pick('postFaults')],
    getFaults: [...pick('getFaults')],
    postFaultsAfterAccept: [...pick('postFaultsAfterAccept')],
    randomFaults: structuredClone(pick('randomFaults')),
    draws: 0,
    postDelayMs: pick('postDelayMs'),
    getDelayMs: pick('getDelayMs'),
    holdReads: pick('holdReads'),
    holdPosts: pick('holdPosts'),
    processingDelayMs: pick('processingDelayMs'),
    retryAfterSeconds: pick('retryAfterSeconds'),
    postResponse: pick('postResponse'),
    statusDataOverrides: { ...pick('statusDataOverrides') },
    callbacks: { ...pick('callbacks') },
    callbackUrl: pick('callbackUrl'),
  };
}

/** The outcome of the verification just accepted; a script's last outcome repeats. */
export function nextOutcome(customer: Customer): ScriptedOutcome {
  const index = Math.min(customer.acceptedVerifications, customer.outcomes.length) - 1;
  return customer.outcomes[Math.max(index, 0)] ?? FULL_USER;
}

/** One uniform draw in [0, 1) from the customer's random faults' sequence. */
export function draw(customer: Customer): number {
  const seed = customer.randomFaults?.seed ?? 0;
  const digest = createHash('sha256').update(`${customer.customerId}:${seed}:${customer.draws++}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** Whether an event of probability `rate` happens on this request; no draw is made for a rate of 0. */
export function happens(customer: Customer, rate: number): boolean {
  return rate > 0 && draw(customer) < rate;
}

/** Picks one of `choices` with a draw. */
export function pickOne<T>(customer: Customer, choices: readonly T[]): T {
  return choices[Math.floor(draw(customer) * choices.length)] as T;
}

/** UUID-shaped and stable per customer id, so it survives sandbox restarts as a real vendor id would. */
function vendorIdFor(customerId: string): string {
  const hex = createHash('sha256').update(customerId).digest('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join('-');
}
