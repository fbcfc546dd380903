// `npm run bench [-- --quick]`: the figures of docs/performance.md, measured against the real stack (Temporal dev
// server in memory, sandbox, worker, callback receiver) on free ports. Prints a table and writes bench/results.json.
import { renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { DefaultLogger, Runtime } from '@temporalio/worker';

import { freePort } from '../scripts/lib/ports.js';
import { workerEnvSchema } from '../src/worker.js';
import { EXCLUDED_ACTIONS, measureCost } from './figures/cost.js';
import { measureHeartbeats } from './figures/heartbeats.js';
import { measureIngestion } from './figures/ingestion.js';
import { measureCallbackLatency } from './figures/latency.js';
import { measureScale } from './figures/scale.js';
import { type Bench, startBench, type WorkerSettings } from './harness.js';
import { runInfo } from './machine.js';
import { type Failed, printReport, type Results } from './report.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    /** Also run figure 4 on a fresh stack whose worker caches at most this many workflows. */
    'compare-cache': { type: 'string' },
    /** Only these figures, e.g. `--only 1,3` (figure 2 runs inside figure 4); all by default. */
    only: { type: 'string', default: '1,2,3,4,5' },
    /** Turn the dev server's eager activity dispatch on (`system.enableActivityEagerExecution`), to compare. */
    eager: { type: 'boolean', default: false },
    /** Encrypt every payload (PAYLOAD_ENCRYPTION_KEYS), KYC and floor alike, to measure what encryption costs. */
    encrypt: { type: 'boolean', default: false },
  },
});
const quick = flags.quick;

/** Sizes: quick finishes in a few minutes; full gives percentiles and a population worth the names. */
const SIZES = quick
  ? { latency: 40, ingestion: 300, scale: 1000, waitMs: 5_000, slowPostMs: 30_000 }
  : { latency: 200, ingestion: 2000, scale: 10_000, waitMs: 15_000, slowPostMs: 300_000 };
const DEFAULT_CACHE = workerEnvSchema.shape.WORKER_MAX_CACHED_WORKFLOWS.parse(undefined);
/** The KYC worker's defaults; the floor worker gets the same (a compared cache size applies to both). */
const workerSettings = (maxCachedWorkflows: number): WorkerSettings => ({
  maxCachedWorkflows,
  maxConcurrentWorkflowTaskExecutions: workerEnvSchema.shape.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS.parse(undefined),
  maxConcurrentActivityTaskExecutions: workerEnvSchema.shape.WORKER_MAX_CONCURRENT_ACTIVITIES.parse(undefined),
});
const only = new Set(flags.only.split(',').map((figure) => figure.trim()));
for (const figure of only) {
  if (!['1', '2', '3', '4', '5'].includes(figure)) {
    console.error(`--only: "${figure}" is not a figure (1 to 5)`);
    process.exit(2);
  }
}
const runs = (figure: number) => only.has(String(figure)) || (figure === 4 && only.has('2'));

/** The dev server as the demo runs it; `--eager` adds eager activity dispatch. */
const dynamicConfig: Record<string, boolean> = flags.eager ? { 'system.enableActivityEagerExecution': true } : {};
/**
 * `--compare-cache <n>` runs figure 4 once more on a fresh stack whose worker caches at most n workflows. Off by
 * default: at 10,000 verifications each figure 4 takes about 20 minutes on two cores.
 */
const COMPARED_CACHE = flags['compare-cache'] === undefined ? undefined : Number(flags['compare-cache']);
if (COMPARED_CACHE !== undefined && !(Number.isInteger(COMPARED_CACHE) && COMPARED_CACHE >= 0)) {
  console.error(`--compare-cache: ${flags['compare-cache']} is not a cache size`);
  process.exit(2);
}

