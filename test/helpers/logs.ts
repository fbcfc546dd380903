import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A fresh directory for the logs of processes a test starts, under the run's log directory (KYC_TEST_LOG_DIR, made by
 * the global setup), which test/log-reporter.mjs removes after a run that passed and keeps after one that failed.
 */
export function testLogDir(name: string): Promise<string> {
  return mkdtemp(join(process.env.KYC_TEST_LOG_DIR ?? tmpdir(), `${name}-`));
}
