// Assertions on how a workflow failed; in a file of its own, because test/helpers/kyc.ts also serves scripts that run
// outside jest (npm run record-histories), where @jest/globals cannot be imported.
import { expect } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

/** The application failure a workflow failed with; fails the test if it did not fail so. */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}
