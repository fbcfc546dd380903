// Functions other TypeScript services use to drive a verification, and `npm run kyc -- <command> <customerId>`.
import { fileURLToPath } from 'node:url';

import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';

import { createDataConverter } from './codec/data-converter.js';
import { ConfigError, type Env, parseEnv, runMain, temporalConnectionFromEnv, temporalEnvSchema } from './config.js';
import { InputError } from './shared/checks.js';
import {
  checkVerificationInput,
  DEFAULT_TASK_QUEUE,
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  type KycVerificationInput,
  type KycVerificationResult,
  type KycVerificationState,
  type ResubmitResult,
  resubmitUpdate,
  statusQuery,
  UNCONFIRMED_STATUS,
  verificationWorkflowId,
  WORKFLOW_TYPE,
} from './shared/contract.js';
import type { kycVerificationWorkflow } from './workflows/index.js';

export interface StartOptions {
  taskQueue?: string;
}

/**
 * Starts the customer's verification, or returns the one already running: starting twice gives the same run.
 * Bad input is refused here, before anything reaches Temporal.
 */
export async function startKycVerification(
  client: Client,
  input: KycVerificationInput,
  { taskQueue = DEFAULT_TASK_QUEUE }: StartOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof kycVerificationWorkflow>> {
  let customerId: string;
  try {
    ({ customerId } = checkVerificationInput(input));
  } catch (error) {
    if (error instanceof InputError) throw new TypeError(`Invalid KYC verification input: ${error.message}`);
    throw error;
  }
  return client.workflow.start<typeof kycVerificationWorkflow>(WORKFLOW_TYPE, {
    workflowId: verificationWorkflowId(customerId),
    taskQueue,
    args: [input],
    // A second start while one runs attaches to it; after it closed, a new run may start (it will not POST again
    // once the customer is FULL_USER or HARD_KYC_FAILED).
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    // Set at start, these are free; upserts from the workflow are billable actions.
    typedSearchAttributes: [
      { key: kycCustomerIdSearchAttribute, value: customerId },
      { key: kycStatusSearchAttribute, value: UNCONFIRMED_STATUS },
    ],
    staticSummary: `KYC verification of customer ${customerId}`,
    staticDetails:
      'XGateway SEPA Secure KYC: start the verification, wait for the callback, confirm via the status API.',
  });
}

/** The whole current state, through the `status` query. */
export async function getKycVerificationStatus(client: Client, customerId: string): Promise<KycVerificationState> {
  return client.workflow.getHandle(verificationWorkflowId(customerId)).query(statusQuery);
}

/** Waits for, and returns, the verification's result. */
export async function getKycVerificationResult(client: Client, customerId: string): Promise<KycVerificationResult> {
  return client.workflow.getHandle<typeof kycVerificationWorkflow>(verificationWorkflowId(customerId)).result();
}

/** After SOFT_KYC_FAILED and a data fix: asks the workflow to send the verification request again. */
export async function resubmitKycVerification(client: Client, customerId: string): Promise<ResubmitResult> {
  return client.workflow.getHandle(verificationWorkflowId(customerId)).executeUpdate(resubmitUpdate);
}

/** Cancels the verification; its result then has outcome CANCELLED. */
export async function cancelKycVerification(client: Client, customerId: string): Promise<void> {
  await client.workflow.getHandle(verificationWorkflowId(customerId)).cancel();
}

const COMMANDS = ['start', 'status', 'result', 'resubmit', 'cancel'] as const;
const USAGE = `usage: npm run kyc -- <${COMMANDS.join('|')}> <customerId> [timing JSON for start, e.g. '{"firstCheckAfter":"30s"}']`;

async function cli(argv: string[], env: Env): Promise<void> {
  const [command, customerId, timing] = argv;
  if (!COMMANDS.includes(command as (typeof COMMANDS)[number]) || !customerId) throw new ConfigError(USAGE);
  const { KYC_TASK_QUEUE, PAYLOAD_ENCRYPTION_KEYS } = parseEnv(temporalEnvSchema, env);
  const temporal = temporalConnectionFromEnv(env);
  const dataConverter = await createDataConverter(PAYLOAD_ENCRYPTION_KEYS);
  const connection = await Connection.connect(temporal.connectionOptions);
  const client = new Client({ connection, namespace: temporal.namespace, dataConverter });
  try {
    const print = (value: unknown) => console.log(JSON.stringify(value, null, 2));
    switch (command) {
      case 'start': {
        const input = { customerId, ...(timing ? { timing: parseJsonArg(timing) } : {}) } as KycVerificationInput;
        const handle = await startKycVerification(client, input, { taskQueue: KYC_TASK_QUEUE });
        print({ workflowId: handle.workflowId, runId: handle.firstExecutionRunId });
        break;
      }
      case 'status':
        print(await getKycVerificationStatus(client, customerId));
        break;
      case 'result':
        print(await getKycVerificationResult(client, customerId));
        break;
      case 'resubmit':
        print(await resubmitKycVerification(client, customerId));
        break;
      case 'cancel':
        await cancelKycVerification(client, customerId);
        print({ cancelled: verificationWorkflowId(customerId) });
        break;
    }
  } finally {
    await connection.close();
  }
}

function parseJsonArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ConfigError(`timing must be JSON, e.g. '{"firstCheckAfter":"30s"}'`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runMain(async () => {
    try {
      await cli(process.argv.slice(2), process.env);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      // Workflow and Temporal errors: one line for a person at a terminal.
      console.error(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      process.exitCode = 1;
    }
  });
}
