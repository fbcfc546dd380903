// The state of one verification run and its rules: what it shows (query, current details, KycStatus), how callbacks
// and readings change it, and when `resubmit` may be accepted. The workflow wires handlers and steps around it.
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

import {
  type ContinuedRun,
  DEFAULT_MAX_RESUBMISSIONS,
  type KycCallbackPayload,
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  type KycVerificationResult,
  type KycVerificationState,
  NULL_STATUS,
  type Outcome,
  UNCONFIRMED_STATUS,
  type WaitStep,
} from '../shared/contract.js';
import type { KycSnapshot } from '../shared/kyc-status.js';
import { unknownOutcomeMessage } from './decisions.js';
import { renderDetails } from './details.js';

/** Callback-triggered checks after each verification request that are never coalesced: progress, then result. */
const FREE_CALLBACK_CHECKS = 2;

export class VerificationRun {
  readonly state: KycVerificationState;
  /** `state.callbacksReceived` when the status was last read: any callback since then wakes the next check. */
  callbacksChecked: number;
  /** When a callback last triggered a check, and how many did since the last request: to coalesce a flood. */
  lastCallbackCheckAt: number | null;
  callbackChecksSinceRequest: number;
  checkInterval: number;
  /** A status check is running: `resubmit` is refused meanwhile, since the reading may end the wait. */
  checking = false;
  /** An accepted `resubmit` that the step loop has not yet turned into a request. */
  resubmitRequested: boolean;
  /**
   * The current request was not sent: the status did not accept one (an undocumented status). Once a reading shows a
   * status it can be sent from, the run sends it itself; it is still the same request, not a resubmission.
   */
  requestUnsent: boolean;
  /** Why the current request's outcome is unknown, until a reading shows that it landed; it explains `lastError`. */
  unknownOutcome: string | null;
  private publishedStatus: string | undefined;
  private readonly firstCheckAfter: number;

  constructor(
    customerId: string,
    options: { maxResubmissions?: number; firstCheckAfter: number; deadlineMs: number; continued?: ContinuedRun },
  ) {
    const { continued } = options;
    this.firstCheckAfter = options.firstCheckAfter;
    const startedAt = continued ? Date.parse(continued.state.startedAt) : Date.now();
    this.state = continued?.state ?? {
      customerId,
      phase: 'STARTING',
      status: null,
      kycProcessingStatus: null,
      attempts: 0,
      resubmissions: 0,
      maxResubmissions: options.maxResubmissions ?? DEFAULT_MAX_RESUBMISSIONS,
      docsMissing: [],
      kycRejectLabel: null,
      kycEndUserErrorMessage: null,
      callbacksReceived: 0,
      lastCallback: null,
      lastCheckAt: null,
      nextCheckAt: null,
      startedAt: iso(startedAt),
      deadlineAt: iso(startedAt + options.deadlineMs),
      resubmitBy: null,
      lastError: null,
    };
    this.callbacksChecked = continued?.callbacksChecked ?? 0;
    this.lastCallbackCheckAt = continued?.lastCallbackCheckAt ?? null;
    this.callbackChecksSinceRequest = continued?.callbackChecksSinceRequest ?? 0;
    this.checkInterval = continued?.checkInterval || options.firstCheckAfter;
    this.resubmitRequested = continued?.resubmitRequested ?? false;
    this.requestUnsent = continued?.requestUnsent ?? false;
    this.unknownOutcome = continued?.unknownOutcome ?? null;
    this.publishedStatus = workflowInfo().typedSearchAttributes.get(kycStatusSearchAttribute) ?? UNCONFIRMED_STATUS;
  }

  get deadline(): number {
    return Date.parse(this.state.deadlineAt);
  }

  get callbackPending(): boolean {
    return this.state.callbacksReceived > this.callbacksChecked;
  }

  recordCallback(callback: KycCallbackPayload): void {
    this.state.callbacksReceived += 1;
    this.state.lastCallback = {
      status: callback.status,
      kycProcessingStatus: callback.kycProcessingStatus ?? null,
      receivedAt: callback.receivedAt ?? null,
      signalledAt: iso(Date.now()),
    };
    this.render();
  }

  /** Why `resubmit` must be refused now, if it must: accepting means exactly one verification request follows. */
  resubmitRefusal(): string | undefined {
    const { phase, resubmissions, maxResubmissions } = this.state;
    if (phase !== 'AWAITING_RESUBMISSION') {
      return `resubmit is accepted only while awaiting resubmission; the phase is ${phase}`;
    }
    if (this.resubmitRequested) return 'resubmit was already accepted; the verification request follows';
    if (this.checking) return 'resubmit is not accepted while a status check runs (it may end the wait); send it again';
    if (resubmissions >= maxResubmissions) return `resubmit refused: all ${maxResubmissions} resubmissions are used`;
    return undefined;
  }

