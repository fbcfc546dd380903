import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { KycActivities } from '../activities/index.js';
import { FailureTypes } from '../shared/contract.js';

/** Failures that retrying cannot fix; everything else Temporal retries with backoff. */
const nonRetryableErrorTypes = [
  FailureTypes.preconditionMissing,
  FailureTypes.unauthorized,
  FailureTypes.requestRejected,
];

/** The verification POST can take minutes: a long start-to-close, and heartbeats to notice a dead worker sooner. */
export const startActivities = proxyActivities<KycActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes },
  // Cancellation waits until the activity has aborted its request, so nothing is left running at the vendor's door.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** A status read is quick; it is retried until the caller's schedule-to-close budget runs out. */
export const checkActivities = proxyActivities<KycActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', nonRetryableErrorTypes },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});
