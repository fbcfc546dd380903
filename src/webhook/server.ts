// The XGateway KYC callback receiver: verify, normalise, hand to Temporal, answer. Temporal is the only store.
import { VERIFICATION_IN_PROGRESS } from '../shared/kyc-status.js';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import rateLimit from '@fastify/rate-limit';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  kycCallbackSignal,
  kycCustomerIdSearchAttribute,
  kycStatusSearchAttribute,
  UNCONFIRMED_STATUS,
  UNMATCHED_CALLBACK_WORKFLOW_TYPE,
  unmatchedCallbackWorkflowId,
  verificationWorkflowId,
  type KycCallbackPayload,
  type UnmatchedCallbackInput,
} from '../shared/contract.js';
import { verifyCallbackHash } from '../xgateway/callback-hash.js';
import { kycCallbackBodySchema } from '../xgateway/schemas.js';
import { callbackDigest, signalRequestId, type CallbackContent } from './callback-digest.js';
import { createWebhookLogger } from './logger.js';
import type { FailureReason, RejectionReason, WebhookMetrics } from './metrics.js';
import { RecentCallbacks, type RecentCallbacksOptions } from './recent-callbacks.js';
import { classifyTemporalError } from './temporal-errors.js';

export const CALLBACK_PATH = '/callbacks/kyc';
/** Callbacks are a few hundred bytes; anything near this is not XGateway. */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** `application/json` and `application/*+json`, parameters allowed (fastify hands over the normalised header). */
const JSON_CONTENT_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json(?:\s*;|$)/;

export interface WebhookServerOptions {
  client: Client;
  taskQueue: string;
  /** Current key first, then the previous one during a rotation. */
  secretKeys: readonly string[];
  metrics: WebhookMetrics;
  logger?: FastifyBaseLogger;
  /** Budget for all Temporal calls of one callback, so an outage answers 503 instead of hanging. */
  temporalTimeoutMs?: number;
  /** Budget of the `/readyz` probe. */
  readyTimeoutMs?: number;
  /** Per-replica memory of delivered callbacks. */
  recentCallbacks?: RecentCallbacks | RecentCallbacksOptions;
  /** Repeats within one window share a signal request id, which Temporal de-duplicates. */
  dedupeWindowMs?: number;
  /** One unmatched-callback record per customer and claimed status pair in this window. Default 24 h. */
  unmatchedWindowMs?: number;
  /** Authentic callbacks per customer and minute that reach Temporal, per replica; more get 429. Default 30. */
  rateLimitPerMinute?: number;
  now?: () => Date;
}

export type CallbackOutcome = 'signalled' | 'unmatched' | 'duplicate' | 'progress';

/** What the receiver keeps of an authentic callback: whose it is, what it claims, and when it came. */
type ClaimedCallback = CallbackContent & { receivedAt: string };

interface Delivered {
  outcome: CallbackOutcome;
  workflowId: string;
}

