// Test-only workflows for the callback receiver: a recorder in place of the verification workflow, and a finished one.
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';

import { type KycCallbackPayload, kycCallbackSignal } from '../../src/shared/contract.js';

export const receivedCallbacksQuery = defineQuery<KycCallbackPayload[]>('receivedCallbacks');
export const finishSignal = defineSignal('finish');
/** Signals are delivered in order, so once a barrier is seen every earlier signal is in the history. */
export const barrierSignal = defineSignal<[string]>('barrier');
export const barriersQuery = defineQuery<string[]>('barriers');

/** Records every `kycCallback` signal, exactly as delivered, until `finish`. */
export async function callbackRecorderWorkflow(): Promise<KycCallbackPayload[]> {
  const received: KycCallbackPayload[] = [];
  let finished = false;
  setHandler(kycCallbackSignal, (payload) => void received.push(payload));
  const barriers: string[] = [];
  setHandler(receivedCallbacksQuery, () => received);
  setHandler(barrierSignal, (token) => void barriers.push(token));
  setHandler(barriersQuery, () => barriers);
  setHandler(finishSignal, () => void (finished = true));
  await condition(() => finished);
  return received;
}

/** A verification that already ended with `result`, so the receiver can read its status. */
export async function completedVerificationWorkflow(result: {
  status: string | null;
}): Promise<{ status: string | null }> {
  return result;
}

// The real record of unmatched callbacks, hosted next to the recorder so that one worker runs both.
export { kycUnmatchedCallbackWorkflow } from '../../src/workflows/index.js';
