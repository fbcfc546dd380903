// Identity of one KYC callback delivery. XGateway sends no event id or timestamp, so the content is the identity.
import { createHash } from 'node:crypto';

import type { CallbackClaim } from '../shared/contract.js';

/**
 * The callback fields that define a delivery: whose it is and the status pair it claims. Free text is left out, so
 * variants of one claim count as one (the workflow reads the text from the status API anyway).
 */
export type CallbackContent = CallbackClaim;

/** JSON with object keys sorted at every level, so equal content always hashes equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Short hex SHA-256 of the canonical content: 64 bits, plenty to tell one customer's callbacks apart. */
export function callbackDigest(content: CallbackContent): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16);
}

/**
 * A UUID-shaped signal request id derived from the digest and a time window. Temporal drops a signal whose request
 * id the run has already seen, so repeat deliveries within one window leave a single history event; the window lets
 * an identical but genuinely new callback (e.g. a second SOFT_KYC_FAILED after a resubmission) still wake the run.
 */
export function signalRequestId(digest: string, windowIndex: number): string {
  const hex = createHash('sha256').update(`kyc-callback-signal:${digest}:${windowIndex}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