// The SDK's INFO lines (worker start and stop) would bury the table. The metrics are the floor worker's.
const floorMetricsPort = await freePort();
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${floorMetricsPort}` } } },
});

const startedAt = Date.now();
const runId = new Date()
  .toISOString()
  .replace(/[-:.TZ]/g, '')
  .slice(0, 14);
const results: Results = {
  run: runInfo(),
  mode: quick ? 'quick' : 'full',
  sizes: SIZES,
  only: [...only].sort(),
  dynamicConfig,
  encrypted: flags.encrypt,
  seconds: 0,
  figures: { scale: [] },
};
/** Figure 4 as every stack runs it; only the cache size (and figure 2, on the main stack) differ. */
const scaleOptions = { count: SIZES.scale, runId, startConcurrency: 16, burstConcurrency: 64, waitMs: SIZES.waitMs };
const open = new Set<Bench>();
process.once(
  'SIGINT',
  () => void Promise.all([...open].map((bench) => bench.close())).finally(() => process.exit(130)),
);

const log = (line: string) => console.log(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0)}s] ${line}`);

log(`${results.mode} run ${runId}: starting the stack`);
const bench = await startBench({
  label: `${runId}-main`,
  floor: workerSettings(DEFAULT_CACHE),
  floorMetricsPort,
  dynamicConfig,
  encrypt: flags.encrypt,
});
open.add(bench);
try {
  // One figure at a time, so that none skews another (figure 5's slow POST used to run beside figure 1).
  if (runs(3)) {
    log('figure 3: cost per verification');
    results.figures.cost = await capture(
      measureCost(bench, { runId }).then((scenarios) => ({ scenarios, excluded: EXCLUDED_ACTIONS })),
    );
  }

  if (runs(1)) {
    log(`figure 1: callback-to-result latency over ${SIZES.latency} verifications`);
    results.figures.latency = await capture(
      measureCallbackLatency(bench, { count: SIZES.latency, concurrency: 8, runId }),
    );
  }

  if (runs(4)) {
    log(`figure 4: ${SIZES.scale} waiting verifications (cache ${DEFAULT_CACHE}), with figure 2 while they wait`);
    results.figures.scale.push(
      await capture(
        measureScale(bench, {
          ...scaleOptions,
          workerMaxCachedWorkflows: DEFAULT_CACHE,
          whileWaiting: async (customerIds) => {
            log(`figure 2: ingestion of ${SIZES.ingestion} callbacks`);
            results.figures.ingestion = await capture(
              measureIngestion(bench, { customerIds: customerIds.slice(0, SIZES.ingestion), concurrency: 32, runId }),
            );
          },
        }),
      ),
    );
  }

  if (runs(5)) {
    log(`figure 5: heartbeats of a ${SIZES.slowPostMs / 1000} s POST`);
    results.figures.heartbeats = await capture(measureHeartbeats(bench, { postDelayMs: SIZES.slowPostMs, runId }));
  }
} finally {
  await bench.close();
  open.delete(bench);
}

if (runs(4) && COMPARED_CACHE !== undefined && COMPARED_CACHE !== DEFAULT_CACHE) {
  log(`figure 4 again on a fresh stack, with WORKER_MAX_CACHED_WORKFLOWS=${COMPARED_CACHE}`);
  const compared = await startBench({
    label: `${runId}-cache${COMPARED_CACHE}`,
    floor: workerSettings(COMPARED_CACHE),
    floorMetricsPort,
    dynamicConfig,
    encrypt: flags.encrypt,
    env: { WORKER_MAX_CACHED_WORKFLOWS: String(COMPARED_CACHE) },
  });
  open.add(compared);
  try {
    results.figures.scale.push(
      await capture(measureScale(compared, { ...scaleOptions, workerMaxCachedWorkflows: COMPARED_CACHE })),
    );
  } finally {
    await compared.close();
    open.delete(compared);
  }
}

results.seconds = Math.round((Date.now() - startedAt) / 1000);
printReport(results);
// Written whole, then renamed, so an interrupted run never leaves half a file behind.
const file = new URL('./results.json', import.meta.url);
const temporary = new URL('./results.tmp.json', import.meta.url);
writeFileSync(temporary, `${JSON.stringify(results, null, 2)}\n`);
renameSync(temporary, file);
log(`wrote bench/results.json`);

/** A figure that fails is recorded as such; the others still count. */
async function capture<T>(promise: Promise<T>): Promise<T | Failed> {
  try {
    return await promise;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`figure failed: ${message}`);
    return { error: message };
  }
}