/** Builds the receiver (not yet listening): `POST /callbacks/kyc`, `GET /healthz`, `GET /readyz`. */
export async function createWebhookServer(options: WebhookServerOptions): Promise<FastifyInstance> {
  const { client, taskQueue, secretKeys, metrics } = options;
  if (secretKeys.length === 0 || secretKeys.some((key) => key.length === 0)) {
    throw new Error('createWebhookServer: secretKeys must hold at least one non-empty key');
  }
  const temporalTimeoutMs = options.temporalTimeoutMs ?? 5000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;
  const dedupeWindowMs = options.dedupeWindowMs ?? 5 * 60_000;
  const unmatchedWindowMs = options.unmatchedWindowMs ?? 24 * 60 * 60_000;
  const rateLimitPerMinute = options.rateLimitPerMinute ?? 30;
  const now = options.now ?? (() => new Date());
  const recent =
    options.recentCallbacks instanceof RecentCallbacks
      ? options.recentCallbacks
      : new RecentCallbacks({ ttlMs: dedupeWindowMs, ...options.recentCallbacks });

  const app = Fastify({
    loggerInstance: options.logger ?? createWebhookLogger(),
    // One line per callback, written by the handler with customerId and workflowId, instead of two generic ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
  });

  // Only JSON is accepted; the stock parsers (text/plain, fastify's JSON error shapes) are replaced.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPE, { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new MalformedJsonError(), undefined);
    }
  });

  app.addHook('onRequest', async (request) => {
    if (request.method === 'POST' && request.routeOptions.url === CALLBACK_PATH) metrics.received.inc();
  });

  const reject = (reply: FastifyReply, status: number, reason: RejectionReason, error: string, customerId?: string) => {
    metrics.rejected.inc({ reason });
    reply.log.warn({ reason, statusCode: status, customerId: customerId?.slice(0, 200) }, 'callback rejected');
    return reply.code(status).send({ error });
  };

  app.setErrorHandler((error, request, reply) => {
    const mapped = mapRequestError(error);
    if (!mapped) {
      reply.log.error({ err: error }, 'unexpected error');
      if (request.routeOptions.url === CALLBACK_PATH) metrics.failed.inc({ reason: 'internal' });
      return reply.code(500).send({ error: 'internal error' });
    }
    if (request.routeOptions.url === CALLBACK_PATH) return reject(reply, mapped.status, mapped.reason, mapped.error);
    return reply.code(mapped.status).send({ error: mapped.error });
  });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not found' }));

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await client.withDeadline(Date.now() + readyTimeoutMs, () => client.workflowService.getSystemInfo({}));
      return { ok: true };
    } catch (error) {
      reply.log.warn({ kind: classifyTemporalError(error) }, 'temporal not ready');
      return reply.code(503).send({ error: 'temporal unreachable' });
    }
  });

  // Per verified customer, so that a sender without the hash cannot spend a customer's budget. In memory per replica:
  // the limit bounds what one replica hands to Temporal, and XGateway retries a refused callback.
  await app.register(rateLimit, { global: false });
  const limitPerCustomer = app.rateLimit({
    max: rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `customer:${verifiedCustomers.get(request) ?? ''}`,
    // The refusal reaches the error handler, which counts and logs it like any other.
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: `too many callbacks for this customer; retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });
  const verifiedCustomers = new WeakMap<object, string>();

  /** Authenticates before anything else is read, so an unauthenticated sender learns nothing about the schema. */
  async function verify(request: FastifyRequest, reply: FastifyReply) {
    // No content-type and no body: fastify skips the parsers, so the media type is refused here.
    if (request.body === undefined) {
      return reject(reply, 415, 'unsupported_media_type', 'content-type must be application/json');
    }
    const claimed = claimedIdentity(request.body);
    if (!claimed) {
      return reject(reply, 400, 'invalid_body', 'body must be a JSON object with string customerId and hash');
    }
    if (!verifyCallbackHash(claimed.customerId, claimed.hash, secretKeys)) {
      return reject(reply, 401, 'bad_hash', 'hash does not match', claimed.customerId);
    }
    metrics.hashVerified.inc();
    verifiedCustomers.set(request, claimed.customerId);
    return undefined;
  }

  app.post<{ Body: unknown }>(CALLBACK_PATH, { preHandler: [verify, limitPerCustomer] }, async (request, reply) => {
    const parsed = kycCallbackBodySchema.safeParse(request.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
      return reject(reply, 400, 'invalid_body', `invalid callback: ${where}${issue?.message ?? 'invalid'}`);
    }

    // Only what the workflow uses travels on: free text would grow every history and is read from the status API.
    const body = parsed.data;
    const content: CallbackContent = {
      customerId: body.customerId,
      status: body.status,
      kycProcessingStatus: body.kycProcessingStatus,
    };
    const digest = callbackDigest(content);
    const workflowId = verificationWorkflowId(content.customerId);
    const log = reply.log.child({ customerId: content.customerId, workflowId, digest, status: content.status });

    const seen = recent.get(digest);
    if (seen) {
      metrics.duplicates.inc();
      log.info({ outcome: 'duplicate', deliveredAs: seen.outcome, targetWorkflowId: seen.workflowId }, 'callback');
      return { ok: true, outcome: 'duplicate', workflowId: seen.workflowId };
    }

    const receivedAt = now();
    const payload: ClaimedCallback = { ...content, receivedAt: receivedAt.toISOString() };
    let delivered: Delivered;
    try {
      delivered = await client.withDeadline(Date.now() + temporalTimeoutMs, () =>
        deliver(payload, digest, receivedAt, reply, log),
      );
    } catch (error) {
      const kind = classifyTemporalError(error);
      const reason: FailureReason = kind === 'unavailable' ? 'temporal_unavailable' : 'internal';
      metrics.failed.inc({ reason });
      if (reason === 'temporal_unavailable') {
        log.warn({ err: error, outcome: 'failed' }, 'temporal unavailable; XGateway will retry');
        return reply.code(503).send({ error: 'temporal unavailable, retry later' });
      }
      log.error({ err: error, outcome: 'failed' }, 'callback could not be delivered');
      return reply.code(500).send({ error: 'internal error' });
    }
    recent.set(digest, {
      outcome: delivered.outcome === 'duplicate' ? 'unmatched' : delivered.outcome,
      workflowId: delivered.workflowId,
    });
    return { ok: true, ...delivered };
  });

  /** Signals the open verification; without one, records the callback as an unmatched-callback workflow. */
  async function deliver(
    payload: ClaimedCallback,
    digest: string,
    receivedAt: Date,
    reply: FastifyReply,
    log: FastifyBaseLogger,
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
      if (description?.status.name === 'RUNNING' && (published === UNCONFIRMED_STATUS || published === 'KYC_PENDING')) {
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
      await signalOnce(workflowId, signal, signalRequestId(digest, Math.floor(receivedAt.getTime() / dedupeWindowMs)));
      metrics.signalLatency.observe(reply.elapsedTime / 1000);
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

  return app;
}

/** "Verification in progress": what the open workflow already confirmed after sending its request. */
function isProgressReport(payload: ClaimedCallback): boolean {
  return payload.status === 'KYC_PENDING' && payload.kycProcessingStatus === VERIFICATION_IN_PROGRESS;
}

/** The JSON body did not parse. */
export class MalformedJsonError extends Error {
  static readonly code = 'KYC_WEBHOOK_MALFORMED_JSON';
  override name = 'MalformedJsonError';
  readonly statusCode = 400;
  readonly code = MalformedJsonError.code;
}

function claimedIdentity(body: unknown): { customerId: string; hash: string } | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const { customerId, hash } = body as Record<string, unknown>;
  return typeof customerId === 'string' && typeof hash === 'string' ? { customerId, hash } : undefined;
}

/** One explicit status per failure fastify raises before the handler runs; undefined means unexpected (a 500). */
function mapRequestError(error: unknown): { status: number; reason: RejectionReason; error: string } | undefined {
  const { code, statusCode } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    statusCode?: unknown;
  };
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, reason: 'body_too_large', error: `body exceeds ${BODY_LIMIT_BYTES} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return { status: 415, reason: 'unsupported_media_type', error: 'content-type must be application/json' };
    case MalformedJsonError.code:
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { status: 400, reason: 'malformed_json', error: 'body is not valid JSON' };
  }
  // The per-customer rate limit; its Retry-After header is already on the reply.
  if (statusCode === 429) {
    const { error: message } = error as { error?: unknown };
    return { status: 429, reason: 'rate_limited', error: typeof message === 'string' ? message : 'too many callbacks' };
  }
  // Other client errors fastify detects (e.g. a content-length that does not match the body).
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, reason: 'bad_request', error: 'bad request' };
  }
  return undefined;
}
