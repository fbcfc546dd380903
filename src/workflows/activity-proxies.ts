import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

import type { KycActivities } from '../activities/index.js';
import { FailureTypes, START_TO_CLOSE_TIMEOUT_MS } from '../shared/contract.js';
import { retryTiming } from './retry-timing.js';

/** Failures that retrying cannot fix; everything else Temporal retries with backoff. */
const nonRetryableErrorTypes = [
  FailureTypes.preconditionMissing,
  FailureTypes.unauthorized,
  FailureTypes.requestRejected,
];

/**
 * The verification POST can take minutes: a long start-to-close, and heartbeats to notice a dead worker sooner.
 * One attempt per scheduling: a server retry cannot know whether a timed-out attempt's POST reached the vendor, so
 * the workflow decides, from the failure, whether the request may be sent again (see `classifyStartFailure`).
 */
export const startActivities = proxyActivities<KycActivities>({
  startToCloseTimeout: START_TO_CLOSE_TIMEOUT_MS,
  heartbeatTimeout: retryTiming.startHeartbeatTimeoutMs,
  retry: { maximumAttempts: 1 },
  // Cancellation waits until the activity has aborted its request, so nothing is left running at the vendor's door.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** A status read is quick; it is retried until the caller's schedule-to-close budget runs out. */
const checkOptions = {
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: retryTiming.checkInitialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes,
  },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
} as const;
export const checkActivities = proxyActivities<KycActivities>(checkOptions);

/**
 * The check a callback triggers runs as a local activity, inside the callback's own workflow task: the result then
 * needs that one task, not a task to schedule the check, its dispatch, and a task to act on it (docs/performance.md,
 * figure 1). It costs the same one action. Timer-driven checks stay remote: nobody waits on them.
 */
export const callbackCheckActivities = proxyLocalActivities<KycActivities>({
  ...checkOptions,
  // Three reads (at 0, 2 and 6 s), then a remote activity takes over (see `readStatus` in the workflow): an outage
  // must neither hold the workflow task nor fill the history with the local retries' timers. Attempts, not a
  // schedule-to-close budget: the SDK kept retrying a local activity past its budget (test/status-reads.test.ts).
  retry: { ...checkOptions.retry, maximumAttempts: 3 },
});
