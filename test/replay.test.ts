import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from '@jest/globals';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';

import { workflowsPath } from './helpers/kyc.js';
import { installQuietRuntime } from './helpers/temporal.js';

const historiesDir = fileURLToPath(new URL('./histories/', import.meta.url));

async function loadHistories() {
  const files = (await readdir(historiesDir)).filter((file) => file.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      name: file,
      history: historyFromJSON(JSON.parse(await readFile(historiesDir + file, 'utf8'))),
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
