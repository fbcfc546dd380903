// Structured JSON logs, one line per event. Secrets and hashes are redacted wherever they might ride along.
import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACTED_PATHS as SHARED_REDACTED_PATHS } from '../logging.js';

/** The project's redactions, plus what a receiver might carry: cookies, nested hashes, the key list. */
export const REDACTED_PATHS = [
  ...new Set([
    ...SHARED_REDACTED_PATHS,
    'req.headers.authorization',
    'req.headers.cookie',
    '*.*.hash',
    'secretKeys',
    '*.secretKeys',
  ]),
];

/** The receiver's logger; pass `destination` to capture lines (tests). */
export function createWebhookLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const settings = {
    name: 'kyc-webhook',
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
