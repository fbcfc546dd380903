// zod schemas of what XGateway sends: status API answers, error bodies and KYC callbacks.
import { z } from 'zod';

const nullableText = z
  .string()
  .nullish()
  .transform((value) => value ?? null);

/** Documented as `[{"docType":"..."}]`, but the vendor's example sends plain strings: accept both, or null. */
export const docsMissingSchema = z
  .array(z.union([z.string(), z.looseObject({ docType: z.string() })]))
  .nullish()
  .transform((list) => (list ?? []).map((item) => (typeof item === 'string' ? item : item.docType)));

export const kycStatusDataSchema = z.looseObject({
  id: z.string().nullish(),
  status: z.string().nullable(),
  kycProcessingStatus: nullableText,
  docsMissing: docsMissingSchema,
  kycRejectLabel: nullableText,
  kycEndUserErrorMessage: nullableText,
});

export const kycStatusResponseSchema = z.looseObject({ success: z.literal(true), data: kycStatusDataSchema });

export const errorBodySchema = z.looseObject({
  success: z.literal(false),
  errors: z.array(z.looseObject({ code: z.string(), message: z.string() })),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** A KYC callback body. Unknown extra fields are tolerated; the known ones must have the documented types. */
export const kycCallbackBodySchema = z.looseObject({
  callbackType: z.literal('kyc'),
  customerId: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s/\\]+$/, 'must not contain whitespace or slashes'),
  status: z.string().max(100).nullable(),
  kycProcessingStatus: nullableText,
  docsMissing: docsMissingSchema,
  kycRejectLabel: nullableText,
  kycEndUserErrorMessage: nullableText,
  hash: z.string().min(1).max(512),
});
export type KycCallbackBody = z.input<typeof kycCallbackBodySchema>;
