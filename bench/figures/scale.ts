// Figure 4: many verifications waiting on one worker, then every callback at once. Measures the worker's resident
// memory while they wait and after the burst, how fast they start, and how long the burst takes to drain.
import { performance } from 'node:perf_hooks';

import { verificationWorkflowId, WORKFLOW_TYPE } from '../../src/shared/contract.js';
import { floorWithActivityWorkflow } from '../floor-workflows.js';
import {
  type Bench,
  metricSum,
  postCallback,
  rssMiB,
  runPool,
  setVendorStatus,
  sleep,
  waitFor,
  workerMetrics,
  workerPid,
} from '../harness.js';
import { round } from '../stats.js';
import { signalFloor } from './floor.js';
import { scriptWaitingCustomer, startScriptedVerification } from './open-verifications.js';

type Phase = 'starting' | 'waiting' | 'burst' | 'after';

interface PhasePeaks {
  rssMiB: number;
  cachedWorkflows: number;
  workflowSlotsUsed: number;
  activitySlotsUsed: number;
}

export interface ScaleFigure {
  label: string;
  workerMaxCachedWorkflows: number;
  count: number;
  workerCommand: string;
  start: {
    concurrency: number;
    /** Starts the server accepted per second. */
    perSecond: number;
    /** Verifications per second brought all the way to AWAITING_RESULT (POST sent, timer set). */
    settledPerSecond: number;
    settledSeconds: number;
    /** Floor workflows per second brought to their wait, each after one no-op activity; same count and concurrency. */
    floorSettledPerSecond: number;
    /** settledPerSecond / floorSettledPerSecond; the target is at least 0.5. */
    ratio: number;
  };
  rssMiB: {
    idle: number;
    peakStarting: number;
    peakWaiting: number;
    peakBurst: number;
    afterBurst: number;
    /** The maximum over every phase; the target is at most 512. */
    peak: number;
  };
  /** Peaks per phase, sampled every second: RSS, cached workflows and busy task slots of the worker. */
  peaks: Partial<Record<Phase, PhasePeaks>>;
  burst: {
    concurrency: number;
    callbacksPerSecond: number;
    /** From the first callback POST until the last of the verifications completed. */
    drainSeconds: number;
    completionsPerSecond: number;
    /** Waiting floor workflows, each completed by one signal: same count, worker settings and concurrency. */
    floorCompletionsPerSecond: number;
    /** completionsPerSecond / floorCompletionsPerSecond; the target is at least 0.5. */
    ratio: number;
    retries: number;
  };
  /** Why the floor could not be measured, if it could not (its fields are then null). */
  floorError?: string;
  /** Verifications visibility reports completed with KycStatus FULL_USER: must equal `count`. */
  completed: number;
  /** Every 10 s: seconds since the figure began, phase, RSS and cached workflows. */
  timeline: [number, Phase, number, number][];
}

export interface ScaleOptions {
  count: number;
  runId: string;
  workerMaxCachedWorkflows: number;
  startConcurrency: number;
  burstConcurrency: number;
  /** How long the population just waits, for a steady-state memory reading. */
  waitMs: number;
  /** Runs while the population waits (figure 2 uses these open workflows). */
  whileWaiting?: (customerIds: string[]) => Promise<void>;
}

