// The builds of a test run: the workflow bundles, and the sources compiled for the processes that tests start. Jest's
// global setup makes each once (`buildTestBundles`) and every test file loads them by path: webpack takes seconds of
// CPU per bundle, and the suite's files all need the same few.
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from 'esbuild';

import { bundleWorkflows } from '../../scripts/bundle-workflows.js';
import { COMPILED_SOURCES_VARIABLE } from '../../scripts/lib/entry.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export const BUNDLES = {
  /** The code production runs: for the replay test, and for the workers of whole stacks run as processes. */
  production: 'production.js',
  /** The same workflows with test/workflows/fast-retry-timing.ts in place of the production pauses between tries. */
  fastRetries: 'fast-retries.js',
  /** The receiver tests' recorder workflows (test/workflows/webhook-workflows.ts). */
  webhook: 'webhook.js',
} as const;

/** Where the run's bundles are: set by the global setup, inherited by every test worker and child process. */
const DIR_VARIABLE = 'KYC_TEST_BUNDLE_DIR';

/** A bundle of this run, for `Worker.create({ workflowBundle })` and `Worker.runReplayHistories`. */
export function testBundle(name: keyof typeof BUNDLES): { codePath: string } {
  const dir = process.env[DIR_VARIABLE];
  if (!dir) throw new Error(`${DIR_VARIABLE} is unset: run the tests through jest (npm test)`);
  return { codePath: join(dir, BUNDLES[name]) };
}

/** For webpack's report of every module, which says nothing a test needs. */
export const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Builds every bundle into `dir` and points this process (and so its children) at them; for the global setup. */
export async function buildTestBundles(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await bundleWorkflows(join(dir, BUNDLES.production));
  // The same workflows, webpack resolving the production timing file to the test's.
  const production = here('../../src/workflows/retry-timing.ts');
  const fast = here('../workflows/fast-retry-timing.ts');
  await bundleWorkflows(join(dir, BUNDLES.fastRetries), {
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, alias: { ...config.resolve?.alias, [production]: fast } },
    }),
  });
  const webhook = await bundleWorkflowCode({
    workflowsPath: here('../workflows/webhook-workflows.ts'),
    logger: quietLogger,
  });
  writeFileSync(join(dir, BUNDLES.webhook), webhook.code);
  process.env[DIR_VARIABLE] = dir;
  // Stacks of processes (scripts/lib/stack.ts) hand a bundle made ahead to their workers instead of making one.
  process.env.STACK_WORKFLOW_BUNDLE_PATH = join(dir, BUNDLES.production);
  await compileSources(join(dir, 'compiled'));
}

/**
 * `src/` transformed file by file with esbuild, as tsx would transform it, into `dir/src`, for the entry points that
 * tests start as processes (scripts/lib/entry.ts). Beside it, the project's module type and its `node_modules`.
 */
async function compileSources(dir: string): Promise<void> {
  const src = here('../../src');
  const entryPoints = readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(src, file));
  await build({
    entryPoints,
    outbase: src,
    outdir: join(dir, 'src'),
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node}`,
    logLevel: 'error',
  });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(here('../../node_modules'), join(dir, 'node_modules'), 'dir');
  process.env[COMPILED_SOURCES_VARIABLE] = dir;
}
