// What happens to an authentic KYC callback in Temporal: a duplicate is dropped, a progress report for an open
// verification is acknowledged, anything else signals the open verification, and without one it is recorded as an
// unmatched-callback workflow. Temporal is the only store; the recent-callback cache only saves round trips.
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { FastifyBaseLogger } from 'fastify';

import {
  type KycCallbackPayload,
  kycCallbackSignal,
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  UNCONFIRMED_STATUS,
  UNMATCHED_CALLBACK_WORKFLOW_TYPE,
  type UnmatchedCallbackInput,
  unmatchedCallbackWorkflowId,
  verificationWorkflowId,
} from '../shared/contract.js';
import { KYC_STATUS, VERIFICATION_IN_PROGRESS } from '../shared/kyc-status.js';
import { type CallbackContent, callbackDigest, signalRequestId } from './callback-digest.js';
import type { WebhookMetrics } from './metrics.js';
import { RecentCallbacks } from './recent-callbacks.js';
import { classifyTemporalError } from './temporal-errors.js';

/** Repeats within this window share a signal request id, which Temporal de-duplicates, and the cache's lifetime. */
const DEDUPE_WINDOW_MS = 5 * 60_000;

export type CallbackOutcome = 'signalled' | 'unmatched' | 'duplicate' | 'progress';

export interface Delivered {
  outcome: CallbackOutcome;
  workflowId: string;
}

/** What the receiver keeps of an authentic callback: whose it is, what it claims, and when it came. */
type ClaimedCallback = CallbackContent & { receivedAt: string };

export interface CallbackRouterOptions {
  client: Client;
  /** Where unmatched-callback records run. */
  taskQueue: string;
  metrics: WebhookMetrics;
  /** One unmatched-callback record per customer and claimed status pair in this window. Default 24 h. */
  unmatchedWindowMs?: number;
}

