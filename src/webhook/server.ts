// The XGateway KYC callback receiver's HTTP layer: parse, verify, limit, validate, answer. What happens to an
// authentic callback in Temporal is the router's job (callback-router.ts).
import rateLimit from '@fastify/rate-limit';
import type { Client } from '@temporalio/client';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';

import { createLogger } from '../logging.js';
import { firstIssue } from '../shared/validation.js';
import { verifyCallbackHash } from '../xgateway/callback-hash.js';
import { kycCallbackBodySchema } from '../xgateway/schemas.js';
import type { CallbackContent } from './callback-digest.js';
import { createCallbackRouter, type Delivered } from './callback-router.js';
import type { FailureReason, RejectionReason, WebhookMetrics } from './metrics.js';
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
  /** One unmatched-callback record per customer and claimed status pair in this window. Default 24 h. */
  unmatchedWindowMs?: number;
  /** Authentic callbacks per customer and minute that reach Temporal, per replica; more get 429. Default 30. */
  rateLimitPerMinute?: number;
  /** The receiver's clock, for `receivedAt` and the unmatched window; tests move it. */
  now?: () => Date;
}

/** Builds the receiver (not yet listening): `POST /callbacks/kyc`, `GET /healthz`, `GET /readyz`. */
export async function createWebhookServer(options: WebhookServerOptions): Promise<FastifyInstance> {
  const { client, taskQueue, secretKeys, metrics } = options;
  if (secretKeys.length === 0 || secretKeys.some((key) => key.length === 0)) {
    throw new Error('createWebhookServer: secretKeys must hold at least one non-empty key');
  }
  const temporalTimeoutMs = options.temporalTimeoutMs ?? 5000;
  const readyTimeoutMs = options.readyTimeoutMs ?? 2000;
  const rateLimitPerMinute = options.rateLimitPerMinute ?? 30;
  const now = options.now ?? (() => new Date());
  const router = createCallbackRouter({ client, taskQueue, metrics, unmatchedWindowMs: options.unmatchedWindowMs });

  const app = Fastify({
    loggerInstance: options.logger ?? createLogger('kyc-webhook'),
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
      return reject(reply, 400, 'invalid_body', `invalid callback: ${firstIssue(parsed.error, 'body')}`);
    }

    // Only what the workflow uses travels on: free text would grow every history and is read from the status API.
    const body = parsed.data;
    const content: CallbackContent = {
      customerId: body.customerId,
      status: body.status,
      kycProcessingStatus: body.kycProcessingStatus,
    };
    const log = reply.log.child({ customerId: content.customerId, status: content.status });
    let delivered: Delivered;
    try {
      delivered = await client.withDeadline(Date.now() + temporalTimeoutMs, () =>
        router.route(content, now(), log, () => reply.elapsedTime / 1000),
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
    return { ok: true, ...delivered };
  });

  return app;
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
