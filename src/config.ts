// Configuration is parsed once, at start-up, with zod, from an injectable env object.
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { z } from 'zod';

import { encryptionKeysSchema } from './codec/data-converter.js';
import { DEFAULT_TASK_QUEUE } from './shared/contract.js';
import { firstIssue } from './shared/validation.js';

export type Env = Record<string, string | undefined>;

/** A config problem, worded for one line on stderr; it names the variable and never echoes a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`; the first problem becomes a ConfigError naming the variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(`Invalid configuration: ${firstIssue(result.error, 'environment')}`);
}

export const portSchema = z.coerce.number().int().min(0).max(65535);
export const logLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
// An empty variable counts as unset, the way shells and .env files usually mean it.
const blankAsUnset = (value: unknown) => (value === '' ? undefined : value);
/** A key the process cannot run without; there are no built-in ones. `what` says which key it is. */
export const requiredSecret = (what: string) =>
  z.preprocess(blankAsUnset, z.string({ error: `required: ${what}` }).min(1));
export const optionalSecret = z.preprocess(blankAsUnset, z.string().min(1).optional());
export const urlSchema = z.url({ protocol: /^https?$/ });

/** What every process that talks to Temporal reads: the task queue, and the payload keys (docs/operations.md). */
export const temporalEnvSchema = z.object({
  KYC_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  PAYLOAD_ENCRYPTION_KEYS: z.preprocess(blankAsUnset, encryptionKeysSchema.optional()),
});

export interface TemporalConnectionConfig {
  connectionOptions: NativeConnectionOptions;
  namespace: string;
}

/**
 * The Temporal connection in `@temporalio/envconfig`'s conventions: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file. Defaults to a local dev server.
 */
export function temporalConnectionFromEnv(env: Env): TemporalConnectionConfig {
  try {
    const overrideEnvVars = Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const { connectionOptions, namespace } = loadClientConnectConfig({
      overrideEnvVars,
      profile: env.TEMPORAL_PROFILE,
    });
    return {
      connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? '127.0.0.1:7233' },
      namespace: namespace ?? 'default',
    };
  } catch (error) {
    // envconfig's messages name the file or variable; keep only the first line, which holds no secret.
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError(`Invalid Temporal configuration (TEMPORAL_*): ${message}`);
  }
}

/** Runs a process's main; a ConfigError is printed as one line and exits 1, without a stack trace. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