export function createCallbackRouter(options: CallbackRouterOptions) {
  const { client, taskQueue, metrics } = options;
  const unmatchedWindowMs = options.unmatchedWindowMs ?? 24 * 60 * 60_000;
  const recent = new RecentCallbacks({ ttlMs: DEDUPE_WINDOW_MS });

  /**
   * Hands one authentic callback to Temporal and says what became of it. Temporal failures are thrown: the HTTP
   * layer turns them into 503, which XGateway retries. `elapsedSeconds` times the signal for the latency histogram.
   */
  async function route(
    content: CallbackContent,
    receivedAt: Date,
    requestLog: FastifyBaseLogger,
    elapsedSeconds: () => number,
  ): Promise<Delivered> {
    const digest = callbackDigest(content);
    const log = requestLog.child({ workflowId: verificationWorkflowId(content.customerId), digest });
    const seen = recent.get(digest);
    if (seen) {
      metrics.duplicates.inc();
      log.info({ outcome: 'duplicate', deliveredAs: seen.outcome, targetWorkflowId: seen.workflowId }, 'callback');
      return { outcome: 'duplicate', workflowId: seen.workflowId };
    }
    const payload: ClaimedCallback = { ...content, receivedAt: receivedAt.toISOString() };
    const delivered = await deliver(payload, digest, receivedAt, log, elapsedSeconds);
    recent.set(digest, {
      outcome: delivered.outcome === 'duplicate' ? 'unmatched' : delivered.outcome,
      workflowId: delivered.workflowId,
    });
    return delivered;
  }

  /** Signals the open verification; without one, records the callback as an unmatched-callback workflow. */
  async function deliver(
    payload: ClaimedCallback,
    digest: string,
    receivedAt: Date,
    log: FastifyBaseLogger,
    elapsedSeconds: () => number,
  ): Promise<Delivered> {
    const workflowId = verificationWorkflowId(payload.customerId);
    if (isProgressReport(payload)) {
      // The workflow confirms this status itself right after its POST: a signal would change nothing and cost a
      // billable action. A describe is free. While the run waits for a resubmission (it has then published
      // SOFT_KYC_FAILED or the like), the report is news: the merchant restarted the verification elsewhere.
      const description = await client.workflow
        .getHandle(workflowId)
        .describe()
        .catch((error: unknown) => {
          if (classifyTemporalError(error) === 'not_found') return undefined;
          throw error;
        });
      const published = description?.typedSearchAttributes.get(kycStatusSearchAttribute);
      if (
        description?.status.name === 'RUNNING' &&
        (published === UNCONFIRMED_STATUS || published === KYC_STATUS.KYC_PENDING)
      ) {
        metrics.progress.inc();
        log.info({ outcome: 'progress' }, 'callback');
        return { outcome: 'progress', workflowId };
      }
    }
    try {
      const signal: KycCallbackPayload = {
        status: payload.status,
        kycProcessingStatus: payload.kycProcessingStatus,
        receivedAt: payload.receivedAt,
      };
      await signalOnce(
        workflowId,
        signal,
        signalRequestId(digest, Math.floor(receivedAt.getTime() / DEDUPE_WINDOW_MS)),
      );
      metrics.signalLatency.observe(elapsedSeconds());
      metrics.signalled.inc();
      log.info({ outcome: 'signalled' }, 'callback');
      return { outcome: 'signalled', workflowId };
    } catch (error) {
      // Closed or never started: the signal must not start a verification, so it is recorded instead.
      if (classifyTemporalError(error) !== 'not_found') throw error;
    }

    // Free text makes no new record; the same claim after the window is recorded again (e.g. a second reversal).
    const unmatchedId = unmatchedCallbackWorkflowId(
      payload.customerId,
      digest,
      Math.floor(receivedAt.getTime() / unmatchedWindowMs),
    );
    const previousStatus = await previousStatusOf(payload.customerId, log);
    const input: UnmatchedCallbackInput = { callback: { ...payload }, previousStatus };
    try {
      await client.workflow.start(UNMATCHED_CALLBACK_WORKFLOW_TYPE, {
        taskQueue,
        workflowId: unmatchedId,
        args: [input],
        // Conflict policy FAIL (the default) rather than USE_EXISTING: the error is what tells a repeat apart.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: kycCustomerIdSearchAttribute, value: payload.customerId },
          { key: kycStatusSearchAttribute, value: UNCONFIRMED_STATUS },
        ],
        staticSummary: `Unmatched KYC callback for ${payload.customerId} claiming ${payload.status ?? 'null'}`,
      });
    } catch (error) {
      if (classifyTemporalError(error) !== 'already_started') throw error;
      metrics.duplicates.inc();
      log.info({ outcome: 'duplicate', targetWorkflowId: unmatchedId }, 'callback');
      return { outcome: 'duplicate', workflowId: unmatchedId };
    }
    metrics.unmatched.inc();
    log.warn(
      { outcome: 'unmatched', targetWorkflowId: unmatchedId, previousStatus },
      'callback with no open verification; recorded for confirmation',
    );
    return { outcome: 'unmatched', workflowId: unmatchedId };
  }

  /**
   * `handle.signal` always sends a random request id; the raw call lets repeats share one, so the server drops them.
   * It bypasses client interceptors and external payload storage, neither of which this process configures.
   */
  async function signalOnce(workflowId: string, payload: KycCallbackPayload, requestId: string): Promise<void> {
    const { loadedDataConverter, namespace, identity } = client.options;
    let payloads = [loadedDataConverter.payloadConverter.toPayload(payload)];
    for (const codec of loadedDataConverter.payloadCodecs) payloads = await codec.encode(payloads);
    await client.workflowService.signalWorkflowExecution({
      namespace,
      identity,
      requestId,
      workflowExecution: { workflowId },
      signalName: kycCallbackSignal.name,
      input: { payloads },
    });
  }

  /** The status the customer's last verification ended with, if it completed; context for reversal checks. */
  async function previousStatusOf(customerId: string, log: FastifyBaseLogger): Promise<string | null> {
    const handle = client.workflow.getHandle(verificationWorkflowId(customerId));
    try {
      const description = await handle.describe();
      if (description.status.name !== 'COMPLETED') return null;
      const result: unknown = await handle.result();
      if (typeof result === 'object' && result !== null && 'status' in result && typeof result.status === 'string') {
        return result.status;
      }
      return null;
    } catch (error) {
      const kind = classifyTemporalError(error);
      if (kind === 'unavailable') throw error;
      if (kind !== 'not_found') log.warn({ err: error }, 'could not read the last verification; previousStatus null');
      return null;
    }
  }

  return { route };
}

/** "Verification in progress": what the open workflow already confirmed after sending its request. */
function isProgressReport(payload: ClaimedCallback): boolean {
  return payload.status === KYC_STATUS.KYC_PENDING && payload.kycProcessingStatus === VERIFICATION_IN_PROGRESS;
}
