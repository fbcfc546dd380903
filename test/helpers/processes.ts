// One of the project's entry points as its own process, the way an operator starts it, with only the given
// environment (no Temporal reachable, metrics off): for the refusals a process makes at start.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { entryArgs } from '../../scripts/lib/entry.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `node <entryArgs>`; resolves with its exit code and stderr, whether it succeeded or not. */
export function runEntry(entry: string, env: Record<string, string>): Promise<{ code?: number; stderr: string }> {
  return promisify(execFile)(process.execPath, entryArgs(entry), {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', TEMPORAL_ADDRESS: '127.0.0.1:1', METRICS_PORT: '0', ...env },
    timeout: 30_000,
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
  );
}
