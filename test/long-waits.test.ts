// Days-long waits on Temporal's time-skipping test server: the 14-day deadline, the 7-day resubmission window, a vendor
// outage across the deadline, and a long run that continues as new. The sandbox and the receiver are real as ever.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TestWorkflowEnvironment } from '@temporalio/testing';

import { statusQuery } from '../src/shared/contract.js';
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

  it('continues as new through a 5-day run of checks, keeping its one POST and its deadline', async () => {
    const customerId = newCustomerId('silent');
    stack.sandbox.scriptCustomer(customerId, silent({ processingDelayMs: 60 * 60_000 }));
    await stack.withKycWorker(async ({ start }) => {
      // A check every 10 minutes for 5 days: about 720 checks and 5,800 events, over the server's 4,096.
      const timing = { firstCheckAfter: '10m', maxCheckInterval: '10m', deadline: '5d' };
      const handle = await start({ customerId, timing });
      const first = await handle.query(statusQuery);
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'TIMED_OUT', attempts: 1, startedAt: first.startedAt });
      expect(elapsed(result)).toBeGreaterThanOrEqual(5 * DAY);
      const description = await stack.client.workflow.getHandle(handle.workflowId).describe();
      expect(description.runId).not.toBe(handle.firstExecutionRunId);
      const posts = stack.sandbox.requestLog(customerId).requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
    });
  });
});
