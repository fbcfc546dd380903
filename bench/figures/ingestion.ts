// Figure 2: how many callbacks per second the receiver turns into signals, against raw `handle.signal()` calls from
// one client at the same count and concurrency.
//
// The callbacks claim KYC_PENDING (waiting for data: no request running), the status each waiting workflow already
// confirmed. The receiver does its whole job (hash, parse, signal) while each workflow runs one signal-only task, as
// a floor workflow does on its signal. (KYC_PENDING *with* VERIFICATION_IN_PROGRESS would not do: the receiver
// answers that progress report with a describe instead of a signal.)
import { performance } from 'node:perf_hooks';

import { WORKFLOW_TYPE } from '../../src/shared/contract.js';
import { type Bench, metricSum, postCallback, runPool, waitFor, workerMetrics } from '../harness.js';
import { round } from '../stats.js';
import { openFloorWorkflows, signalFloor } from './floor.js';

export interface IngestionFigure {
  count: number;
  concurrency: number;
  receiverPerSecond: number;
  floorPerSecond: number;
  /** receiver / floor; the target is at least 0.8. */
  ratio: number;
  /** 5xx answers retried during the run (0 expected). */
  retries: number;
}

export async function measureIngestion(
  bench: Bench,
  { customerIds, concurrency, runId }: { customerIds: readonly string[]; concurrency: number; runId: string },
): Promise<IngestionFigure> {
  const count = customerIds.length;
  const floors = await openFloorWorkflows(
    bench,
    customerIds.map((_, i) => `floor-ingest-${runId}-${i}`),
    32,
  );

  const queue = { task_queue: bench.taskQueue, workflow_type: WORKFLOW_TYPE };
  const workflowTasks = async () =>
    metricSum(await workerMetrics(bench), 'temporal_workflow_task_execution_latency_count', queue);
  const tasksBefore = await workflowTasks();

  const receiverStart = performance.now();
  const deliveries = await runPool(customerIds, concurrency, (id) => postCallback(bench, id, 'KYC_PENDING'));
  const receiverSeconds = (performance.now() - receiverStart) / 1000;
  const unsignalled = deliveries.filter((delivery) => delivery.outcome !== 'signalled').length;
  if (unsignalled > 0) throw new Error(`${unsignalled} ingestion callbacks were not signalled`);

  // The worker is still running the signals' tasks (replays, for evicted workflows). Measuring the floor while it
  // does would hand the floor a CPU the receiver never had to share, so its backlog drains first.
  await waitFor(
    'the KYC worker to run every signalled task',
    async () => ((await workflowTasks()) >= tasksBefore + count ? true : undefined),
    { intervalMs: 250, timeoutMs: 30 * 60_000 },
  );

  const floorStart = performance.now();
  await runPool(floors, concurrency, signalFloor);
  const floorSeconds = (performance.now() - floorStart) / 1000;
  await runPool(floors, concurrency, (handle) => handle.result());

  const receiverPerSecond = count / receiverSeconds;
  const floorPerSecond = count / floorSeconds;
  return {
    count,
    concurrency,
    receiverPerSecond: round(receiverPerSecond),
    floorPerSecond: round(floorPerSecond),
    ratio: round(receiverPerSecond / floorPerSecond, 2),
    retries: deliveries.reduce((sum, delivery) => sum + delivery.retries, 0),
  };
}
