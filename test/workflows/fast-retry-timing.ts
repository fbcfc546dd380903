// Bundled in place of src/workflows/retry-timing.ts for the in-process test workers (test/helpers/bundle.ts): the
// same policies, with pauses short enough that a test of a retry takes a fraction of a second. The heartbeat timeout
// stays well above the test workers' 200 ms beats, so a busy machine does not time out a live worker.
import type { retryTiming as productionTiming } from '../../src/workflows/retry-timing.js';

export const retryTiming: typeof productionTiming = {
  checkInitialIntervalMs: 100,
  startRetryBaseMs: 100,
  checkBudgetFloorMs: 3_000,
  startHeartbeatTimeoutMs: 5_000,
};
