// Days-long waits on Temporal's time-skipping test server: the 14-day deadline, the 7-day resubmission window, and a
// vendor outage across the deadline. The sandbox and the receiver are real as ever. A deadline that passes in a run
// continued as new is in continue-as-new.test.ts, on a dev server that suggests the hand-over after a few events.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

import { newCustomerId, silent, softThenVerified } from './fixtures/customers.js';
import { createKycStack, type KycStack, waitForPhase } from './helpers/kyc.js';
import { createTimeSkippingEnvironment } from './helpers/time-skipping.js';

const DAY = 24 * 60 * 60_000;

let env: TestWorkflowEnvironment;
let stack: KycStack;
beforeAll(async () => {
  env = await createTimeSkippingEnvironment();
  const { client, nativeConnection } = env;
  stack = await createKycStack({ temporal: { client, nativeConnection, close: async () => undefined } });
});
afterAll(async () => {
  await stack?.close();
  await env?.teardown();
});

const elapsed = (result: { startedAt: string; completedAt: string }) =>
  Date.parse(result.completedAt) - Date.parse(result.startedAt);

describe('long waits, skipped', () => {
  it('gives TIMED_OUT after the default 14-day deadline when the vendor never decides', async () => {
    const customerId = newCustomerId('silent');
    stack.sandbox.scriptCustomer(customerId, silent({ processingDelayMs: 60 * 60_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const result = await (await start({ customerId })).result();
      expect(result).toMatchObject({ outcome: 'TIMED_OUT', status: 'KYC_PENDING', attempts: 1 });
      expect(elapsed(result)).toBeGreaterThanOrEqual(14 * DAY);
    });
  });

  it('gives NEEDS_DATA when the default 7-day resubmission window passes', async () => {
    const customerId = newCustomerId('soft');
    stack.sandbox.scriptCustomer(customerId, softThenVerified({ callbacks: { mode: 'drop' } }));
    await stack.withKycWorker(async ({ start }) => {
      const result = await (await start({ customerId })).result();
      expect(result).toMatchObject({ outcome: 'NEEDS_DATA', status: 'SOFT_KYC_FAILED', resubmissions: 0 });
      expect(elapsed(result)).toBeGreaterThanOrEqual(7 * DAY);
      expect(elapsed(result)).toBeLessThan(8 * DAY);
    });
  });

  it('gives TIMED_OUT, not a vendor failure, when an outage outlasts the deadline', async () => {
    const customerId = newCustomerId('silent');
    stack.sandbox.scriptCustomer(customerId, silent({ processingDelayMs: 60 * 60_000 }));
    await stack.withKycWorker(async ({ start }) => {
      const handle = await start({ customerId, timing: { deadline: '2h' } });
      await waitForPhase(handle, 'AWAITING_RESULT');
      stack.sandbox.patchCustomer(customerId, { getFaults: Array(1_000).fill('503') });
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'TIMED_OUT', status: 'KYC_PENDING' });
      const failedReads = stack.sandbox.requestLog(customerId).requests.filter((r) => r.fault === '503');
      expect(failedReads.length).toBeGreaterThan(1);
    });
  });
});
