// A changed kycVerificationWorkflow that issues a different first command: replaying a committed history with it
// must fail, which proves the replay tests would catch an unversioned change.
import { sleep } from '@temporalio/workflow';

import type { KycVerificationInput, KycVerificationResult } from '../../src/shared/contract.js';
import { kycVerificationWorkflow as original } from '../../src/workflows/kyc-verification.js';

export async function kycVerificationWorkflow(input: KycVerificationInput): Promise<KycVerificationResult> {
  await sleep('1 second');
  return original(input);
}
