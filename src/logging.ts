// Structured JSON logs, one line per event. Secrets are redacted by path as a second line of defence:
// the code never logs them in the first place.
import type { Logger, LogLevel, LogMetadata } from '@temporalio/common';
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';

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
  'req.headers.authorization',
  'req.headers.cookie',
  '*.*.hash',
  'secretKeys',
  '*.secretKeys',
];

/** Every process's logger (`kyc-worker`, `kyc-webhook`); pass `destination` to capture lines (tests). */
export function createLogger(
  name: string,
  options: { level?: string; destination?: DestinationStream } = {},
): PinoLogger {
  const settings = {
    name,
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // The Temporal SDK logs failures under `error`; without a serializer pino drops their message.
    serializers: { error: pino.stdSerializers.err, err: pino.stdSerializers.err },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/**
 * For a process's start-up line, written whatever LOG_LEVEL says: it names where the process listens, which with a
 * port of 0 appears nowhere else, and tells whoever started the process that it is up (scripts/lib/stack.ts reads it).
 */
export function startupLogger(logger: PinoLogger): PinoLogger {
  return logger.child({}, { level: 'info' });
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
