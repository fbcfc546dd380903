import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';

import { workflowsPath } from './helpers/kyc.js';
import { installQuietRuntime } from './helpers/temporal.js';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));

async function loadHistories(dir = historiesDir) {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      name: file,
      history: historyFromJSON(JSON.parse(await readFile(dir + file, 'utf8'))),
    })),
  );
}

beforeAll(installQuietRuntime);

describe('replay of committed histories', () => {
  it('has histories of the main paths', async () => {
    const names = (await loadHistories()).map((h) => h.name);
    expect(names).toEqual(['approve-via-callback.json', 'silent-fallback.json', 'soft-then-resubmit.json']);
  });

  it('replays every committed history with the current workflow code', async () => {
    for (const { name, history } of await loadHistories()) {
      await expect(Worker.runReplayHistory({ workflowsPath }, history, name)).resolves.toBeUndefined();
    }
  });

  it('detects a non-deterministic change', async () => {
    const [first] = await loadHistories();
    if (!first) throw new Error('no committed history');
    const changed = fileURLToPath(new URL('./workflows/nondeterministic-kyc.ts', import.meta.url));
    await expect(Worker.runReplayHistory({ workflowsPath: changed }, first.history)).rejects.toMatchObject({
      name: 'DeterminismViolationError',
    });
  });
});

describe('replay across a patch', () => {
  // - An undocumented status, then PENDING_KYC_DATA: recorded by the code before patched('defer-unsent-request') (the
  //   run waited for a resubmit) and after it (the run sent its deferred request itself).
  // - The approve path after patched('callback-check-local-activity'): the callback's check is a local activity.
  //   Before it, a remote one: ../approve-via-callback.json, replayed above.
  // All must replay.
  it('replays the history from before the patch and the one from after it', async () => {
    const histories = await loadHistories(`${historiesDir}patches/`);
    expect(histories.map((h) => h.name)).toEqual([
      'callback-check-local-activity-after.json',
      'defer-unsent-request-after.json',
      'defer-unsent-request-before.json',
    ]);
    for (const { name, history } of histories) {
      await expect(Worker.runReplayHistory({ workflowsPath }, history, name)).resolves.toBeUndefined();
    }
  });
});
