// The receiver's configuration, parsed once at start-up from an injectable env object.
import { z } from 'zod';

import type { EncryptionKey } from '../codec/encryption-codec.js';
import {
  type Env,
  logLevelSchema,
  optionalSecret,
  parseEnv,
  portSchema,
  requiredSecret,
  temporalEnvSchema,
} from '../config.js';

export const webhookEnvSchema = temporalEnvSchema.extend({
  WEBHOOK_HOST: z.string().min(1).default('127.0.0.1'),
  WEBHOOK_PORT: portSchema.default(3000),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** 0 turns the metrics listener off. */
  METRICS_PORT: portSchema.default(9464),
  XGATEWAY_SECRET_KEY: requiredSecret('the secret key XGateway issued (callback hashes)'),
  XGATEWAY_SECRET_KEY_PREVIOUS: optionalSecret,
  WEBHOOK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  UNMATCHED_CALLBACK_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(60_000)
    .max(30 * 24 * 60 * 60_000)
    .default(24 * 60 * 60_000),
  WEBHOOK_TEMPORAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LOG_LEVEL: logLevelSchema,
  NODE_ENV: z.string().optional(),
});

export interface WebhookConfig {
  host: string;
  port: number;
  metricsHost: string;
  /** null: no metrics listener. */
  metricsPort: number | null;
  /** Current key first, then the previous one during a rotation. */
  secretKeys: string[];
  rateLimitPerMinute: number;
  unmatchedWindowMs: number;
  taskQueue: string;
  temporalTimeoutMs: number;
  logLevel: string;
  /** PAYLOAD_ENCRYPTION_KEYS: the signals and unmatched-callback records are encrypted with the first. */
  encryptionKeys: EncryptionKey[] | undefined;
}

/** Parses the receiver's variables. There is no built-in secret: without XGATEWAY_SECRET_KEY it does not start. */
export function loadWebhookConfig(env: Env): WebhookConfig {
  const parsed = parseEnv(webhookEnvSchema, env);
  const secretKeys = [parsed.XGATEWAY_SECRET_KEY];
  if (parsed.XGATEWAY_SECRET_KEY_PREVIOUS !== undefined) secretKeys.push(parsed.XGATEWAY_SECRET_KEY_PREVIOUS);
  return {
    host: parsed.WEBHOOK_HOST,
    port: parsed.WEBHOOK_PORT,
    metricsHost: parsed.METRICS_HOST,
    metricsPort: parsed.METRICS_PORT === 0 ? null : parsed.METRICS_PORT,
    secretKeys,
    rateLimitPerMinute: parsed.WEBHOOK_RATE_LIMIT_PER_MINUTE,
    unmatchedWindowMs: parsed.UNMATCHED_CALLBACK_WINDOW_MS,
    taskQueue: parsed.KYC_TASK_QUEUE,
    temporalTimeoutMs: parsed.WEBHOOK_TEMPORAL_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
    encryptionKeys: parsed.PAYLOAD_ENCRYPTION_KEYS,
  };
}
