// The contract is plain JSON and names: the Temporal CLI and another language's SDK drive the worker unaided.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { ensureTemporalCli } from '../scripts/setup.mjs';
import { createKycStack, type KycStack } from './helpers/kyc.js';
import { testAddress } from './helpers/temporal.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
/** A private virtualenv under the git-ignored .tools/, created once; the official Python SDK from PyPI. */
const venv = join(root, '.tools', 'python');
const python = join(venv, 'bin', 'python');

let stack: KycStack;
beforeAll(async () => {
  stack = await createKycStack();
  if (!existsSync(python)) {
    await run('python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', 'temporalio==1.35.0'], { timeout: 300_000 });
  }
}, 360_000);
afterAll(async () => stack.close());

describe('driven from outside TypeScript', () => {
  it('the Temporal CLI starts a verification by type name and reads its JSON result', async () => {
    const customerId = `approve-cli-${Date.now()}`;
    await stack.withKycWorker(async ({ taskQueue }) => {
      const cli = ensureTemporalCli();
      const common = ['--address', testAddress(), '--workflow-id', `kyc-verification-${customerId}`];
      await run(cli, [
        'workflow',
        'start',
        ...common,
        '--type',
        'kycVerificationWorkflow',
        '--task-queue',
        taskQueue,
        '--input',
        JSON.stringify({ customerId, timing: { firstCheckAfter: '1s' } }),
      ]);
      const { stdout } = await run(cli, ['workflow', 'result', ...common, '--output', 'json']);
      expect(JSON.parse(stdout)).toMatchObject({ result: { customerId, outcome: 'VERIFIED', status: 'FULL_USER' } });
    });
  });

  it("Temporal's Python SDK starts one, queries status and gets the result", async () => {
    const customerId = `approve-py-${Date.now()}`;
    await stack.withKycWorker(async ({ taskQueue }) => {
      const script = join(root, 'examples', 'python', 'start_kyc.py');
      const { stdout } = await run(python, [
        script,
        testAddress(),
        taskQueue,
        customerId,
        '{"firstCheckAfter":"1s"}',
      ]).catch((error: { stderr?: string; code?: number | null; signal?: string | null }) => {
        const exit = error.signal ?? `exit ${error.code}`;
        throw new Error(`start_kyc.py failed (${exit}): ${error.stderr || String(error)}`);
      });
      const output = JSON.parse(stdout) as { phaseSeen: string; result: Record<string, unknown> };
      expect(output.phaseSeen).toBe('COMPLETED');
      expect(output.result).toMatchObject({ customerId, outcome: 'VERIFIED', status: 'FULL_USER' });
    });
  });
});
