// The contract is plain JSON and names: the Temporal CLI and another language's SDK drive the worker unaided.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { ensureTemporalCli } from '../scripts/setup.mjs';
import { createKycStack, type KycStack } from './helpers/kyc.js';
import { testAddress } from './helpers/temporal.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
/**
 * A private virtualenv under the git-ignored .tools/, with the example's pinned requirements from PyPI (the official
 * Python SDK, and `cryptography` for its codec); installed again only when the requirements change.
 */
const venv = join(root, '.tools', 'python');
const python = join(venv, 'bin', 'python');
const requirements = join(root, 'examples', 'python', 'requirements.txt');
const installed = join(venv, 'installed-requirements.txt');

let stack: KycStack;
beforeAll(async () => {
  stack = await createKycStack();
  if (!existsSync(python)) await run('python3', ['-m', 'venv', venv]);
  const wanted = readFileSync(requirements, 'utf8');
  if (!existsSync(installed) || readFileSync(installed, 'utf8') !== wanted) {
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '-r', requirements], { timeout: 300_000 });
    writeFileSync(installed, wanted);
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

  const startKycPy = async (taskQueue: string, customerId: string, env: Record<string, string> = {}) => {
    const script = join(root, 'examples', 'python', 'start_kyc.py');
    const { stdout } = await run(python, [script, testAddress(), taskQueue, customerId, '{"firstCheckAfter":"1s"}'], {
      env: { ...process.env, ...env },
    }).catch((error: { stderr?: string; code?: number | null; signal?: string | null }) => {
      const exit = error.signal ?? `exit ${error.code}`;
      throw new Error(`start_kyc.py failed (${exit}): ${error.stderr || String(error)}`);
    });
    return JSON.parse(stdout) as { phaseSeen: string; result: Record<string, unknown> };
  };

  it("Temporal's Python SDK starts one, queries status and gets the result", async () => {
    const customerId = `approve-py-${Date.now()}`;
    await stack.withKycWorker(async ({ taskQueue }) => {
      const output = await startKycPy(taskQueue, customerId);
      expect(output.phaseSeen).toBe('COMPLETED');
      expect(output.result).toMatchObject({ customerId, outcome: 'VERIFIED', status: 'FULL_USER' });
    });
  });

  it('the Python example encrypts with the worker’s keys, and reads its encrypted answers', async () => {
    const customerId = `approve-py-enc-${Date.now()}`;
    const key = { id: 'py', bytes: new Uint8Array(randomBytes(32)) };
    const keys = `${key.id}:${Buffer.from(key.bytes).toString('base64')}`;
    await stack.withKycWorker(
      async ({ taskQueue }) => {
        const output = await startKycPy(taskQueue, customerId, { PAYLOAD_ENCRYPTION_KEYS: keys });
        expect(output.result).toMatchObject({ customerId, outcome: 'VERIFIED', status: 'FULL_USER' });
      },
      { encryptionKeys: [key] },
    );
    const history = await stack.client.workflow.getHandle(`kyc-verification-${customerId}`).fetchHistory();
    const [started] = history.events ?? [];
    const [input] = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    // Python sealed the input; the TypeScript worker opened it.
    expect(new TextDecoder().decode(input?.metadata?.['encryption-key-id'])).toBe('py');
    expect(new TextDecoder().decode(input?.metadata?.encoding)).toBe('binary/encrypted');
  });
});
