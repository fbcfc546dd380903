// A long verification continues as new when the server suggests it, carrying its state, deadline and counters.
// A dev server of its own suggests it after a few dozen events, so the hand-over happens on real timers in seconds.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';

import { ensureTemporalCli } from '../scripts/setup.mjs';
import { kycCallbackSignal, statusQuery, verificationWorkflowId } from '../src/shared/contract.js';
import { createKycStack, eventually, type KycStack } from './helpers/kyc.js';

let stack: KycStack;

beforeAll(async () => {
  stack = await createKycStack({ devServer: { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } } });
});

afterAll(async () => stack.close());

describe('continue-as-new', () => {
  it('hands a long run over to a new one that keeps its state, its deadline and its single POST', async () => {
    const customerId = `silent-can-${process.pid}-${Date.now()}`;
    stack.sandbox.scriptCustomer(customerId, { processingDelayMs: 600_000 });
    await stack.withKycWorker(async ({ start }) => {
      // A check every second: about eight events each, so the server suggests a hand-over within seconds.
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '1s', deadline: '30m' },
      });
      const first = await handle.query(statusQuery);
      const latest = client().workflow.getHandle(verificationWorkflowId(customerId));
      await eventually(
        async () => ((await latest.describe()).runId !== handle.firstExecutionRunId ? true : undefined),
        'the hand-over to a new run',
      );

      // Signals by workflow id reach the new run, and queries read the carried state there.
      await latest.signal(kycCallbackSignal, { customerId, status: 'KYC_PENDING', kycProcessingStatus: null });
      const carried = await eventually(async () => {
        const state = await latest.query(statusQuery);
        return state.callbacksReceived === 1 ? state : undefined;
      }, 'the signal in the new run');
      expect(carried).toMatchObject({
        attempts: 1,
        startedAt: first.startedAt,
        deadlineAt: first.deadlineAt,
        phase: 'AWAITING_RESULT',
        status: 'KYC_PENDING',
      });

      // The Temporal CLI reads the same workflow id.
      const cli = await promisify(execFile)(ensureTemporalCli(), [
        'workflow',
        'query',
        '--workflow-id',
        handle.workflowId,
        '--name',
        'status',
        '--address',
        String(stack.temporal.address),
        '--output',
        'json',
      ]);
      expect(cli.stdout).toContain('"callbacksReceived": 1');

      stack.sandbox.setStatus(customerId, { status: 'FULL_USER' });
      expect(await handle.result()).toMatchObject({ outcome: 'VERIFIED', attempts: 1, startedAt: first.startedAt });
      const posts = stack.sandbox.requestLog(customerId).requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
    });
  });

  it('ends TIMED_OUT when the deadline passes in a run that continued as new', async () => {
    const customerId = `silent-can-deadline-${process.pid}-${Date.now()}`;
    stack.sandbox.scriptCustomer(customerId, { processingDelayMs: 600_000 });
    await stack.withKycWorker(async ({ start }) => {
      // A check every second hands over every few seconds: the deadline falls several runs after the first.
      const handle = await start({
        customerId,
        timing: { firstCheckAfter: '1s', maxCheckInterval: '1s', deadline: '12s' },
      });
      const first = await handle.query(statusQuery);
      const result = await handle.result();
      expect(result).toMatchObject({ outcome: 'TIMED_OUT', status: 'KYC_PENDING', attempts: 1 });
      expect(result.startedAt).toBe(first.startedAt);
      expect(Date.parse(result.completedAt)).toBeGreaterThanOrEqual(Date.parse(first.deadlineAt));
      const description = await client().workflow.getHandle(handle.workflowId).describe();
      expect(description.runId).not.toBe(handle.firstExecutionRunId);
      const posts = stack.sandbox.requestLog(customerId).requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
    });
  });
});

function client(): Client {
  return stack.client;
}
