// The processes that tests start write their logs under one directory per run (test/helpers/logs.ts). A run that
// passed removes it, so repeated runs do not fill /tmp; a run with any failure keeps it and says where it is.
import { rm } from 'node:fs/promises';

export default class LogReporter {
  async onRunComplete(_contexts, results) {
    const dir = process.env.KYC_TEST_LOG_DIR;
    if (!dir) return;
    const passed = results.numFailedTests === 0 && results.numFailedTestSuites === 0 && !results.wasInterrupted;
    if (passed) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`\nLogs of the processes the tests started are kept in ${dir}\n`);
  }
}
