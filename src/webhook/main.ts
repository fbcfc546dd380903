// `npm run webhook`: the KYC callback receiver process, with its metrics listener.
import { Client, Connection } from '@temporalio/client';

import { createDataConverter, encryptionKeyIds } from '../codec/data-converter.js';
import { firstLine, runMain, temporalConnectionFromEnv } from '../config.js';
import { createLogger, startupLogger } from '../logging.js';
import { createWebhookMetrics, type MetricsServer, startMetricsServer } from './metrics.js';
import { CALLBACK_PATH, createWebhookServer } from './server.js';
import { loadWebhookConfig } from './webhook-config.js';

/** How long in-flight callbacks get to finish after SIGTERM: Temporal calls take at most WEBHOOK_TEMPORAL_TIMEOUT_MS. */
const DRAIN_MS = 25_000;

async function main(): Promise<void> {
  const config = loadWebhookConfig(process.env);
  const temporal = temporalConnectionFromEnv(process.env);
  const logger = createLogger('kyc-webhook', { level: config.logLevel });

  // The client Connection takes the same address, TLS, API key and metadata as the worker's native one.
  const { address } = temporal.connectionOptions;
  // Lazy: with Temporal down at start the receiver still answers, with 503s that make XGateway retry.
  const connection = Connection.lazy({ ...temporal.connectionOptions, connectTimeout: '10s' });
  const dataConverter = await createDataConverter(config.encryptionKeys);
  const client = new Client({ connection, namespace: temporal.namespace, dataConverter });
  const metrics = createWebhookMetrics({ collectDefaults: true });
  const app = await createWebhookServer({
    client,
    taskQueue: config.taskQueue,
    secretKeys: config.secretKeys,
    metrics,
    logger,
    temporalTimeoutMs: config.temporalTimeoutMs,
    rateLimitPerMinute: config.rateLimitPerMinute,
    unmatchedWindowMs: config.unmatchedWindowMs,
  });

  let metricsServer: MetricsServer | undefined;
  let origin: string;
  try {
    origin = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await connection.close();
    fail(listenFailure('WEBHOOK_PORT', config.host, config.port, error));
  }
  if (config.metricsPort !== null) {
    try {
      metricsServer = await startMetricsServer(metrics.registry, {
        host: config.metricsHost,
        port: config.metricsPort,
      });
    } catch (error) {
      await app.close();
      await connection.close();
      fail(listenFailure('METRICS_PORT', config.metricsHost, config.metricsPort, error));
    }
  }
  const payloadEncryptionKeyIds = encryptionKeyIds(config.encryptionKeys);
  startupLogger(logger).info(
    {
      url: `${origin}${CALLBACK_PATH}`,
      metricsUrl: metricsServer ? `http://${config.metricsHost}:${metricsServer.port}/metrics` : null,
      taskQueue: config.taskQueue,
      namespace: temporal.namespace,
      temporal: address,
      payloadEncryptionKeyIds,
    },
    'receiver ready',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // In-flight callbacks finish first; then nothing needs Temporal any more. A client that stalls mid-request is cut
    // off after DRAIN_MS, inside the 45 s a deploy allows before SIGKILL (XGateway retries what it did not get).
    setTimeout(() => app.server.closeAllConnections(), DRAIN_MS).unref();
    await app.close();
    await metricsServer?.close();
    await connection.close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
}

function listenFailure(variable: string, host: string, port: number, error: unknown): string {
  const inUse = typeof error === 'object' && error !== null && 'code' in error && error.code === 'EADDRINUSE';
  return inUse
    ? `kyc-webhook: ${variable}: port ${port} on ${host} is already in use`
    : `kyc-webhook: ${variable}: cannot listen on ${host}:${port}: ${firstLine(error)}`;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

void runMain(main);
