// `npm run chaos [-- --quick] [-- --only 3,5] [-- --seed N]`: the scenarios of docs/reliability.md, each on its own
// real stack, faults injected into the real processes. Prints a table and writes bench/chaos-results.json.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { runInfo } from '../machine.js';
import { type ChaosScenario, SCENARIOS, type Sizes } from './scenarios.js';
import {
  measure,
  type ScenarioFigures,
  startMerchant,
  startVerifications,
  type Verification,
  waitUntilClosed,
} from './verifications.js';
import { startWorld } from './world.js';

const root = join(import.meta.dirname, '..', '..');

export interface ChaosOptions {
  quick: boolean;
  seed: number;
  logDir: string;
  log?: (line: string) => void;
  /** In place of the mode's own sizes and count, e.g. the test's smaller run. */
  sizes?: Partial<Omit<Sizes, 'quick'>>;
  verifications?: number;
}

/** Runs one scenario on a fresh stack and judges every verification it started. */
export async function runScenario(scenario: ChaosScenario, options: ChaosOptions): Promise<ScenarioFigures> {
  const log = options.log ?? (() => undefined);
  const sizes: Sizes = {
    quick: options.quick,
    receiverDownMs: options.quick ? 20_000 : 60_000,
    serverDownMs: options.quick ? 3_000 : 10_000,
    slowPostMs: 20_000,
    ...options.sizes,
  };
  // Long enough for the slowest recovery (a heartbeat timeout, then a resubmission), short enough to end a stuck run.
  const deadlineMs = (options.quick ? 5 : 15) * 60_000;
  const slug = scenario.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  const world = await startWorld({
    name: slug,
    workers: scenario.workers,
    logDir: options.logDir,
    random: seededRandom(options.seed),
    log: (line) => log(`[${scenario.name}] ${line}`),
  });
  const runId = `${options.seed}-${Date.now().toString(36)}`;
  const count = options.verifications ?? (options.quick ? scenario.verifications.quick : scenario.verifications.full);
  const list: Verification[] = Array.from({ length: count }, (_, index) => {
    const kind = scenario.kind(index, world, sizes);
    return { customerId: `${kind.prefix}chaos-${index}-${runId}`, kind };
  });
  const startedAt = Date.now();
  const merchant = startMerchant(world, list);
  const injection = scenario.inject(world, sizes).then(
    () => undefined,
    (error: unknown) => `injection failed: ${String(error)}`,
  );
  try {
    await startVerifications(world, list, deadlineMs);
    const injectionError = await injection;
    await waitUntilClosed(world, Date.now() + deadlineMs + 30_000);
    await merchant.stop();
    const figures = await measure(world, scenario.name, list, {
      injected: world.injected,
      needlessWaits: merchant.needlessWaits,
      seconds: (Date.now() - startedAt) / 1000,
    });
    if (injectionError) figures.problems.unshift(injectionError);
    for (const fault of scenario.forbiddenVendorFaults ?? []) {
      if (figures.vendor[fault])
        figures.problems.unshift(`${figures.vendor[fault]} × ${fault}, which must not happen here`);
    }
    return figures;
  } finally {
    // Nothing may restart a process after the stack stopped: the injection and the merchant end first.
    await injection;
    await merchant.stop();
    await world.close();
  }
}

/** mulberry32: a small seeded generator, so the moments of injected faults can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function printTable(scenarios: ScenarioFigures[]): void {
  console.table(
    scenarios.map((s, index) => ({
      '#': index + 1,
      scenario: s.name,
      started: s.started,
      completed: s.completed,
      lost: s.lost,
      stuck: s.stuck,
      'double POSTs': s.doublePosts,
      'POSTs while running': s.postsWhileRunning,
      'needless waits': s.needlessWaits,
      'wrong outcomes': s.wrongOutcomes,
      'p50 / p99 s': `${(s.timeToResultMs.p50 / 1000).toFixed(1)} / ${(s.timeToResultMs.p99 / 1000).toFixed(1)}`,
      'actions / verification': `${s.actionsPerVerification.mean} (max ${s.actionsPerVerification.max})`,
      injected: Object.entries(s.injected)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', '),
    })),
  );
  for (const s of scenarios) {
    const vendor = Object.entries(s.vendor).map(([kind, n]) => `${kind} ${n}`);
    if (vendor.length) console.log(`  ${s.name}, the sandbox's faults: ${vendor.join(', ')}`);
    for (const problem of s.problems) console.log(`  ${s.name}: ${problem}`);
  }
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    },
  });
  const seed = Number(flags.seed);
  if (!Number.isInteger(seed)) throw new Error(`--seed: ${flags.seed} is not an integer`);
  const only = flags.only?.split(',').map(Number);
  if (only?.some((n) => !Number.isInteger(n) || n < 1 || n > SCENARIOS.length)) {
    throw new Error(`--only: ${flags.only} is not a list of scenario numbers from 1 to ${SCENARIOS.length}`);
  }
  const chosen = SCENARIOS.filter((_, index) => !only || only.includes(index + 1));
  const mode = flags.quick ? 'quick' : 'full';
  const logDir = join(root, '.temporal', 'chaos-logs');
  console.log(`Chaos, ${mode} run, seed ${seed}: ${chosen.length} scenario(s); each process's log in ${logDir}`);

  const startedAt = Date.now();
  const scenarios: ScenarioFigures[] = [];
  for (const scenario of chosen) {
    console.log(`▶ ${scenario.name}`);
    const figures = await runScenario(scenario, {
      quick: flags.quick,
      seed,
      logDir,
      log: (line) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${line}`),
    });
    console.log(`  done in ${figures.seconds} s: ${figures.completed}/${figures.started} completed as expected`);
    scenarios.push(figures);
  }
  printTable(scenarios);

  const results = { run: runInfo(), mode, seed, seconds: Math.round((Date.now() - startedAt) / 1000), scenarios };
  const file = join(root, 'bench', 'chaos-results.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  console.log(`Wrote ${file}`);
  // Every figure that must be 0 shows up in `problems`, and so do injections that failed.
  const failing = scenarios.filter((s) => s.problems.length > 0);
  process.exitCode = failing.length ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
