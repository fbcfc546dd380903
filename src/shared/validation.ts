// One wording for a failed zod parse, everywhere a refusal names what was wrong: config, inputs, bodies, answers.
import type { z } from 'zod';

/** The first problem of a failed parse as `field: message`; `whole` names the value when the problem is the root. */
export function firstIssue(error: z.ZodError, whole = 'input'): string {
  const issue = error.issues[0];
  const field = issue?.path.length ? issue.path.join('.') : whole;
  return `${field}: ${issue?.message ?? 'invalid value'}`;
}
