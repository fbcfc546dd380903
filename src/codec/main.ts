// `npm run codec-server`: decrypts payloads for the Temporal Web UI and CLI (docs/operations.md, "Encrypted
// histories"). It needs the same PAYLOAD_ENCRYPTION_KEYS as the worker, and no Temporal connection.
import { fileURLToPath } from 'node:url';

import { z } from 'zod';

import {
  ConfigError,
  type Env,
  firstLine,
  logLevelSchema,
  optionalSecret,
  parseEnv,
  portSchema,
  requiredSecret,
  runMain,
} from '../config.js';
import { createLogger, startupLogger } from '../logging.js';
import { encryptionKeysSchema } from './data-converter.js';
import { createCodecServer } from './server.js';

const origin = z.string().refine((value) => URL.canParse(value) && new URL(value).origin === value, {
  message: 'each origin must be scheme://host[:port], e.g. http://localhost:8233',
});

export const codecServerEnvSchema = z.object({
  PAYLOAD_ENCRYPTION_KEYS: requiredSecret('the keys the worker encrypts with, id:<base64 of 32 bytes>,…').pipe(
    encryptionKeysSchema,
  ),
  CODEC_SERVER_HOST: z.string().min(1).default('127.0.0.1'),
  CODEC_SERVER_PORT: portSchema.default(8888),
  /** The dev server's UI, by either name the browser may use for it. */
  CODEC_SERVER_ALLOWED_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .transform((value) => value.split(',').map((entry) => entry.trim()))
    .pipe(z.array(origin).min(1)),
  CODEC_SERVER_TOKEN: optionalSecret,
  LOG_LEVEL: logLevelSchema,
});
export type CodecServerConfig = z.output<typeof codecServerEnvSchema>;

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost)$/;

/** Parses the codec server's variables; beyond loopback, decrypting for anyone who asks is refused. */
export function loadCodecServerConfig(env: Env): CodecServerConfig {
  const config = parseEnv(codecServerEnvSchema, env);
  if (!LOOPBACK.test(config.CODEC_SERVER_HOST) && config.CODEC_SERVER_TOKEN === undefined) {
    throw new ConfigError(
      `Invalid configuration: CODEC_SERVER_TOKEN: required when CODEC_SERVER_HOST (${config.CODEC_SERVER_HOST}) is not loopback`,
    );
  }
  return config;
}

async function main(): Promise<void> {
  const config = loadCodecServerConfig(process.env);
  const logger = createLogger('kyc-codec-server', { level: config.LOG_LEVEL });
  const app = await createCodecServer({
    keys: config.PAYLOAD_ENCRYPTION_KEYS,
    allowedOrigins: config.CODEC_SERVER_ALLOWED_ORIGINS,
    token: config.CODEC_SERVER_TOKEN,
    logger,
  });
  let url: string;
  try {
    url = await app.listen({ host: config.CODEC_SERVER_HOST, port: config.CODEC_SERVER_PORT });
  } catch (error) {
    console.error(
      `kyc-codec-server: CODEC_SERVER_PORT: cannot listen on ${config.CODEC_SERVER_HOST}:${config.CODEC_SERVER_PORT}: ${firstLine(error)}`,
    );
    process.exit(1);
  }
  startupLogger(logger).info(
    { url, origins: config.CODEC_SERVER_ALLOWED_ORIGINS, token: config.CODEC_SERVER_TOKEN !== undefined },
    'codec server ready',
  );
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runMain(main);
