import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';

import { FailureTypes } from '../shared/contract.js';
import { firstIssue } from '../shared/validation.js';

/** Bad input fails the workflow at once, naming the field; retrying the same input cannot help. */
export function parseWorkflowInput<S extends z.ZodType>(schema: S, raw: unknown, workflowType: string): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw ApplicationFailure.create({
    type: FailureTypes.invalidInput,
    nonRetryable: true,
    message: `Invalid ${workflowType} input: ${firstIssue(parsed.error)}`,
  });
}