  acceptResubmit(): number {
    this.resubmitRequested = true;
    // The merchant asks for a new request: whatever became of the last one, this one is counted as new.
    this.requestUnsent = false;
    this.state.resubmissions += 1;
    this.render();
    return this.state.resubmissions;
  }

  /**
   * A new verification request: callbacks before it are answered by its own reading, coalescing starts over, and so
   * do the fallback checks, which would otherwise go on at the backed-off interval of the last request's wait.
   */
  beginRequest(): void {
    this.callbacksChecked = this.state.callbacksReceived;
    this.lastCallbackCheckAt = null;
    this.callbackChecksSinceRequest = 0;
    this.checkInterval = this.firstCheckAfter;
    this.unknownOutcome = null;
  }

  /** A check starts: it answers every callback received so far. */
  beginCheck(byCallback: boolean): void {
    this.callbacksChecked = this.state.callbacksReceived;
    if (byCallback) {
      this.lastCallbackCheckAt = Date.now();
      this.callbackChecksSinceRequest += 1;
    }
  }

  /** Until when a callback-triggered check must wait, so that a flood costs one status read a minute at most. */
  callbackCheckSpacedUntil(spacingMs: number): number {
    if (this.callbackChecksSinceRequest < FREE_CALLBACK_CHECKS || this.lastCallbackCheckAt === null) return 0;
    return this.lastCallbackCheckAt + spacingMs;
  }

  applyReading(snapshot: KycSnapshot): void {
    const { state } = this;
    state.status = snapshot.status;
    state.kycProcessingStatus = snapshot.kycProcessingStatus;
    state.docsMissing = snapshot.docsMissing;
    state.kycRejectLabel = snapshot.kycRejectLabel;
    state.kycEndUserErrorMessage = snapshot.kycEndUserErrorMessage;
    state.lastCheckAt = snapshot.checkedAt;
    state.nextCheckAt = null;
    if (this.unknownOutcome !== null) {
      // Every reading until one settles it says what is known of the lost request, even after an undocumented status.
      state.lastError = unknownOutcomeMessage(snapshot, this.unknownOutcome);
      if (state.lastError === null) this.unknownOutcome = null;
    }
  }

  /** KycStatus is upserted only when it changed, and only at resting points: each upsert is a billable action. */
  publishStatus(): void {
    const status = this.state.status ?? NULL_STATUS;
    if (status === this.publishedStatus) return;
    upsertSearchAttributes([{ key: kycStatusSearchAttribute, value: status }]);
    this.publishedStatus = status;
  }

  render(): void {
    setCurrentDetails(renderDetails(this.state));
  }

  /** What the next run needs to go on where this one stopped. */
  carryOver(step: WaitStep): ContinuedRun {
    const { state, callbacksChecked, lastCallbackCheckAt, callbackChecksSinceRequest, checkInterval } = this;
    return {
      step,
      state,
      callbacksChecked,
      lastCallbackCheckAt,
      callbackChecksSinceRequest,
      checkInterval,
      resubmitRequested: this.resubmitRequested,
      requestUnsent: this.requestUnsent,
      unknownOutcome: this.unknownOutcome,
    };
  }

  complete(outcome: Outcome): KycVerificationResult {
    const { state } = this;
    state.phase = 'COMPLETED';
    state.nextCheckAt = null;
    state.resubmitBy = null;
    this.publishStatus();
    this.render();
    return {
      customerId: state.customerId,
      outcome,
      status: state.status,
      docsMissing: state.docsMissing,
      kycRejectLabel: state.kycRejectLabel,
      kycEndUserErrorMessage: state.kycEndUserErrorMessage,
      attempts: state.attempts,
      resubmissions: state.resubmissions,
      startedAt: state.startedAt,
      completedAt: iso(Date.now()),
      confirmedAt: state.lastCheckAt,
    };
  }
}

/** Starters other than src/client.ts may not set the search attributes; one upsert makes every run searchable. */
export function ensureSearchAttributes(customerId: string): void {
  const current = workflowInfo().typedSearchAttributes;
  const missing = [];
  if (current.get(kycCustomerIdSearchAttribute) === undefined) {
    missing.push({ key: kycCustomerIdSearchAttribute, value: customerId });
  }
  if (current.get(kycStatusSearchAttribute) === undefined) {
    missing.push({ key: kycStatusSearchAttribute, value: UNCONFIRMED_STATUS });
  }
  if (missing.length) upsertSearchAttributes(missing);
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
