// The hand-written checks of the workflows' input and messages (no validation library in the workflow bundle), table
// by table, and the bundle itself.
import { readFile } from 'node:fs/promises';

import { describe, expect, it } from '@jest/globals';

import { checkCallbackPayload, checkUnmatchedCallbackInput, checkVerificationInput } from '../src/shared/contract.js';
import { testBundle } from './helpers/bundle.js';

const continued = {
  step: 'AWAIT_RESULT',
  state: { customerId: 'c-1' },
  callbacksChecked: 2,
  lastCallbackCheckAt: null,
  callbackChecksSinceRequest: 1,
  checkInterval: 120_000,
  resubmitRequested: false,
};

describe('checkVerificationInput', () => {
  it.each([
    [{ customerId: 'c-1' }, { customerId: 'c-1' }],
    [
      { customerId: 'c-1', timing: { firstCheckAfter: '90s', maxCheckInterval: '2h', deadline: '7d' } },
      { customerId: 'c-1', timing: { firstCheckAfter: 90_000, maxCheckInterval: 7_200_000, deadline: 604_800_000 } },
    ],
    [
      { customerId: 'c-1', timing: { resubmissionWindow: 1500 }, maxResubmissions: 0 },
      { customerId: 'c-1', timing: { resubmissionWindow: 1500 }, maxResubmissions: 0 },
    ],
    [
      { customerId: 'c-1', timing: { firstCheckAfter: '1000ms' } },
      { customerId: 'c-1', timing: { firstCheckAfter: 1000 } },
    ],
    [
      { customerId: 'c-1', continued },
      { customerId: 'c-1', continued },
    ],
    [
      { customerId: 'c-1', continued: { ...continued, requestUnsent: true, unknownOutcome: null } },
      { customerId: 'c-1', continued: { ...continued, requestUnsent: true, unknownOutcome: null } },
    ],
  ])('accepts %j', (input, checked) => {
    expect(checkVerificationInput(input)).toStrictEqual(checked);
  });

  it.each([
    [undefined, 'input: must be an object'],
    [['c-1'], 'input: must be an object'],
    [{}, 'customerId: must be a string'],
    [{ customerId: '' }, 'customerId: must be 1 to 200 characters'],
    [{ customerId: 'x'.repeat(201) }, 'customerId: must be 1 to 200 characters'],
    [{ customerId: 'a b' }, 'customerId: must not contain whitespace or slashes'],
    [{ customerId: 'a\\b' }, 'customerId: must not contain whitespace or slashes'],
    [{ customerId: 'x', colour: 'red' }, 'input: unknown field "colour"'],
    [{ customerId: 'x', timing: { firstCheck: '1m' } }, 'timing: unknown field "firstCheck"'],
    [{ customerId: 'x', timing: { deadline: 'soon' } }, 'timing.deadline: must be whole milliseconds or look like'],
    [{ customerId: 'x', timing: { deadline: 1.5e6 + 0.5 } }, 'timing.deadline: must be whole milliseconds'],
    [{ customerId: 'x', timing: { deadline: '5 m' } }, 'timing.deadline: must be whole milliseconds'],
    [{ customerId: 'x', timing: { firstCheckAfter: '999ms' } }, 'timing.firstCheckAfter: must be at least 1 second'],
    [{ customerId: 'x', timing: { deadline: '367d' } }, 'timing.deadline: must be at most 366 days'],
    [
      { customerId: 'x', timing: { firstCheckAfter: '5m', maxCheckInterval: '1m' } },
      'timing.maxCheckInterval: must not',
    ],
    [{ customerId: 'x', timing: { maxCheckInterval: '2m' } }, 'timing.maxCheckInterval: plans more than 2000'],
    [{ customerId: 'x', maxResubmissions: 21 }, 'maxResubmissions: must be 0 to 20'],
    [{ customerId: 'x', maxResubmissions: '3' }, 'maxResubmissions: must be an integer'],
    [{ customerId: 'x', continued: { ...continued, step: 'DONE' } }, 'continued.step: must be one of'],
    [{ customerId: 'x', continued: { ...continued, state: null } }, 'continued.state: must be an object'],
    [{ customerId: 'x', continued: { ...continued, checkInterval: -1 } }, 'continued.checkInterval: must be 0 to'],
    [{ customerId: 'x', continued: { ...continued, extra: 1 } }, 'continued: unknown field "extra"'],
    [{ customerId: 'x', continued: { ...continued, requestUnsent: 'yes' } }, 'continued.requestUnsent: must be true'],
  ])('refuses %j: %s', (input, message) => {
    expect(() => checkVerificationInput(input)).toThrow(message);
  });
});

