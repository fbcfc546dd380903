// The vendor's documented refusals of the verification POST (400, 401, 403), a missing applicant, and a cancel that
// reaches the vendor: each against the real dev server, the sandbox over HTTP and the real receiver.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { statusQuery } from '../src/shared/contract.js';
import { approving, newCustomerId, softThenVerified, withoutApplicant } from './fixtures/customers.js';
import { failureOf } from './helpers/failures.js';
import {
  CALLBACK_ONLY,
  createKycStack,
  eventually,
  historyTexts,
  type KycStack,
  resubmit,
  vendorRequests,
  waitForPhase,
} from './helpers/kyc.js';

let stack: KycStack;
beforeAll(async () => void (stack = await createKycStack()));
afterAll(async () => stack.close());

/** Each POST the sandbox received for the customer, as [fault, HTTP status, accepted]. */
const posts = (customerId: string) =>
  vendorRequests(stack.sandbox, customerId, 'POST').map((r) => [r.fault, r.statusCode, r.accepted ?? null]);

describe('refusals of the verification request', () => {
  it('fails a first start refused with 400 db_violation, sending the POST once', async () => {
    const customerId = newCustomerId('refused-400');
    stack.sandbox.scriptCustomer(customerId, approving({ postFaults: ['400'] }));
    await stack.withKycWorker(async ({ start }) => {
      const failure = await failureOf((await start({ customerId, timing: CALLBACK_ONLY })).result());
      expect(failure.type).toBe('XGatewayRequestRejectedError');
      expect(failure.message).toMatch(/HTTP 400 \(db_violation: /);
      // The run is closed, so this count is final: the refusal was never sent again.
      expect(posts(customerId)).toEqual([['400', 400, false]]);
      expect(stack.sandbox.customer(customerId)).toMatchObject({
        status: 'PENDING_KYC_DATA',
        kycProcessingStatus: null,
      });
    });
  });

  it('goes back to AWAITING_RESUBMISSION when a resubmission is refused with 400, then verifies on the next', async () => {
    const customerId = newCustomerId('refused-resubmit');
    stack.sandbox.scriptCustomer(customerId, softThenVerified());
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      stack.sandbox.patchCustomer(customerId, { postFaults: ['400'] });
      expect(await resubmit(handle)).toEqual({ resubmission: 1 });
      // Wait for the refusal itself: the phase alone was already AWAITING_RESUBMISSION before the resubmit.
      const refused = await eventually(async () => {
        const state = await handle.query(statusQuery);
        return state.phase === 'AWAITING_RESUBMISSION' && state.lastError ? state : undefined;
      }, 'the refused resubmission');
      expect(refused.lastError).toMatch(/^Resubmission refused: .*HTTP 400 \(db_violation: /);
      expect(refused.status).toBe('SOFT_KYC_FAILED');

      expect(await resubmit(handle)).toEqual({ resubmission: 2 });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', resubmissions: 2, attempts: 3 });
      expect(posts(customerId)).toEqual([
        [null, 204, true],
        ['400', 400, false],
        [null, 204, true],
      ]);
    });
  });

  it('fails with XGatewayUnauthorizedError when the POST itself is answered 401, never showing the key', async () => {
    const customerId = newCustomerId('refused-401');
    stack.sandbox.scriptCustomer(customerId, approving({ postFaults: ['401'] }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      const failure = await failureOf(handle.result());
      expect(failure.type).toBe('XGatewayUnauthorizedError');
      expect(failure.message).toMatch(/verification request failed with HTTP 401 \(unauthorized: /);
      // The status read before it passed with the same key: the refusal is the POST's, not the first GET's.
      expect(vendorRequests(stack.sandbox, customerId, 'GET').map((r) => r.statusCode)).toEqual([200]);
      expect(posts(customerId)).toEqual([['401', 401, false]]);
      const texts = (await historyTexts(await handle.fetchHistory())).join('\n');
      expect(texts).toContain('HTTP 401');
      expect(texts).not.toContain(stack.keys.apiKey);
    });
  });

  it('fails with XGatewayUnauthorizedError when the POST is answered 403: a forbidden key does not fix itself', async () => {
    const customerId = newCustomerId('refused-403');
    stack.sandbox.scriptCustomer(customerId, approving({ postFaults: ['403'] }));
    await stack.withKycWorker(async ({ start }) => {
      const failure = await failureOf((await start({ customerId, timing: CALLBACK_ONLY })).result());
      expect(failure.type).toBe('XGatewayUnauthorizedError');
      expect(failure.message).toMatch(/HTTP 403 \(forbidden: /);
      expect(posts(customerId)).toEqual([['403', 403, false]]);
    });
  });

  it('fails with KycPreconditionError, sending no POST, when the customer has no applicant yet (CREATED)', async () => {
    const customerId = newCustomerId('no-applicant');
    stack.sandbox.scriptCustomer(customerId, withoutApplicant());
    await stack.withKycWorker(async ({ start }) => {
      const failure = await failureOf((await start({ customerId, timing: CALLBACK_ONLY })).result());
      expect(failure.type).toBe('KycPreconditionError');
      expect(failure.message).toMatch(/no KYC applicant yet \(status CREATED\)/);
      // One read decided it: a missing precondition is not retried.
      expect(vendorRequests(stack.sandbox, customerId, 'GET')).toHaveLength(1);
      expect(posts(customerId)).toEqual([]);
    });
  });
});

describe('cancellation', () => {
  it('reaches the vendor: the hanging POST is disconnected and the run is CANCELLED', async () => {
    const customerId = newCustomerId('cancel-post');
    // The sandbox accepts the verification, then holds its answer for ten minutes: only a disconnect ends it.
    stack.sandbox.scriptCustomer(customerId, approving({ postDelayMs: 10 * 60_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: CALLBACK_ONLY });
      await eventually(async () => (posts(customerId).length === 1 ? true : undefined), 'the POST');
      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED' });
      const [post] = await eventually(async () => {
        const sent = vendorRequests(stack.sandbox, customerId, 'POST');
        return sent[0]?.error ? sent : undefined;
      }, "the sandbox's record of the disconnect");
      // Accepted on arrival, as a slow vendor would; the cancel left it without an answer, and nothing was resent.
      expect(post).toMatchObject({ accepted: true, statusCode: null, error: 'client disconnected' });
      expect(posts(customerId)).toHaveLength(1);
    });
  });
});
