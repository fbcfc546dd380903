// Prometheus metrics of the callback receiver, in a registry of its own so that tests and processes never collide.
import { createServer, type Server } from 'node:http';

import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** Why a callback was refused; one label value per explicit status code. */
export type RejectionReason =
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'malformed_json'
  | 'invalid_body'
  | 'bad_hash'
  | 'bad_request'
  | 'rate_limited';

/** Why an authentic callback could not be handed to Temporal (the sender retries). */
export type FailureReason = 'temporal_unavailable' | 'internal';

export interface WebhookMetrics {
  registry: Registry;
  received: Counter;
  hashVerified: Counter;
  rejected: Counter<'reason'>;
  duplicates: Counter;
  unmatched: Counter;
  signalled: Counter;
  progress: Counter;
  failed: Counter<'reason'>;
  signalLatency: Histogram;
}

export interface WebhookMetricsOptions {
  /** Also collect the process metrics (CPU, memory, event loop); off by default so tests stay light. */
  collectDefaults?: boolean;
}

/** Creates the receiver's counters and histogram in a fresh registry. */
export function createWebhookMetrics(options: WebhookMetricsOptions = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.collectDefaults) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    received: new Counter({
      name: 'kyc_webhook_callbacks_received_total',
      help: 'KYC callback requests received, before any check.',
      registers,
    }),
    hashVerified: new Counter({
      name: 'kyc_webhook_callbacks_hash_verified_total',
      help: 'KYC callbacks whose hash matched a current or previous secret key.',
      registers,
    }),
    rejected: new Counter({
      name: 'kyc_webhook_callbacks_rejected_total',
      help: 'KYC callbacks refused with a 4xx, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    duplicates: new Counter({
      name: 'kyc_webhook_callbacks_duplicate_total',
      help: 'Authentic KYC callbacks recognised as a repeat delivery (per replica cache, or an existing unmatched record).',
      registers,
    }),
    unmatched: new Counter({
      name: 'kyc_webhook_callbacks_unmatched_total',
      help: 'Authentic KYC callbacks with no open verification, recorded as an unmatched-callback workflow.',
      registers,
    }),
    signalled: new Counter({
      name: 'kyc_webhook_callbacks_signalled_total',
      help: 'KYC callbacks delivered to an open verification workflow as a signal.',
      registers,
    }),
    progress: new Counter({
      name: 'kyc_webhook_callbacks_progress_total',
      help: 'Progress reports (verification in progress) for an open verification: acknowledged, not signalled.',
      registers,
    }),
    failed: new Counter({
      name: 'kyc_webhook_callbacks_failed_total',
      help: 'Authentic KYC callbacks answered with a 5xx so that XGateway retries, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    signalLatency: new Histogram({
      name: 'kyc_webhook_signal_latency_seconds',
      help: 'Time from receipt of a KYC callback to its signal being accepted by Temporal.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

export interface MetricsServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Serves `registry` in the Prometheus text format on `GET /metrics`; everything else is a JSON 404. */
export async function startMetricsServer(
  registry: Registry,
  options: { port: number; host: string },
): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found' }));
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () =>
        response
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: 'metrics failed' })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive scrapers would otherwise hold the close open.
        server.closeAllConnections();
      }),
  };
}
