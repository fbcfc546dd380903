import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { connectTestTemporal, type TemporalTestContext, uniqueTaskQueue, withWorker } from './helpers/temporal.js';
import { harnessWorkflow, pingSignal } from './workflows/harness-workflows.js';

const workflowsPath = fileURLToPath(new URL('./workflows/harness-workflows.ts', import.meta.url));

describe('test harness', () => {
  let temporal: TemporalTestContext;
  beforeAll(async () => void (temporal = await connectTestTemporal()));
  afterAll(async () => temporal.close());

  it('runs a workflow on the real dev server and delivers a signal', async () => {
    const taskQueue = uniqueTaskQueue();
    const result = await withWorker({ connection: temporal.nativeConnection, taskQueue, workflowsPath }, async () => {
      const handle = await temporal.client.workflow.start(harnessWorkflow, {
        taskQueue,
        workflowId: `harness-${taskQueue}`,
        args: [{ timeoutMs: 60_000 }],
      });
      await handle.signal(pingSignal, 'hello');
      return handle.result();
    });
    expect(result).toBe('pong:hello');
  });

  it('has the KYC search attributes registered', async () => {
    const { customAttributes } = await temporal.client.connection.operatorService.listSearchAttributes({
      namespace: 'default',
    });
    expect(customAttributes).toMatchObject({ KycStatus: expect.anything(), KycCustomerId: expect.anything() });
  });
});
