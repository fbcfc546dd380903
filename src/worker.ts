// `npm run worker`: hosts the KYC workflows and activities.
import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';

import {
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerDeploymentOptions,
} from '@temporalio/worker';
import { z } from 'zod';

import { createActivities } from './activities/index.js';
import { createDataConverter, encryptionKeyIds } from './codec/data-converter.js';
import {
  ConfigError,
  type Env,
  firstLine,
  logLevelSchema,
  parseEnv,
  portSchema,
  requiredSecret,
  runMain,
  temporalConnectionFromEnv,
  temporalEnvSchema,
  urlSchema,
} from './config.js';
import { createLogger, startupLogger, temporalLogger } from './logging.js';
import { SANDBOX_BASE_URL } from './sandbox/defaults.js';
import { START_HEARTBEAT_TIMEOUT_MS, START_TO_CLOSE_TIMEOUT_MS } from './shared/contract.js';
import { createXGatewayClient } from './xgateway/client.js';

/** Source (.ts under tsx) or compiled (.js): the workflows sit next to this file either way. */
export const workflowsPath = fileURLToPath(new URL(`./workflows/index${extname(import.meta.url)}`, import.meta.url));

/**
 * The start activity reads, POSTs and reads again within its start-to-close, so the POST times out first and the
 * failure is ours and named. A status read stays well inside the heartbeat timeout, which beats are throttled to
 * 80 % of: a read that outlived it would look like a dead worker and make the request's outcome unknown.
 */
const MAX_GET_TIMEOUT_MS = START_HEARTBEAT_TIMEOUT_MS - 10_000;
const MAX_POST_TIMEOUT_MS = START_TO_CLOSE_TIMEOUT_MS - 2 * MAX_GET_TIMEOUT_MS - 20_000;

export const workerEnvSchema = temporalEnvSchema.extend({
  XGATEWAY_BASE_URL: urlSchema.default(SANDBOX_BASE_URL),
  XGATEWAY_API_KEY: requiredSecret('the API key XGateway issued'),
  XGATEWAY_POST_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .max(MAX_POST_TIMEOUT_MS)
    .default(9 * 60_000),
  XGATEWAY_GET_TIMEOUT_MS: z.coerce.number().int().min(100).max(MAX_GET_TIMEOUT_MS).default(10_000),
  /** Prometheus endpoint for the SDK's own metrics; 0 turns it off. */
  METRICS_PORT: portSchema.default(9465),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** A workflow bundle made ahead (`npm run build` writes dist/workflow-bundle.js); without one, bundled at start. */
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(500),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(200),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).default(40),
  /** Worker Versioning: both or neither (docs/operations.md, "Changing the workflow"). */
  WORKER_DEPLOYMENT_NAME: z.string().min(1).optional(),
  WORKER_BUILD_ID: z.string().min(1).optional(),
  LOG_LEVEL: logLevelSchema,
});
export type WorkerConfig = z.output<typeof workerEnvSchema>;

/** Heap one cached verification holds, measured by figure 4 of docs/performance.md (about 250 KiB). */
const CACHED_WORKFLOW_MIB = 0.25;

/**
 * Why the workflow cache may not fit the heap cap (`--max-old-space-size` in `npm run worker`), if it may not: cached
 * workflows must leave the heap room for replays, activities and garbage, or the worker slows down in GC, then dies.
 */
export function cacheHeapWarning(maxCachedWorkflows: number, heapLimitBytes: number): string | undefined {
  const cacheMiB = maxCachedWorkflows * CACHED_WORKFLOW_MIB;
  const heapMiB = Math.round(heapLimitBytes / 2 ** 20);
  if (cacheMiB <= heapMiB / 2) return undefined;
  return (
    `WORKER_MAX_CACHED_WORKFLOWS=${maxCachedWorkflows} holds about ${Math.round(cacheMiB)} MiB, more than half of ` +
    `the ${heapMiB} MiB heap: raise node's --max-old-space-size or lower the cache`
  );
}

/**
 * Parses the worker's variables. There is no built-in key: without XGATEWAY_API_KEY it does not start. The base URL
 * defaults to the local sandbox, except in production, where it must be set.
 */
export function loadWorkerConfig(env: Env): WorkerConfig {
  const config = parseEnv(workerEnvSchema, env);
  if (env.NODE_ENV === 'production' && !env.XGATEWAY_BASE_URL) {
    throw new ConfigError('Invalid configuration: XGATEWAY_BASE_URL: required when NODE_ENV=production');
  }
  if ((config.WORKER_DEPLOYMENT_NAME === undefined) !== (config.WORKER_BUILD_ID === undefined)) {
    const missing = config.WORKER_BUILD_ID === undefined ? 'WORKER_BUILD_ID' : 'WORKER_DEPLOYMENT_NAME';
    throw new ConfigError(
      `Invalid configuration: ${missing}: required with the other of WORKER_DEPLOYMENT_NAME and WORKER_BUILD_ID`,
    );
  }
  return config;
}

