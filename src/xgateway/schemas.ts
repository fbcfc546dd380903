// zod schemas of what XGateway sends: status API answers, error bodies and KYC callbacks.
import { z } from 'zod';

import { CALLBACK_LIMITS } from '../shared/contract.js';
import { customerIdProblem } from '../shared/verification-input.js';

/**
 * A status API answer. Only `status` and `kycProcessingStatus` are strict: every decision rests on them. The rest of
 * `data` is read field by field (see `readKycStatusData`), so one odd field never stalls a verification.
 */
export const kycStatusResponseSchema = z.looseObject({
  success: z.literal(true),
  data: z.looseObject({
    status: z.string().max(200).nullable(),
    kycProcessingStatus: z.string().max(200).nullish(),
  }),
});

export interface KycStatusDetails {
  docsMissing: string[];
  kycRejectLabel: string | null;
  kycEndUserErrorMessage: string | null;
  /** Fields (or items) that had an undocumented shape and were left out. */
  unreadable: string[];
}

const docItemSchema = z.union([z.string(), z.looseObject({ docType: z.string() })]);
/** A label is documented as a comma-separated string; a list of strings reads as the same. */
const labelSchema = z.union([z.string(), z.array(z.string()).transform((labels) => labels.join(', '))]).nullish();

/** Keeps what can be read of the informative fields, and names what could not. */
export function readKycStatusData(data: Record<string, unknown>): KycStatusDetails {
  const unreadable: string[] = [];
  const docsMissing: string[] = [];
  const docs = data.docsMissing;
  if (Array.isArray(docs)) {
    docs.forEach((item: unknown, index) => {
      const parsed = docItemSchema.safeParse(item);
      if (parsed.success) docsMissing.push(typeof parsed.data === 'string' ? parsed.data : parsed.data.docType);
      else unreadable.push(`docsMissing[${index}]`);
    });
  } else if (docs !== null && docs !== undefined) {
    unreadable.push('docsMissing');
  }
  const text = (field: 'kycRejectLabel' | 'kycEndUserErrorMessage'): string | null => {
    const parsed = labelSchema.safeParse(data[field]);
    if (parsed.success) return parsed.data ?? null;
    unreadable.push(field);
    return null;
  };
  return {
    docsMissing,
    kycRejectLabel: text('kycRejectLabel'),
    kycEndUserErrorMessage: text('kycEndUserErrorMessage'),
    unreadable,
  };
}

export const errorBodySchema = z.looseObject({
  success: z.literal(false),
  errors: z.array(z.looseObject({ code: z.string(), message: z.string() })),
});

/** A 2xx answer that still says no: `success: false`, with or without the documented error list. */
export const refusalBodySchema = errorBodySchema.partial({ errors: true });

/** The one rule for a customer id (`customerIdProblem`), in zod's words. */
const customerIdSchema = z.string().superRefine((value, context) => {
  const problem = customerIdProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem });
});
const limitedText = z
  .string()
  .max(CALLBACK_LIMITS.freeTextChars)
  .nullish()
  .transform((value) => value ?? null);
const docSchema = z.string().max(CALLBACK_LIMITS.docChars);
const claimedStatusSchema = z.string().max(CALLBACK_LIMITS.statusChars);

/**
 * A KYC callback body as XGateway sends it, within `CALLBACK_LIMITS`. The receiver signals only the claimed status
 * pair (`KycCallbackPayload`) and records an unmatched one (`UnmatchedCallbackInput`). Unknown extra fields are
 * tolerated and never forwarded.
 */
export const kycCallbackBodySchema = z.looseObject({
  callbackType: z.literal('kyc'),
  customerId: customerIdSchema,
  status: claimedStatusSchema.nullable(),
  kycProcessingStatus: claimedStatusSchema.nullish().transform((value) => value ?? null),
  /** Documented as `[{"docType":"..."}]`, but the vendor's example sends plain strings: both are accepted. */
  docsMissing: z
    .array(z.union([docSchema, z.looseObject({ docType: docSchema })]))
    .max(CALLBACK_LIMITS.docsMissingItems)
    .nullish()
    .transform((list) => (list ?? []).map((item) => (typeof item === 'string' ? item : item.docType))),
  kycRejectLabel: limitedText,
  kycEndUserErrorMessage: limitedText,
  hash: z.string().min(1).max(512),
});
export type KycCallbackBody = z.input<typeof kycCallbackBodySchema>;
