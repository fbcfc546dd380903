// The pauses between tries, in one place. Tests bundle test/workflows/fast-retry-timing.ts in this file's place
// (test/helpers/bundle.ts), so their runs retry in a fraction of a second. Nothing outside a test bundle can pick that
// file up: it is not in src and no config reads it; test/workflow-input.test.ts checks the production bundle for it.
import { START_HEARTBEAT_TIMEOUT_MS } from '../shared/contract.js';

export const retryTiming = {
  /** The first pause before a failed status read is tried again; it doubles up to two minutes. */
  checkInitialIntervalMs: 2_000,
  /** The first pause before a request that provably never left is sent again; it doubles up to five minutes. */
  startRetryBaseMs: 1_000,
  /**
   * The least time a status read may keep retrying, even when the deadline is nearer: the read at the deadline needs
   * a chance to answer. A run whose deadline passes while a read retries ends when this budget runs out.
   */
  checkBudgetFloorMs: 60_000,
  /** How soon a worker that died during the verification request is noticed. */
  startHeartbeatTimeoutMs: START_HEARTBEAT_TIMEOUT_MS,
};
