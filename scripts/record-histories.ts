// `npm run record-histories`: records the histories of this release of the workflow code into
// test/histories/<version>/ (the version in package.json). test/replay.test.ts replays every released set against the
// current code, so a change that would break a verification still open at deploy time fails CI. A released set never
// changes: bump the version before recording a new one.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';

import { resubmitUpdate } from '../src/shared/contract.js';
import { signedCallback } from '../test/fixtures/callbacks.js';
import { approving, newCustomerId, rejecting, silent, softThenVerified } from '../test/fixtures/customers.js';
import { CALLBACK_ONLY, createKycStack, eventually, type KycStack, waitForPhase } from '../test/helpers/kyc.js';
import { bundleWorkflows } from './bundle-workflows.js';

const root = join(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const dir = join(root, 'test', 'histories', version);

/** A scenario runs one verification to its end and returns the runs to keep, by file name. */
type Scenario = (stack: KycStack) => Promise<Record<string, WorkflowHandle>>;

/** Vendor answers that never come within a recording: the run stays waiting. */
const NEVER = 600_000;

const scenarios: Record<string, Scenario> = {
  approve: (stack) => run(stack, approving(), CALLBACK_ONLY),
  reject: (stack) => run(stack, rejecting(), CALLBACK_ONLY),
  silent: (stack) => run(stack, silent(), { firstCheckAfter: '2s' }),
  'soft-then-resubmit': (stack) =>
    run(stack, softThenVerified(), CALLBACK_ONLY, async (handle) => {
      await waitForPhase(handle, 'AWAITING_RESUBMISSION');
      await handle.executeUpdate(resubmitUpdate);
    }),
  cancel: (stack) =>
    run(stack, approving({ processingDelayMs: NEVER }), CALLBACK_ONLY, async (handle) => {
      await waitForPhase(handle, 'AWAITING_RESULT');
      await handle.cancel();
    }),
  'timed-out': (stack) =>
    run(stack, silent({ processingDelayMs: NEVER }), {
      firstCheckAfter: '1s',
      maxCheckInterval: '2s',
      deadline: '6s',
    }),
  'unmatched-callback': async (stack) => {
    const customerId = newCustomerId('unmatched');
    stack.sandbox.scriptCustomer(customerId, { status: 'FULL_USER' });
    const response = await fetch(stack.receiverUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signedCallback(customerId, stack.keys.secretKey, { status: 'HARD_KYC_FAILED' })),
    });
    const answer = (await response.json()) as { outcome?: string; workflowId?: string };
    if (!response.ok || answer.outcome !== 'unmatched' || !answer.workflowId) {
      throw new Error(`the receiver did not record the callback: ${response.status} ${JSON.stringify(answer)}`);
    }
    const { workflowId } = answer;
    const handle = stack.client.workflow.getHandle(workflowId);
    await stack.withKycWorker(() => handle.result(), { taskQueue: stack.unmatchedTaskQueue });
    return { 'unmatched-callback': handle };
  },
};

/** Needs a server of its own, which suggests continuing as new after a few dozen events. */
const continueAsNew: Scenario = async (stack) => {
  const customerId = newCustomerId('continue-as-new');
  stack.sandbox.scriptCustomer(customerId, silent({ processingDelayMs: NEVER }));
  return stack.withKycWorker(async ({ start }) => {
    // A check a second, about eight events each: the server suggests the hand-over within seconds.
    const timing = { firstCheckAfter: '1s', maxCheckInterval: '1s', deadline: '30m' };
    const first = await start({ customerId, timing });
    const latest = stack.client.workflow.getHandle(first.workflowId);
    const next = await eventually(async () => {
      const { runId } = await latest.describe();
      return runId !== first.firstExecutionRunId ? runId : undefined;
    }, 'the hand-over to a new run');
    const nextRun = stack.client.workflow.getHandle(first.workflowId, next);
    await waitForPhase(nextRun, 'AWAITING_RESULT');
    await nextRun.cancel();
    await nextRun.result();
    return {
      'continue-as-new-first-run': stack.client.workflow.getHandle(first.workflowId, first.firstExecutionRunId),
      'continue-as-new-next-run': nextRun,
    };
  });
};

async function run(
  stack: KycStack,
  script: Parameters<KycStack['sandbox']['scriptCustomer']>[1],
  timing: Record<string, string>,
  drive: (handle: WorkflowHandle) => Promise<void> = async () => undefined,
): Promise<Record<string, WorkflowHandle>> {
  const customerId = newCustomerId('release');
  stack.sandbox.scriptCustomer(customerId, script);
  return stack.withKycWorker(async ({ start }) => {
    const handle = await start({ customerId, timing });
    await drive(handle);
    await handle.result();
    return { handle };
  });
}

/** The production bundle (tests run theirs with shorter pauses between tries), made once. */
const bundleDir = mkdtempSync(join(tmpdir(), 'kyc-record-histories-'));
process.once('exit', () => rmSync(bundleDir, { recursive: true, force: true }));
const bundle = bundleWorkflows(join(bundleDir, 'workflow-bundle.js'));

/** A dev server of its own with the whole KYC stack on it, running the production bundle, for `fn`. */
async function withStack<T>(dynamicConfig: Record<string, number>, fn: (stack: KycStack) => Promise<T>): Promise<T> {
  const stack = await createKycStack({ devServer: { dynamicConfig }, workflowBundle: { codePath: await bundle } });
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

if (existsSync(dir)) {
  console.error(`test/histories/${version} exists, and a released set never changes: bump "version" in package.json`);
  process.exit(1);
}
// Recorded aside, then renamed into place: a recording cut short never looks like a released set.
const partial = join(root, 'test', 'histories', `.${version}.partial`);
rmSync(partial, { recursive: true, force: true });
mkdirSync(partial, { recursive: true });
try {
  const write = async (name: string, runs: Record<string, WorkflowHandle>) => {
    for (const [file, handle] of Object.entries(runs)) {
      const fileName = `${file === 'handle' ? name : file}.json`;
      const json = JSON.stringify(JSON.parse(historyToJSON(await handle.fetchHistory())), null, 2);
      writeFileSync(join(partial, fileName), `${json}\n`);
      console.log(`test/histories/${version}/${fileName}`);
    }
  };
  await withStack({}, async (stack) => {
    for (const [name, scenario] of Object.entries(scenarios)) await write(name, await scenario(stack));
  });
  await withStack({ 'limit.historyCount.suggestContinueAsNew': 40 }, async (stack) =>
    write('continue-as-new', await continueAsNew(stack)),
  );
  renameSync(partial, dir);
} catch (error) {
  rmSync(partial, { recursive: true, force: true });
  throw error;
}
