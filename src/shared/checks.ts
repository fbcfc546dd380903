// Checks of small plain-JSON shapes, without a validation library: the workflow bundle imports them, and a library's
// schemas there would be built again in every workflow's context (about 1.1 MiB each; docs/performance.md, figure 4).
// Outside the bundle, zod does this work (config, HTTP bodies, vendor answers).

/** Bad input, worded as `field: problem`, as `firstIssue` words a zod refusal. */
export class InputError extends Error {
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'InputError';
  }
}

export type Fields = Record<string, unknown>;

/** A plain object; with `known`, any other field is refused (a typo must not pass for an absent option). */
export function object(value: unknown, field: string, known?: readonly string[]): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InputError(field, 'must be an object');
  if (known) {
    const unknown = Object.keys(value).find((key) => !known.includes(key));
    if (unknown !== undefined) throw new InputError(field, `unknown field "${unknown}"`);
  }
  return value as Fields;
}

export function text(value: unknown, field: string, { min = 0, max }: { min?: number; max: number }): string {
  if (typeof value !== 'string') throw new InputError(field, 'must be a string');
  if (value.length < min || value.length > max) throw new InputError(field, `must be ${min} to ${max} characters`);
  return value;
}

/** Text, or null; absent (undefined) reads as null. */
export function textOrNull(value: unknown, field: string, max: number): string | null {
  return value === null || value === undefined ? null : text(value, field, { max });
}

export function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value)) throw new InputError(field, 'must be an integer');
  if ((value as number) < min || (value as number) > max) throw new InputError(field, `must be ${min} to ${max}`);
  return value as number;
}

export function boolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new InputError(field, 'must be true or false');
  return value;
}

/** Runs `check` on a field that may be absent. */
export function optional<T>(value: unknown, check: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}
