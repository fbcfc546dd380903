import { createHash, timingSafeEqual } from 'node:crypto';

/** hash = base64(SHA-512("<customerId>.<secretKey>")), as XGateway documents it. */
export function computeCallbackHash(customerId: string, secretKey: string): string {
  return createHash('sha512').update(`${customerId}.${secretKey}`).digest('base64');
}

/**
 * Constant-time check against every accepted secret (current and previous, for rotation).
 * The hash covers only the customer id: a match proves the sender knows a secret, not that the status is true.
 */
export function verifyCallbackHash(customerId: string, hash: string, secretKeys: readonly string[]): boolean {
  const received = Buffer.from(hash);
  let matched = false;
  for (const secretKey of secretKeys) {
    const expected = Buffer.from(computeCallbackHash(customerId, secretKey));
    // Every key is compared, so timing does not tell which one matched.
    if (expected.length === received.length && timingSafeEqual(expected, received)) matched = true;
  }
  return matched;
}
