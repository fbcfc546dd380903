// The receiver's configuration, parsed once at start-up from an injectable env object.
import { z } from 'zod';
import { ConfigError, parseEnv, portSchema, temporalEnvSchema, type Env } from '../config.js';
import { SANDBOX_SECRET_KEY } from '../sandbox/defaults.js';

// An empty variable counts as unset, the way shells and .env files usually mean it.
const optionalSecret = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

export const webhookEnvSchema = temporalEnvSchema.extend({
  WEBHOOK_HOST: z.string().min(1).default('127.0.0.1'),
  WEBHOOK_PORT: portSchema.default(3000),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** 0 turns the metrics listener off. */
  METRICS_PORT: portSchema.default(9464),
  XGATEWAY_SECRET_KEY: optionalSecret,
  XGATEWAY_SECRET_KEY_PREVIOUS: optionalSecret,
  WEBHOOK_TEMPORAL_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
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
  usingSandboxSecretKey: boolean;
  taskQueue: string;
  temporalTimeoutMs: number;
  logLevel: string;
}

/**
 * Parses the receiver's variables. Without XGATEWAY_SECRET_KEY the sandbox's key is used, so a fresh clone works with
 * `npm run sandbox`; with NODE_ENV=production that is an error instead.
 */
export function loadWebhookConfig(env: Env): WebhookConfig {
  const parsed = parseEnv(webhookEnvSchema, env);
  const current = parsed.XGATEWAY_SECRET_KEY;
  if (current === undefined && parsed.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: XGATEWAY_SECRET_KEY: required when NODE_ENV=production');
  }
  const secretKeys = [current ?? SANDBOX_SECRET_KEY];
  if (parsed.XGATEWAY_SECRET_KEY_PREVIOUS !== undefined) secretKeys.push(parsed.XGATEWAY_SECRET_KEY_PREVIOUS);
  return {
    host: parsed.WEBHOOK_HOST,
    port: parsed.WEBHOOK_PORT,
    metricsHost: parsed.METRICS_HOST,
    metricsPort: parsed.METRICS_PORT === 0 ? null : parsed.METRICS_PORT,
    secretKeys,
    usingSandboxSecretKey: current === undefined,
    taskQueue: parsed.KYC_TASK_QUEUE,
    temporalTimeoutMs: parsed.WEBHOOK_TEMPORAL_TIMEOUT_MS,
    logLevel: parsed.LOG_LEVEL,
  };
}
