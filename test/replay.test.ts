// Every verification open at a deploy replays its history on the new code. test/histories/<version>/ keeps the
// histories recorded at each release (`npm run record-histories`); all of them must replay on the current code.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type WorkflowBundleOption } from '@temporalio/worker';

import { failureConverterPath } from '../src/codec/data-converter.js';
import { quietLogger, testBundle } from './helpers/bundle.js';
import { installQuietRuntime } from './helpers/temporal.js';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));
const packageJson = fileURLToPath(new URL('../package.json', import.meta.url));

interface Recorded {
  name: string;
  workflowType: string;
  history: temporal.api.history.v1.IHistory;
}

async function loadHistories(dir: string): Promise<Recorded[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const history = historyFromJSON(JSON.parse(await readFile(dir + file, 'utf8')));
      const workflowType = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
      return { name: `${dir.slice(historiesDir.length)}${file}`, workflowType, history };
    }),
  );
}

/** The released sets, `test/histories/<version>/`, oldest first. */
async function releases(): Promise<string[]> {
  const entries = await readdir(historiesDir, { withFileTypes: true });
  const versions = entries.filter((e) => e.isDirectory() && /^\d+\.\d+\.\d+$/.test(e.name)).map((e) => e.name);
  const key = (version: string) =>
    version
      .split('.')
      .map((part) => part.padStart(6, '0'))
      .join('.');
  return versions.sort((a, b) => key(a).localeCompare(key(b)));
}

async function releasedHistories(): Promise<Recorded[]> {
  return (await Promise.all((await releases()).map((v) => loadHistories(`${historiesDir}${v}/`)))).flat();
}

/** Replays `histories` on one bundle; returns each failure as `name: error name`. */
async function replayFailures(workflowBundle: WorkflowBundleOption, histories: Recorded[]): Promise<string[]> {
  const byId = new Map(histories.map((h, index) => [`replay-${index}`, h.name]));
  const failures: string[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle },
    histories.map((h, index) => ({ workflowId: `replay-${index}`, history: h.history })),
  );
  for await (const result of results) {
    if (result.error) failures.push(`${byId.get(result.workflowId)}: ${result.error.name}`);
  }
  return failures.sort();
}

beforeAll(installQuietRuntime);

describe('replay of every released history', () => {
  it('has the histories of every path for the current release', async () => {
    const { version } = JSON.parse(await readFile(packageJson, 'utf8')) as { version: string };
    expect(await releases()).toContain(version);
    expect((await loadHistories(`${historiesDir}${version}/`)).map((h) => h.name)).toEqual(
      [
        'approve',
        'cancel',
        'continue-as-new-first-run',
        'continue-as-new-next-run',
        'reject',
        'silent',
        'soft-then-resubmit',
        'timed-out',
        'unmatched-callback',
      ].map((name) => `${version}/${name}.json`),
    );
  });

  it('replays every released history, and every patch history, with the current workflow code', async () => {
    const histories = [...(await releasedHistories()), ...(await loadHistories(`${historiesDir}patches/`))];
    expect(histories.length).toBeGreaterThanOrEqual(15);
    expect(await replayFailures(testBundle('production'), histories)).toEqual([]);
  });

  it('fails every verification history on a deliberately incompatible change', async () => {
    const changed = fileURLToPath(new URL('./workflows/nondeterministic-kyc.ts', import.meta.url));
    const histories = (await releasedHistories()).filter((h) => h.workflowType === 'kycVerificationWorkflow');
    expect(histories.length).toBeGreaterThanOrEqual(11);
    const { code } = await bundleWorkflowCode({ workflowsPath: changed, failureConverterPath, logger: quietLogger });
    expect(await replayFailures({ code }, histories)).toEqual(
      histories.map((h) => `${h.name}: DeterminismViolationError`).sort(),
    );
  });
});

describe('replay across a patch', () => {
  // test/histories/patches/ keeps, for each patched() change, the histories that show both sides:
  // - An undocumented status, then PENDING_KYC_DATA: recorded by the code before patched('defer-unsent-request') (the
  //   run waited for a resubmit) and after it (the run sent its deferred request itself).
  // - The approve path after patched('callback-check-local-activity'): the callback's check is a local activity.
  //   Before it, a remote one: ../0.1.0/approve-via-callback.json.
  // The test above replays all of them.
  it('keeps both sides of every patch', async () => {
    expect((await loadHistories(`${historiesDir}patches/`)).map((h) => h.name)).toEqual([
      'patches/callback-check-local-activity-after.json',
      'patches/defer-unsent-request-after.json',
      'patches/defer-unsent-request-before.json',
    ]);
    expect((await loadHistories(`${historiesDir}0.1.0/`)).map((h) => h.name)).toContain(
      '0.1.0/approve-via-callback.json',
    );
  });
});