export async function measureScale(bench: Bench, options: ScaleOptions): Promise<ScaleFigure> {
  const { count, runId } = options;
  const { pid, cmdline } = workerPid(bench);
  const queue = { task_queue: bench.taskQueue, workflow_type: WORKFLOW_TYPE };
  const metric = async (name: string) => metricSum(await workerMetrics(bench), name, queue);
  const customerIds = Array.from({ length: count }, (_, i) => `scale-${runId}-${i}`);
  const idle = rssMiB(pid);
  const sampler = createWorkerSampler(bench, pid);
  try {
    // The sandbox's set-up is not part of a start: done first, untimed, as the floor has none.
    await runPool(customerIds, 32, (id) => scriptWaitingCustomer(bench, id));
    sampler.phase('starting');
    const tasksBefore = await metric(TASKS);
    const startedAt = performance.now();
    await runPool(customerIds, options.startConcurrency, (id) => startScriptedVerification(bench, id));
    const startSeconds = (performance.now() - startedAt) / 1000;
    // Each verification runs two workflow tasks to reach AWAITING_RESULT: schedule the POST, then set the timer.
    await untilAtLeast('every verification to reach AWAITING_RESULT', metric, TASKS, tasksBefore + 2 * count);
    const settledSeconds = (performance.now() - startedAt) / 1000;

    sampler.phase('waiting');
    await sleep(options.waitMs);
    await options.whileWaiting?.(customerIds);

    // The vendor decides for everyone while callbacks are dropped; then the bench delivers them all at once.
    await runPool(customerIds, 32, (id) =>
      setVendorStatus(bench, id, { status: 'FULL_USER', kycProcessingStatus: null }),
    );
    sampler.phase('burst');
    const completedBefore = await metric(COMPLETED);
    const burstStartedAt = performance.now();
    const deliveries = await runPool(customerIds, options.burstConcurrency, (id) =>
      postCallback(bench, id, 'FULL_USER'),
    );
    const postSeconds = (performance.now() - burstStartedAt) / 1000;
    await untilAtLeast('every verification to complete', metric, COMPLETED, completedBefore + count);
    const drainSeconds = (performance.now() - burstStartedAt) / 1000;
    sampler.phase('after');
    // A few seconds for the worker to settle, so "after" is a resting reading rather than the burst's tail.
    await sleep(5000);
    const afterBurst = rssMiB(pid);

    // Visibility is the independent check that the right workflows completed, and as VERIFIED.
    const prefix = verificationWorkflowId(`scale-${runId}-`);
    const { count: completed } = await bench.client.workflow.count(
      `WorkflowId STARTS_WITH '${prefix}' AND ExecutionStatus = 'Completed' AND KycStatus = 'FULL_USER'`,
    );
    const peaks = sampler.peaks();
    sampler.stop();
    // The floor runs alone, after the verifications have all completed, so neither shares the CPU with the other. A
    // floor that fails leaves its ratios empty (null in results.json), not the figure.
    const floor = await measureFloor(bench, options).catch((error: unknown) => ({
      settledPerSecond: Number.NaN,
      completionsPerSecond: Number.NaN,
      error: error instanceof Error ? error.message : String(error),
    }));
    const startRate = count / settledSeconds;
    const completionRate = count / drainSeconds;
    return {
      label: bench.label,
      workerMaxCachedWorkflows: options.workerMaxCachedWorkflows,
      count,
      workerCommand: cmdline,
      start: {
        concurrency: options.startConcurrency,
        perSecond: round(count / startSeconds),
        settledPerSecond: round(startRate),
        settledSeconds: round(settledSeconds),
        floorSettledPerSecond: round(floor.settledPerSecond),
        ratio: round(startRate / floor.settledPerSecond, 2),
      },
      rssMiB: {
        idle: round(idle),
        peakStarting: peaks.starting?.rssMiB ?? Number.NaN,
        peakWaiting: peaks.waiting?.rssMiB ?? Number.NaN,
        peakBurst: peaks.burst?.rssMiB ?? Number.NaN,
        afterBurst: round(afterBurst),
        peak: Math.max(...Object.values(peaks).map((peak) => peak.rssMiB)),
      },
      peaks,
      burst: {
        concurrency: options.burstConcurrency,
        callbacksPerSecond: round(count / postSeconds),
        drainSeconds: round(drainSeconds),
        completionsPerSecond: round(completionRate),
        floorCompletionsPerSecond: round(floor.completionsPerSecond),
        ratio: round(completionRate / floor.completionsPerSecond, 2),
        retries: deliveries.reduce((sum, delivery) => sum + delivery.retries, 0),
      },
      ...('error' in floor ? { floorError: floor.error } : {}),
      completed,
      timeline: sampler.timeline,
    };
  } finally {
    sampler.stop();
  }
}

/** The worker's counters that time figure 4: workflow tasks run, and workflows completed. */
const TASKS = 'temporal_workflow_task_execution_latency_count';
const COMPLETED = 'temporal_workflow_completed';

