// Verifications parked in AWAITING_RESULT with the vendor's callbacks dropped: only a callback the bench itself
// POSTs can wake them, and the 1-hour first check keeps the fallback out of every measurement.
import type { WorkflowHandle } from '@temporalio/client';

import { startKycVerification } from '../../src/client.js';
import { statusQuery } from '../../src/shared/contract.js';
import type { kycVerificationWorkflow } from '../../src/workflows/index.js';
import { type Bench, runPool, scriptCustomer, waitFor } from '../harness.js';

export type KycHandle = WorkflowHandle<typeof kycVerificationWorkflow>;

/** Longest processing the sandbox accepts: the scripted outcome never arrives on its own during a run. */
const NEVER_MS = 60 * 60_000;
export const WAITING_TIMING = { firstCheckAfter: '1h' } as const;

/** Scripts the customer to stay in processing with callbacks dropped. */
export function scriptWaitingCustomer(bench: Bench, customerId: string): Promise<unknown> {
  return scriptCustomer(bench, customerId, { callbacks: { mode: 'drop' }, processingDelayMs: NEVER_MS });
}

/** Starts the verification of a customer `scriptWaitingCustomer` scripted. */
export function startScriptedVerification(bench: Bench, customerId: string): Promise<KycHandle> {
  return startKycVerification(bench.client, { customerId, timing: WAITING_TIMING }, { taskQueue: bench.taskQueue });
}

/** Scripts the customer to stay in processing with callbacks dropped, then starts its verification. */
export async function startWaitingVerification(bench: Bench, customerId: string): Promise<KycHandle> {
  await scriptWaitingCustomer(bench, customerId);
  return startScriptedVerification(bench, customerId);
}

export async function awaitPhase(handle: KycHandle, phase: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${handle.workflowId} to reach ${phase}`,
    async () => ((await handle.query(statusQuery)).phase === phase ? true : undefined),
    { intervalMs: 100, timeoutMs },
  );
}

/** Starts `customerIds` and resolves once every one of them is waiting for its result. */
export async function openWaitingVerifications(
  bench: Bench,
  customerIds: readonly string[],
  concurrency: number,
): Promise<KycHandle[]> {
  return runPool(customerIds, concurrency, async (customerId) => {
    const handle = await startWaitingVerification(bench, customerId);
    await awaitPhase(handle, 'AWAITING_RESULT');
    return handle;
  });
}
