// `npm run demo -- --once` as CI runs it: every part started as a child process, every scenario to its outcome.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from '@jest/globals';

import { freePort } from '../scripts/lib/ports.js';
import { testLogDir } from './helpers/logs.js';

const demo = fileURLToPath(new URL('../scripts/demo.ts', import.meta.url));

describe('npm run demo -- --once', () => {
  it('reaches the expected outcome in every scenario and exits 0', async () => {
    const dir = await testLogDir('demo');
    // The sandbox, the receiver and the codec server listen on port 0 and report theirs; the others cannot.
    const flags = ['temporal-port', 'ui-port', 'metrics-port', 'worker-metrics-port'];
    const args = [
      '--import',
      'tsx',
      demo,
      '--once',
      '--db-file',
      join(dir, 'dev.sqlite'),
      '--log-dir',
      join(dir, 'logs'),
    ];
    for (const flag of flags) args.push(`--${flag}`, String(await freePort()));
    for (const flag of ['sandbox-port', 'webhook-port', 'codec-port']) args.push(`--${flag}`, '0');
    const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 240_000 });
    expect(stdout).toContain('Every scenario reached its expected outcome.');
    // What each scenario must end in, kept here rather than read from the demo, whose own expectation could be wrong:
    // the table's row shows the outcome the run returned.
    const expected = {
      approve: 'VERIFIED',
      reject: 'REJECTED',
      'soft, then resubmit': 'VERIFIED',
      'silent (no callback)': 'VERIFIED',
      'slow POST': 'VERIFIED',
      'flaky vendor': 'VERIFIED',
    };
    const outcomes = Object.fromEntries(
      [...stdout.matchAll(/^│ \d+\s+│ '([^']+)'\s+│ '([^']+)'/gm)].map(([, scenario, outcome]) => [scenario, outcome]),
    );
    expect(outcomes).toEqual(expected);
  }, 300_000);

  it('names a busy port in one line and exits non-zero', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    try {
      const args = [
        '--import',
        'tsx',
        demo,
        '--once',
        '--sandbox-port',
        String(port),
        '--temporal-port',
        String(await freePort()),
      ];
      const error = await promisify(execFile)(process.execPath, args).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(error?.code).toBe(1);
      expect(error?.stderr.trim()).toBe(`Sandbox (SANDBOX_PORT): port ${port} on 127.0.0.1 is already in use`);
    } finally {
      server.close();
    }
  });
});
