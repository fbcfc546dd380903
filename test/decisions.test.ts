// The workflow's pure decisions, table by table.
import { describe, expect, it } from '@jest/globals';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure } from '@temporalio/common';

import {
  classifyStartFailure,
  isBudgetExhausted,
  startRetryDelay,
  stepAfterUnknownOutcome,
  stepForStatus,
  unknownOutcomeMessage,
} from '../src/workflows/decisions.js';

const VIP = 'VERIFICATION_IN_PROGRESS';

describe('stepForStatus', () => {
  it.each([
    ['FULL_USER', null, 'VERIFIED'],
    ['HARD_KYC_FAILED', null, 'REJECTED'],
    ['SOFT_KYC_FAILED', null, 'AWAIT_RESUBMISSION'],
    ['PENDING_KYC_DATA', null, 'AWAIT_RESUBMISSION'],
    ['KYC_NEEDED', null, 'AWAIT_RESUBMISSION'],
    ['PENDING_KYC_DATA', 'DOCUMENT_UPLOAD_IN_PROGRESS', 'AWAIT_RESULT'],
    ['KYC_PENDING', VIP, 'AWAIT_RESULT'],
    ['KYC_PENDING', null, 'AWAIT_RESULT'],
    ['SOMETHING_UNDOCUMENTED', null, 'AWAIT_RESULT'],
  ])('%s / %s -> %s', (status, kycProcessingStatus, step) => {
    expect(stepForStatus({ status, kycProcessingStatus })).toBe(step);
  });

  it.each([
    // The request was never sent (the status did not accept one): a status it can be sent from sends it now.
    ['SOFT_KYC_FAILED', null, 'START'],
    ['PENDING_KYC_DATA', null, 'START'],
    ['KYC_NEEDED', null, 'START'],
    ['KYC_PENDING', null, 'START'],
    ['KYC_PENDING', VIP, 'AWAIT_RESULT'],
    ['PENDING_KYC_DATA', 'DOCUMENT_UPLOAD_IN_PROGRESS', 'AWAIT_RESULT'],
    ['SOMETHING_UNDOCUMENTED', null, 'AWAIT_RESULT'],
    ['FULL_USER', null, 'VERIFIED'],
    ['HARD_KYC_FAILED', null, 'REJECTED'],
  ])('with the request unsent: %s / %s -> %s', (status, kycProcessingStatus, step) => {
    expect(stepForStatus({ status, kycProcessingStatus }, true)).toBe(step);
  });
});

describe('stepAfterUnknownOutcome', () => {
  it.each([
    // No sign that the request landed: the merchant decides.
    ['SOFT_KYC_FAILED', null, 'AWAIT_RESUBMISSION'],
    ['PENDING_KYC_DATA', null, 'AWAIT_RESUBMISSION'],
    ['KYC_PENDING', null, 'AWAIT_RESUBMISSION'],
    // It landed, or the status moved where it could not be sent from.
    ['KYC_PENDING', VIP, 'AWAIT_RESULT'],
    ['FULL_USER', null, 'VERIFIED'],
    ['HARD_KYC_FAILED', null, 'REJECTED'],
    ['SOMETHING_UNDOCUMENTED', null, 'AWAIT_RESULT'],
  ])('%s / %s -> %s', (status, kycProcessingStatus, step) => {
    expect(stepAfterUnknownOutcome({ status, kycProcessingStatus })).toBe(step);
  });
});

describe('unknownOutcomeMessage', () => {
  it.each([
    ['PENDING_KYC_DATA', null, /^Outcome unknown: reset\. The status shows no sign .*send resubmit/],
    ['SOFT_KYC_FAILED', null, /^Outcome unknown: reset\. The status shows no sign/],
    ['SOMETHING_UNDOCUMENTED', null, /^Outcome unknown: reset\. The status SOMETHING_UNDOCUMENTED does not show yet/],
    // It landed: nothing to say.
    ['KYC_PENDING', VIP, null],
    ['FULL_USER', null, null],
    ['HARD_KYC_FAILED', null, null],
  ])('%s / %s', (status, kycProcessingStatus, expected) => {
    const message = unknownOutcomeMessage({ status, kycProcessingStatus }, 'reset');
    if (expected === null) expect(message).toBeNull();
    else expect(message).toMatch(expected);
  });
});

function activityFailure(cause: Error, retryState: RetryState = RetryState.NON_RETRYABLE_FAILURE): ActivityFailure {
  return new ActivityFailure('Activity task failed', 'startVerification', '1', retryState, 'worker', cause);
}
const app = (type: string, requestSent: false | 'unknown' | undefined) =>
  ApplicationFailure.create({ type, message: type, details: requestSent === undefined ? [] : [{ requestSent }] });

describe('classifyStartFailure', () => {
  it.each([
    ['a missing precondition', activityFailure(app('KycPreconditionError', false)), 'REFUSED'],
    ['a rejected API key', activityFailure(app('XGatewayUnauthorizedError', false)), 'REFUSED'],
    ['a vendor refusal', activityFailure(app('XGatewayRequestRejectedError', false)), 'REFUSED'],
    ['a read that failed before the POST', activityFailure(app('XGatewayUnavailableError', false)), 'NOT_SENT'],
    ['a refused connection', activityFailure(app('XGatewayNotReachedError', false)), 'NOT_SENT'],
    ['a lost answer', activityFailure(app('KycRequestOutcomeUnknownError', 'unknown')), 'UNKNOWN'],
    ['a failure without details', activityFailure(app('TypeError', undefined)), 'UNKNOWN'],
    ['a heartbeat timeout', activityFailure(new TimeoutFailure('timed out', undefined, 'HEARTBEAT')), 'UNKNOWN'],
    ['something that is no activity failure', new Error('boom'), 'UNKNOWN'],
  ])('%s is %s', (_what, error, kind) => {
    expect(classifyStartFailure(error)).toBe(kind);
  });
});

describe('isBudgetExhausted', () => {
  it.each([
    [
      'retries ended by the deadline, last failure as cause',
      activityFailure(app('X', false), RetryState.TIMEOUT),
      true,
    ],
    ['a schedule-to-close timeout', activityFailure(new TimeoutFailure('t', undefined, 'SCHEDULE_TO_CLOSE')), true],
    ['a heartbeat timeout of one attempt', activityFailure(new TimeoutFailure('t', undefined, 'HEARTBEAT')), false],
    ['a non-retryable failure', activityFailure(app('X', false)), false],
  ])('%s: %s', (_what, error, expected) => {
    expect(isBudgetExhausted(error)).toBe(expected);
  });
});

describe('startRetryDelay', () => {
  it.each([
    [0, null, 1_000],
    [1, null, 2_000],
    [3, null, 8_000],
    [20, null, 300_000],
    [0, 7_000, 7_000],
    [5, 7_000, 32_000],
    [0, 3_600_000, 3_600_000],
  ])('retry %i with Retry-After %p waits %i ms', (retry, retryAfterMs, delay) => {
    expect(startRetryDelay(retry, retryAfterMs)).toBe(delay);
  });
});
