// The verification workflow with mocked activities on the real dev server, as the money-transfer template tests its
// workflow: every vendor answer is scripted here, so each case shows one decision of the workflow and nothing else.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';

import type { KycActivities, StartVerificationResult } from '../src/activities/index.js';
import { startKycVerification } from '../src/client.js';
import { kycCallbackSignal, REQUEST_OUTCOME_UNKNOWN, resubmitUpdate, statusQuery } from '../src/shared/contract.js';
import type { KycSnapshot } from '../src/shared/kyc-status.js';
import { testBundle } from './helpers/bundle.js';
import { eventually, waitForPhase } from './helpers/kyc.js';
import { connectTestTemporal, type TemporalTestContext, uniqueTaskQueue } from './helpers/temporal.js';

let temporal: TemporalTestContext;
beforeAll(async () => void (temporal = await connectTestTemporal()));
afterAll(async () => temporal.close());

const reading = (status: string | null, kycProcessingStatus: string | null = null): KycSnapshot => ({
  status,
  kycProcessingStatus,
  docsMissing: [],
  kycRejectLabel: null,
  kycEndUserErrorMessage: null,
  checkedAt: new Date().toISOString(),
});
const started = (status = 'KYC_PENDING'): StartVerificationResult => ({
  outcome: 'STARTED',
  snapshot: reading(status, status === 'KYC_PENDING' ? 'VERIFICATION_IN_PROGRESS' : null),
});

/** Runs `fn` with a worker whose activities answer from the given scripts, and counts their calls. */
async function withMockedActivities<T>(
  script: {
    startVerification: () => Promise<StartVerificationResult>;
    checkStatus: () => Promise<KycSnapshot>;
  },
  fn: (ctx: {
    start: (customerId: string) => ReturnType<typeof startKycVerification>;
    calls: Record<string, number>;
  }) => Promise<T>,
): Promise<T> {
  const calls = { startVerification: 0, checkStatus: 0 };
  const activities: KycActivities = {
    startVerification: async () => (calls.startVerification++, script.startVerification()),
    checkStatus: async () => (calls.checkStatus++, script.checkStatus()),
  };
  const taskQueue = uniqueTaskQueue('mocked');
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue,
    workflowBundle: testBundle('fastRetries'),
    activities,
  });
  const start = (customerId: string) =>
    startKycVerification(temporal.client, { customerId, timing: { firstCheckAfter: '10m' } }, { taskQueue });
  return worker.runUntil(fn({ start, calls }));
}

let counter = 0;
const newCustomerId = () => `mocked-${process.pid}-${Date.now()}-${++counter}`;

describe('kycVerificationWorkflow with mocked activities', () => {
  it('confirms a callback through one status read and completes VERIFIED', async () => {
    const script = { startVerification: async () => started(), checkStatus: async () => reading('FULL_USER') };
    await withMockedActivities(script, async ({ start, calls }) => {
      const handle = await start(newCustomerId());
      await waitForPhase(handle, 'AWAITING_RESULT');
      await handle.signal(kycCallbackSignal, { status: 'FULL_USER', kycProcessingStatus: null });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', status: 'FULL_USER', attempts: 1 });
      expect(calls).toEqual({ startVerification: 1, checkStatus: 1 });
    });
  });

  it('sends a request that provably never left again, after a pause', async () => {
    let failures = 1;
    const script = {
      startVerification: async () => {
        if (failures-- > 0) {
          throw ApplicationFailure.create({
            type: 'XGatewayNotReachedError',
            message: 'connect ECONNREFUSED',
            details: [{ requestSent: false, httpStatus: null, vendorCode: null, retryAfterMs: null }],
          });
        }
        return started('FULL_USER');
      },
      checkStatus: async () => reading('FULL_USER'),
    };
    await withMockedActivities(script, async ({ start, calls }) => {
      const handle = await start(newCustomerId());
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1 });
      expect(calls.startVerification).toBe(2);
    });
  });

  it('never sends again a request whose outcome is unknown; it waits for the merchant', async () => {
    const script = {
      startVerification: async () => {
        throw ApplicationFailure.create({
          type: REQUEST_OUTCOME_UNKNOWN,
          message: 'answer lost',
          nonRetryable: true,
          details: [{ requestSent: 'unknown', httpStatus: 502, vendorCode: null, retryAfterMs: null }],
        });
      },
      checkStatus: async () => reading('SOFT_KYC_FAILED'),
    };
    await withMockedActivities(script, async ({ start, calls }) => {
      const handle = await start(newCustomerId());
      const state = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'AWAITING_RESUBMISSION' && s.lastError ? s : undefined;
      }, 'the unknown outcome');
      expect(state.lastError).toMatch(/^Outcome unknown: answer lost/);
      expect(calls).toEqual({ startVerification: 1, checkStatus: 1 });
      await handle.cancel();
      expect(await handle.result()).toMatchObject({ outcome: 'CANCELLED' });
      expect(calls.startVerification).toBe(1);
    });
  });

  it('goes back to waiting for a resubmission when the vendor refuses one', async () => {
    let requests = 0;
    const script = {
      startVerification: async () => {
        requests += 1;
        if (requests === 1) return started('SOFT_KYC_FAILED');
        throw ApplicationFailure.create({
          type: 'XGatewayRequestRejectedError',
          message: 'db_violation: documents missing',
          nonRetryable: true,
          details: [{ requestSent: false, httpStatus: 400, vendorCode: 'db_violation', retryAfterMs: null }],
        });
      },
      checkStatus: async () => reading('SOFT_KYC_FAILED'),
    };
    await withMockedActivities(script, async ({ start }) => {
      const handle = await start(newCustomerId());
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      await handle.executeUpdate(resubmitUpdate);
      const state = await eventually(async () => {
        const s = await handle.query(statusQuery);
        return s.phase === 'AWAITING_RESUBMISSION' && s.attempts === 2 ? s : undefined;
      }, 'the refused resubmission');
      expect(state.lastError).toMatch(/^Resubmission refused: db_violation: documents missing/);
      await handle.cancel();
    });
  });
});
