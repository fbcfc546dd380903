// Figure 1: from the moment XGateway's callback is POSTed to the receiver until the caller's `result()` resolves,
// against the floor of a bare signal to a workflow that completes on it.
import { performance } from 'node:perf_hooks';

import { type Bench, postCallback, runPool, setVendorStatus } from '../harness.js';
import { type LatencySummary, round, summarize } from '../stats.js';
import { openFloorWorkflows, signalFloor } from './floor.js';
import { openWaitingVerifications } from './open-verifications.js';

export interface LatencyFigure {
  count: number;
  concurrency: number;
  kyc: LatencySummary;
  floor: LatencySummary;
  /** kyc.p99 / floor.p99; the target is at most 2. */
  p99Ratio: number;
  p50Ratio: number;
}

export async function measureCallbackLatency(
  bench: Bench,
  { count, concurrency, runId }: { count: number; concurrency: number; runId: string },
): Promise<LatencyFigure> {
  const ids = Array.from({ length: count }, (_, i) => `lat-${runId}-${i}`);
  // Set-up first, all of it, so that starting verifications never competes with the measured callbacks.
  const handles = await openWaitingVerifications(bench, ids, 16);
  await runPool(ids, 16, (id) => setVendorStatus(bench, id, { status: 'FULL_USER', kycProcessingStatus: null }));

  const kycSamples = await runPool(handles, concurrency, async (handle, i) => {
    const result = handle.result();
    const startedAt = performance.now();
    const delivery = await postCallback(bench, ids[i] as string, 'FULL_USER');
    const { outcome } = await result;
    const elapsed = performance.now() - startedAt;
    if (delivery.outcome !== 'signalled' || outcome !== 'VERIFIED') {
      throw new Error(`${handle.workflowId}: callback ${delivery.outcome}, outcome ${outcome}`);
    }
    return elapsed;
  });

  const floors = await openFloorWorkflows(
    bench,
    ids.map((id) => `floor-${id}`),
    16,
  );
  const floorSamples = await runPool(floors, concurrency, async (handle) => {
    const result = handle.result();
    const startedAt = performance.now();
    await signalFloor(handle);
    await result;
    return performance.now() - startedAt;
  });

  const kyc = summarize(kycSamples);
  const floor = summarize(floorSamples);
  return {
    count,
    concurrency,
    kyc,
    floor,
    p99Ratio: round(kyc.p99 / floor.p99, 2),
    p50Ratio: round(kyc.p50 / floor.p50, 2),
  };
}