/**
 * Worker Versioning, when a deployment name and build id are given. Verifications default to AUTO_UPGRADE: one can
 * stay open 14 days, and pinned runs would hold every build's workers in service until their last run ends, with no
 * way for a fix to reach them. An upgraded run replays its history on the new build, which CI proves for every
 * released history (test/replay.test.ts); a change that cannot replay goes behind patched().
 */
export function workerDeploymentOptions(
  config: Pick<WorkerConfig, 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>,
): WorkerDeploymentOptions | undefined {
  const { WORKER_DEPLOYMENT_NAME: deploymentName, WORKER_BUILD_ID: buildId } = config;
  if (deploymentName === undefined || buildId === undefined) return undefined;
  return { useWorkerVersioning: true, version: { deploymentName, buildId }, defaultVersioningBehavior: 'AUTO_UPGRADE' };
}

/** A start-up step that fails because of `what`'s variable stops the worker with one line, as a bad value does. */
async function startStep<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new ConfigError(`kyc-worker: ${what}: ${firstLine(error)}`);
  }
}

async function main(env: Env = process.env): Promise<void> {
  const config = loadWorkerConfig(env);
  const temporal = temporalConnectionFromEnv(env);
  const { address } = temporal.connectionOptions;
  const bundlePath = config.WORKFLOW_BUNDLE_PATH;
  if (bundlePath) await startStep(`WORKFLOW_BUNDLE_PATH: cannot read ${bundlePath}`, () => access(bundlePath));
  const logger = createLogger('kyc-worker', { level: config.LOG_LEVEL });
  const metricsAddress = `${config.METRICS_HOST}:${config.METRICS_PORT}`;
  await startStep(`METRICS_PORT: cannot serve metrics on ${metricsAddress}`, () =>
    Runtime.install({
      // SIGINT/SIGTERM: the worker stops polling, lets running tasks finish (up to the grace time), then exits.
      shutdownSignals: ['SIGINT', 'SIGTERM'],
      logger: temporalLogger(logger),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
        metrics: config.METRICS_PORT ? { prometheus: { bindAddress: metricsAddress } } : undefined,
      },
    }),
  );
  if (env.XGATEWAY_BASE_URL === undefined)
    logger.warn({ baseUrl: config.XGATEWAY_BASE_URL }, 'XGATEWAY_BASE_URL unset: using the local sandbox');
  const heapWarning = cacheHeapWarning(config.WORKER_MAX_CACHED_WORKFLOWS, getHeapStatistics().heap_size_limit);
  if (heapWarning) logger.warn(heapWarning);

  const connection = await startStep(`TEMPORAL_ADDRESS: cannot connect to Temporal at ${address}`, () =>
    NativeConnection.connect(temporal.connectionOptions),
  );
  // Before the workflow bundle is built, which takes seconds: a namespace the server lacks would fail it only then.
  await startStep(`TEMPORAL_NAMESPACE: namespace "${temporal.namespace}" at ${address}`, () =>
    connection.workflowService.describeNamespace({ namespace: temporal.namespace }),
  );
  const xgateway = createXGatewayClient({
    baseUrl: config.XGATEWAY_BASE_URL,
    apiKey: config.XGATEWAY_API_KEY,
    postTimeoutMs: config.XGATEWAY_POST_TIMEOUT_MS,
    getTimeoutMs: config.XGATEWAY_GET_TIMEOUT_MS,
  });
  const worker = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: config.KYC_TASK_QUEUE,
    // A prebuilt bundle spares the worker webpack's memory, which its heap would otherwise keep.
    ...(config.WORKFLOW_BUNDLE_PATH
      ? { workflowBundle: { codePath: config.WORKFLOW_BUNDLE_PATH } }
      : { workflowsPath }),
    activities: createActivities({ xgateway }),
    dataConverter: await createDataConverter(config.PAYLOAD_ENCRYPTION_KEYS),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivityTaskExecutions: config.WORKER_MAX_CONCURRENT_ACTIVITIES,
    maxConcurrentWorkflowTaskExecutions: config.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
    workerDeploymentOptions: workerDeploymentOptions(config),
    shutdownGraceTime: '30 seconds',
  });
  startupLogger(logger).info(
    {
      taskQueue: config.KYC_TASK_QUEUE,
      namespace: temporal.namespace,
      address,
      // Key ids only: whether payloads leave this process encrypted, and with which key first.
      payloadEncryptionKeyIds: encryptionKeyIds(config.PAYLOAD_ENCRYPTION_KEYS),
      deployment: workerDeploymentOptions(config)?.version ?? 'unversioned',
    },
    'KYC worker started',
  );
  try {
    await worker.run();
  } finally {
    await connection.close();
    logger.info('KYC worker stopped');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runMain(() => main());
