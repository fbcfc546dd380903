import { log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';

import {
  checkUnmatchedCallbackInput,
  kycReversalSearchAttribute,
  kycStatusSearchAttribute,
  NULL_STATUS,
  type UnmatchedCallbackInput,
  type UnmatchedCallbackResult,
} from '../shared/contract.js';
import { KYC_STATUS } from '../shared/kyc-status.js';
import { checkActivities } from './activity-proxies.js';
import { parseWorkflowInput } from './input.js';

/**
 * The durable record of a callback that no open verification was waiting for. It confirms the status through the
 * status API and flags a reversal: a verified customer (FULL_USER) who no longer is.
 */
export async function kycUnmatchedCallbackWorkflow(rawInput: UnmatchedCallbackInput): Promise<UnmatchedCallbackResult> {
  const { callback, previousStatus } = parseWorkflowInput(
    checkUnmatchedCallbackInput,
    rawInput,
    'kycUnmatchedCallbackWorkflow',
  );
  const { customerId } = callback;
  const snapshot = await checkActivities.checkStatus.executeWithOptions(
    { summary: 'Confirm the unmatched callback’s status', scheduleToCloseTimeout: '1 day' },
    [{ customerId }],
  );
  const reversal = previousStatus === KYC_STATUS.FULL_USER && snapshot.status !== KYC_STATUS.FULL_USER;
  // One upsert: the confirmed status, and the reversal flag that operators filter on (`KycReversal = true`).
  upsertSearchAttributes([
    { key: kycStatusSearchAttribute, value: snapshot.status ?? NULL_STATUS },
    ...(reversal ? [{ key: kycReversalSearchAttribute, value: true }] : []),
  ]);
  setCurrentDetails(
    [
      reversal ? '**⚠ REVERSAL: a verified customer is no longer FULL_USER**' : '**Unmatched KYC callback recorded**',
      '',
      `- Callback claimed: \`${callback.status}\``,
      `- Status API confirms: \`${snapshot.status}\` at ${snapshot.checkedAt}`,
      `- Last verification's status: \`${previousStatus ?? 'unknown'}\``,
    ].join('\n'),
  );
  if (reversal) log.warn('KYC reversal: a verified customer is no longer FULL_USER', { customerId, ...snapshot });
  else log.info('Unmatched KYC callback recorded', { customerId, confirmedStatus: snapshot.status });
  return {
    customerId,
    claimedStatus: callback.status,
    confirmedStatus: snapshot.status,
    reversal,
    confirmedAt: snapshot.checkedAt,
  };
}