describe('checkCallbackPayload', () => {
  it('keeps the claimed pair and when it arrived, and nothing else', () => {
    expect(
      checkCallbackPayload({ status: 'FULL_USER', receivedAt: '2026-11-27T00:00:00Z', customerId: 'c', hash: 'h' }),
    ).toStrictEqual({ status: 'FULL_USER', kycProcessingStatus: null, receivedAt: '2026-11-27T00:00:00Z' });
    expect(checkCallbackPayload({ status: null, kycProcessingStatus: 'VIP' })).toStrictEqual({
      status: null,
      kycProcessingStatus: 'VIP',
    });
  });

  it.each([
    [null, 'signal: must be an object'],
    [{}, 'signal.status: must be a string'],
    [{ status: 'x'.repeat(101) }, 'signal.status: must be 0 to 100 characters'],
    [{ status: 'FULL_USER', kycProcessingStatus: 7 }, 'signal.kycProcessingStatus: must be a string'],
    [{ status: 'FULL_USER', receivedAt: 'x'.repeat(41) }, 'signal.receivedAt: must be 0 to 40 characters'],
  ])('refuses %j: %s', (payload, message) => {
    expect(() => checkCallbackPayload(payload)).toThrow(message);
  });
});

describe('checkUnmatchedCallbackInput', () => {
  it('accepts the receiver’s record', () => {
    const input = {
      callback: { customerId: 'c-1', status: 'FULL_USER', kycProcessingStatus: null },
      previousStatus: null,
    };
    expect(checkUnmatchedCallbackInput(input)).toStrictEqual(input);
  });

  it.each([
    [{ previousStatus: null }, 'callback: must be an object'],
    [{ callback: { status: 'FULL_USER' }, previousStatus: null }, 'callback.customerId: must be a string'],
    [{ callback: { customerId: 'c-1', status: 'FULL_USER' } }, 'previousStatus: must be a string'],
  ])('refuses %j: %s', (input, message) => {
    expect(() => checkUnmatchedCallbackInput(input)).toThrow(message);
  });
});

describe('the workflow bundle', () => {
  // A validation library's schemas would be built again in each workflow's context: about 1.1 MiB per cached
  // verification when zod was in (docs/performance.md, figure 4).
  it('holds no validation library', async () => {
    const code = await readFile(testBundle('production').codePath, 'utf8');
    expect(code).toContain('node_modules/@temporalio/workflow/');
    expect(code).not.toMatch(/node_modules\/(zod|yup|joi|ajv|valibot)\//);
  });

  // Tests shorten the pauses between tries with a bundle of their own; the production bundle must never carry them.
  it('keeps the production pauses between tries, and only the test bundle the short ones', async () => {
    const production = await readFile(testBundle('production').codePath, 'utf8');
    const fast = await readFile(testBundle('fastRetries').codePath, 'utf8');
    // webpack names each module by its path.
    expect(production).toContain('./src/workflows/retry-timing.ts');
    expect(production).not.toContain('./test/workflows/fast-retry-timing.ts');
    expect(fast).toContain('./test/workflows/fast-retry-timing.ts');
    expect(fast).not.toContain('./src/workflows/retry-timing.ts');
  });
});
