import type { KycVerificationState, Phase } from '../shared/contract.js';

const PHASE_TEXT: Record<Phase, string> = {
  STARTING: 'Sending the verification request to XGateway',
  AWAITING_RESULT: 'Waiting for the vendor’s decision',
  AWAITING_RESUBMISSION: 'Waiting for the merchant to fix data and resubmit',
  COMPLETED: 'Completed',
};

/** The short markdown the Temporal UI shows as the workflow's current details. */
export function renderDetails(state: KycVerificationState): string {
  const lines = [
    `**${PHASE_TEXT[state.phase]}**`,
    '',
    `- Confirmed status: \`${state.status ?? 'none yet'}\`${state.kycProcessingStatus ? ` (${state.kycProcessingStatus})` : ''}`,
    `- Attempts: ${state.attempts} (resubmissions ${state.resubmissions}/${state.maxResubmissions})`,
  ];
  if (state.nextCheckAt) lines.push(`- Next status check: ${state.nextCheckAt}`);
  if (state.resubmitBy) lines.push(`- Resubmit by: ${state.resubmitBy}`);
  if (state.docsMissing.length) lines.push(`- Missing documents: ${state.docsMissing.join(', ')}`);
  if (state.kycRejectLabel) lines.push(`- Reject label: ${state.kycRejectLabel}`);
  if (state.kycEndUserErrorMessage) lines.push(`- Vendor message: ${state.kycEndUserErrorMessage}`);
  if (state.lastError) lines.push(`- Verification request: ${state.lastError}`);
  if (state.lastCallback) {
    lines.push(`- Last callback claimed \`${state.lastCallback.status}\` at ${state.lastCallback.signalledAt}`);
  }
  return lines.join('\n');
}
