// What receiver tests stand on: the dev server, a sandbox that answers status reads (and sends callbacks), and one
// worker hosting the recorder in place of the verification workflow plus the real unmatched-callback record.
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Worker } from '@temporalio/worker';

import { createActivities } from '../../src/activities/index.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { verificationWorkflowId } from '../../src/shared/contract.js';
import { createXGatewayClient } from '../../src/xgateway/client.js';
import { completedVerificationWorkflow } from '../workflows/webhook-workflows.js';
import { testBundle } from './bundle.js';
import { connectTestTemporal, type TemporalTestContext, uniqueTaskQueue } from './temporal.js';

export interface ReceiverWorld {
  temporal: TemporalTestContext;
  sandbox: Sandbox;
  /** Where the worker polls: receivers under test record unmatched callbacks here. */
  taskQueue: string;
  /** Runs the customer's verification to completion with `status`, so callbacks find it closed; returns its handle. */
  completeVerification(customerId: string, status: string | null): Promise<WorkflowHandleWithFirstExecutionRunId>;
  close(): Promise<void>;
}

export async function startReceiverWorld(sandboxOptions: SandboxOptions): Promise<ReceiverWorld> {
  const temporal = await connectTestTemporal();
  const sandbox = createSandbox(sandboxOptions);
  await sandbox.start();
  const xgateway = createXGatewayClient({
    baseUrl: sandbox.url,
    apiKey: sandboxOptions.apiKey,
    postTimeoutMs: 10_000,
    getTimeoutMs: 5_000,
  });
  const taskQueue = uniqueTaskQueue('receiver');
  const worker = await Worker.create({
    connection: temporal.nativeConnection,
    taskQueue,
    workflowBundle: testBundle('webhook'),
    activities: createActivities({ xgateway }),
  });
  const running = worker.run();
  return {
    temporal,
    sandbox,
    taskQueue,
    async completeVerification(customerId, status) {
      const verification = await temporal.client.workflow.start(completedVerificationWorkflow, {
        taskQueue,
        workflowId: verificationWorkflowId(customerId),
        args: [{ status }],
      });
      await verification.result();
      return verification;
    },
    async close() {
      worker.shutdown();
      await running;
      await sandbox.close();
      await temporal.close();
    },
  };
}