/**
 * Waits until the worker's counter `name` reaches `target`: completions every 100 ms, as they time the burst; tasks
 * every 250 ms, so that scraping the worker weighs less on the starts. A 10,000 run takes minutes: a generous limit.
 */
function untilAtLeast(what: string, metric: (name: string) => Promise<number>, name: string, target: number) {
  return waitFor(what, async () => ((await metric(name)) >= target ? true : undefined), {
    intervalMs: name === COMPLETED ? 100 : 250,
    timeoutMs: 30 * 60_000,
  });
}

/**
 * The floor of figure 4 on the in-process floor worker (the KYC worker's settings): `count` workflows started at the
 * same concurrency, each running one no-op activity and then waiting, as a verification runs its request and waits;
 * then one signal each, at the burst's concurrency. Timed as the verifications are, from the worker's own metrics.
 */
async function measureFloor(bench: Bench, options: ScaleOptions) {
  const { count, runId } = options;
  const metric = async (name: string) =>
    metricSum(await bench.floorMetrics(), name, { task_queue: bench.floorTaskQueue });
  const tasksBefore = await metric(TASKS);
  const startedAt = performance.now();
  const handles = await runPool(
    Array.from({ length: count }, (_, i) => `floor-scale-${runId}-${i}`),
    options.startConcurrency,
    (workflowId) =>
      bench.client.workflow.start(floorWithActivityWorkflow, { workflowId, taskQueue: bench.floorTaskQueue }),
  );
  // Two workflow tasks each: schedule the activity, then wait for the signal.
  await untilAtLeast('every floor workflow to run its activity', metric, TASKS, tasksBefore + 2 * count);
  const settledSeconds = (performance.now() - startedAt) / 1000;
  const completedBefore = await metric(COMPLETED);
  const burstStartedAt = performance.now();
  await runPool(handles, options.burstConcurrency, signalFloor);
  await untilAtLeast('every floor workflow to complete', metric, COMPLETED, completedBefore + count);
  const drainSeconds = (performance.now() - burstStartedAt) / 1000;
  return { settledPerSecond: count / settledSeconds, completionsPerSecond: count / drainSeconds };
}

/** Reads the worker's RSS and metrics every second and keeps each phase's peaks, plus a coarse timeline. */
function createWorkerSampler(bench: Bench, pid: number) {
  const peaks: Partial<Record<Phase, PhasePeaks>> = {};
  const timeline: [number, Phase, number, number][] = [];
  const startedAt = performance.now();
  let current: Phase = 'starting';
  let ticks = 0;
  const sample = async () => {
    const phase = current;
    const rss = round(rssMiB(pid));
    const text = await workerMetrics(bench).catch(() => '');
    const slots = (type: string) =>
      metricSum(text, 'temporal_worker_task_slots_used', { task_queue: bench.taskQueue, worker_type: type });
    const reading: PhasePeaks = {
      rssMiB: rss,
      cachedWorkflows: metricSum(text, 'temporal_sticky_cache_size', { task_queue: bench.taskQueue }),
      workflowSlotsUsed: slots('WorkflowWorker'),
      activitySlotsUsed: slots('ActivityWorker'),
    };
    const peak = (peaks[phase] ??= { rssMiB: 0, cachedWorkflows: 0, workflowSlotsUsed: 0, activitySlotsUsed: 0 });
    for (const key of Object.keys(reading) as (keyof PhasePeaks)[]) peak[key] = Math.max(peak[key], reading[key]);
    if (ticks++ % 10 === 0) {
      timeline.push([Math.round((performance.now() - startedAt) / 1000), phase, rss, reading.cachedWorkflows]);
    }
  };
  const timer = setInterval(() => void sample().catch(() => undefined), 1000);
  return {
    /** Closes the current phase with a last reading, then opens the next. */
    phase(name: Phase) {
      void sample().catch(() => undefined);
      current = name;
    },
    peaks: () => peaks,
    timeline,
    stop: () => clearInterval(timer),
  };
}
