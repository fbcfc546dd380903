// `npm run sandbox`: the fake XGateway on a fixed port, for the demo and for manual runs against the worker.
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import { ConfigError, type Env, firstLine, parseEnv, portSchema, runMain, urlSchema } from '../config.js';
import { randomSandboxKeys, SANDBOX_CALLBACK_URL, SANDBOX_DEFAULT_PORT } from './defaults.js';
import { createSandbox } from './sandbox.js';

const delaySchema = z.coerce.number().int().min(0);

const sandboxEnvSchema = z.object({
  SANDBOX_PORT: portSchema.default(SANDBOX_DEFAULT_PORT),
  SANDBOX_HOST: z.string().min(1).default('127.0.0.1'),
  XGATEWAY_API_KEY: z.string().min(1).optional(),
  XGATEWAY_SECRET_KEY: z.string().min(1).optional(),
  SANDBOX_CALLBACK_URL: urlSchema.default(SANDBOX_CALLBACK_URL),
  SANDBOX_PROCESSING_DELAY_MS: delaySchema.default(2000),
  SANDBOX_SLOW_POST_MS: delaySchema.default(90_000),
  SANDBOX_CALLBACK_RETRY_BASE_MS: delaySchema.default(500),
  SANDBOX_REORDER_HOLD_MS: delaySchema.default(5000),
});

/** Parses the sandbox's variables; a mistake is one line naming the variable. */
export function loadSandboxConfig(env: Env): z.output<typeof sandboxEnvSchema> {
  return parseEnv(sandboxEnvSchema, env);
}

async function main(env: Env): Promise<void> {
  const config = loadSandboxConfig(env);
  // The starter (demo, bench) passes the keys it made; run by hand, the sandbox makes a pair and prints it below.
  const generated = randomSandboxKeys();
  const apiKey = config.XGATEWAY_API_KEY ?? generated.apiKey;
  const secretKey = config.XGATEWAY_SECRET_KEY ?? generated.secretKey;
  const sandbox = createSandbox({
    apiKey,
    secretKey,
    callbackUrl: config.SANDBOX_CALLBACK_URL,
    processingDelayMs: config.SANDBOX_PROCESSING_DELAY_MS,
    slowPostMs: config.SANDBOX_SLOW_POST_MS,
    callbackRetryBaseMs: config.SANDBOX_CALLBACK_RETRY_BASE_MS,
    reorderHoldMs: config.SANDBOX_REORDER_HOLD_MS,
    log: (line) => console.log(`[sandbox] ${line}`),
  });
  try {
    await sandbox.start(config.SANDBOX_PORT, config.SANDBOX_HOST);
  } catch (error) {
    const { code } = error as { code?: unknown };
    if (code === 'EADDRINUSE') {
      throw new ConfigError(`SANDBOX_PORT: port ${config.SANDBOX_PORT} on ${config.SANDBOX_HOST} is already in use`);
    }
    // A host that is not this machine's (or does not resolve), or a port it may not use.
    const variable = code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' ? 'SANDBOX_HOST' : 'SANDBOX_PORT';
    throw new ConfigError(
      `${variable}: cannot listen on ${config.SANDBOX_HOST}:${config.SANDBOX_PORT}: ${firstLine(error)}`,
    );
  }
  console.log(`XGateway sandbox: API ${sandbox.url}, control ${sandbox.controlUrl}`);
  console.log(`Callbacks go to ${config.SANDBOX_CALLBACK_URL}`);
  if (!config.XGATEWAY_API_KEY || !config.XGATEWAY_SECRET_KEY) {
    // Sandbox keys only: they exist for this run and guard nothing real.
    console.log(`Keys made for this run: XGATEWAY_API_KEY=${apiKey} XGATEWAY_SECRET_KEY=${secretKey}`);
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C does not wait for the graceful close.
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${signal}: stopping the sandbox`);
    sandbox.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Sandbox did not close cleanly: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runMain(() => main(process.env));
