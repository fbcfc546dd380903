// Floor workflows on the in-process floor worker: the same server, the same run, nothing of the KYC path.
import type { WorkflowHandle } from '@temporalio/client';

import type { KycCallbackPayload } from '../../src/shared/contract.js';
import { floorSignal, type floorWorkflow } from '../floor-workflows.js';
import { type Bench, runPool, waitFor } from '../harness.js';

export type FloorHandle = WorkflowHandle<typeof floorWorkflow>;

/** The signal's argument: the same object the receiver signals with. */
export const floorPayload = (): KycCallbackPayload => ({
  status: 'FULL_USER',
  kycProcessingStatus: null,
  receivedAt: new Date().toISOString(),
});

/**
 * Starts floor workflows and waits until each has run its first workflow task, as the KYC workflows have before
 * their callback: a signal to a workflow that has not yet run would ride along with its first task and look cheaper.
 */
export async function openFloorWorkflows(bench: Bench, ids: readonly string[], concurrency: number) {
  const handles = await runPool(ids, concurrency, (workflowId) =>
    bench.client.workflow.start<typeof floorWorkflow>('floorWorkflow', {
      workflowId,
      taskQueue: bench.floorTaskQueue,
    }),
  );
  await runPool(handles, concurrency, (handle) =>
    waitFor(`${handle.workflowId} to run its first task`, async () => {
      // WorkflowExecutionStarted, WorkflowTaskScheduled, -Started, -Completed.
      return (await handle.describe()).historyLength >= 4 ? true : undefined;
    }),
  );
  return handles;
}

export function signalFloor(handle: WorkflowHandle): Promise<void> {
  return handle.signal(floorSignal, floorPayload());
}
