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

/** The first line of an error's message; errors from other realms (jest's vm) are not `instanceof Error`. */
export function firstLine(error: unknown): string {
  const message = typeof error === 'object' && error !== null && 'message' in error ? error.message : error;
  return String(message).split('\n')[0] ?? '';
}

/** host, host:port or [ipv6]:port, as gRPC takes it: a URL or a typo would otherwise fail later and less clearly. */
const TEMPORAL_ADDRESS_FORM = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?)(?::(\d{1,5}))?$/;
const CLIENT_CERT = ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA'] as const;
const CLIENT_KEY = ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA'] as const;

/**
 * The Temporal connection in `@temporalio/envconfig`'s conventions: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and the TOML config file. Defaults to a local dev server.
 */
export function temporalConnectionFromEnv(env: Env): TemporalConnectionConfig {
  const refuse = (variable: string, problem: string) =>
    new ConfigError(`Invalid Temporal configuration: ${variable}: ${problem}`);
  // envconfig drops half an mTLS pair without a word, and the server's refusal would not say why.
  const given = (names: readonly string[]) => names.find((name) => env[name]);
  const [cert, key] = [given(CLIENT_CERT), given(CLIENT_KEY)];
  if (cert && !key) throw refuse(CLIENT_KEY[0], `required with ${cert} (or ${CLIENT_KEY[1]})`);
  if (key && !cert) throw refuse(CLIENT_CERT[0], `required with ${key} (or ${CLIENT_CERT[1]})`);
  let loaded;
  try {
    const overrideEnvVars = Object.fromEntries(
      Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    loaded = loadClientConnectConfig({ overrideEnvVars, profile: env.TEMPORAL_PROFILE });
  } catch (error) {
    // envconfig's messages name the file or variable; keep only the first line, which holds no secret. A file that
    // cannot be read is named by the variable that holds its path.
    const path = (error as { path?: unknown }).path;
    const variable = Object.keys(env).find((name) => name.startsWith('TEMPORAL_') && path && env[name] === path);
    if (variable) throw refuse(variable, firstLine(error));
    throw new ConfigError(`Invalid Temporal configuration (TEMPORAL_*): ${firstLine(error)}`);
  }
  const address = loaded.connectionOptions.address ?? '127.0.0.1:7233';
  const form = TEMPORAL_ADDRESS_FORM.exec(address);
  const port = Number(form?.[1] ?? 7233);
  if (!form || port < 1 || port > 65535) {
    // The value is not repeated: someone may have pasted a URL with credentials.
    throw refuse(
      'TEMPORAL_ADDRESS',
      'expected host:port, e.g. 127.0.0.1:7233 or <namespace>.<account>.tmprl.cloud:7233',
    );
  }
  const namespace = loaded.namespace ?? 'default';
  if (namespace === '') throw refuse('TEMPORAL_NAMESPACE', 'must not be empty');
  return { connectionOptions: { ...loaded.connectionOptions, address }, namespace };
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
