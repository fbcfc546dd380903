import { ApplicationFailure } from '@temporalio/workflow';

import { InputError } from '../shared/checks.js';
import { FailureTypes } from '../shared/contract.js';

/** Bad input fails the workflow at once, naming the field; retrying the same input cannot help. */
export function parseWorkflowInput<T>(check: (raw: unknown) => T, raw: unknown, workflowType: string): T {
  try {
    return check(raw);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    throw ApplicationFailure.create({
      type: FailureTypes.invalidInput,
      nonRetryable: true,
      message: `Invalid ${workflowType} input: ${error.message}`,
    });
  }
}
