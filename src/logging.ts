// Structured JSON logs, one line per event. Secrets are redacted by path as a second line of defence:
// the code never logs them in the first place.
import { pino, type Logger as PinoLogger } from 'pino';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';

export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'secretKey',
  '*.secretKey',
  'hash',
  '*.hash',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'req.headers["x-api-key"]',
];

export function createLogger(name: string, destination?: NodeJS.WritableStream): PinoLogger {
  return pino(
    {
      name,
      level: process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // The Temporal SDK logs failures under `error`; without a serializer pino drops their message.
      serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
    },
    destination as pino.DestinationStream | undefined,
  );
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal SDK's logs (worker, workflow and activity, with their ids) into the same JSON stream. */
export function temporalLogger(logger: PinoLogger): Logger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => logger[LEVELS[level]](meta ?? {}, message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
