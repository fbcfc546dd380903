// A fake XGateway for tests, the demo and benchmarks: the two KYC endpoints this project calls, KYC callbacks, and a
// control API under /__sandbox/ that scripts customers and shows what the sandbox received. In memory only.
import { createHash, timingSafeEqual } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';

import { STARTABLE_STATUSES, VERIFICATION_IN_PROGRESS } from '../shared/kyc-status.js';
import { firstIssue } from '../shared/validation.js';
import { type CallbackAttempt, createCallbackSender } from './callbacks.js';
import {
  type BehaviourPatch,
  behaviourPatchSchema,
  createCustomer,
  type Customer,
  type CustomerScript,
  customerScriptSchema,
  type Fault,
  happens,
  nextOutcome,
  pickOne,
  type StatusUpdate,
  statusUpdateSchema,
  UNDOCUMENTED_STATUS,
} from './scenarios.js';

export const API_PREFIX = '/api/v2';
export const CONTROL_PREFIX = '/__sandbox';

export interface SandboxOptions {
  /** Expected in `x-api-key`. */
  apiKey: string;
  /** Used only for callback hashes. */
  secretKey: string;
  /** Where callbacks go unless a customer's script says otherwise. Without one, callbacks are logged as failed. */
  callbackUrl?: string;
  /** From acceptance of a verification to its outcome. Default 2000. */
  processingDelayMs?: number;
  /** How long a `slow-` customer's POST takes to answer. Default 90000. */
  slowPostMs?: number;
  /** First retry delay of a failed callback; doubles each time. Default 500. */
  callbackRetryBaseMs?: number;
  /** Retries after the first delivery attempt. Default 10, as the vendor documents. */
  callbackMaxRetries?: number;
  /** Upper bound of one delivery attempt. Default 10000. */
  callbackTimeoutMs?: number;
  /** How long `reorder` holds a callback when no later one comes. Default 5000. */
  reorderHoldMs?: number;
  /** Receives one line per vendor request and callback attempt. Keys never appear in it. */
  log?: (line: string) => void;
}

/** A vendor API request as the sandbox received and answered it. */
export interface RequestLogEntry {
  method: string;
  path: string;
  customerId: string;
  time: string;
  answeredAt: string | null;
  /** null while unanswered, or when no HTTP answer was sent (see `error`). */
  statusCode: number | null;
  /** POST only: whether it started a verification. */
  accepted?: boolean;
  /** POST only: a vendor request (e.g. a verification) was already running when it arrived. */
  runningAtArrival?: boolean;
  fault: Fault | null;
  /** Why no answer went out: `reset` (scripted), `client disconnected`, or `cancelled` (reset or close). */
  error: string | null;
}

export interface RequestLog {
  requests: RequestLogEntry[];
  callbacks: CallbackAttempt[];
}

/** The state of one customer, as the control API shows it: a copy, with what remains of its fault lists. */
export type CustomerView = Customer;

export class SandboxInputError extends Error {
  override name = 'SandboxInputError';
}

export type Sandbox = ReturnType<typeof createSandbox>;

const RANDOM_FAULTS = ['500', '503', 'reset'] as const;
const LOST_ANSWERS = ['500', 'reset'] as const;

const UNAUTHORIZED_BODY = {
  success: false,
  errors: [{ code: 'unauthorized', message: 'You do not have permission to access this resource.' }],
};

/** The documented bodies: AppErrorResponse for 400, AppAuthenticationErrorResponse's shape for 401 and 403. */
const REFUSAL_BODIES = {
  '400': errorBody('db_violation', 'KYC verification cannot start: a precondition of the request failed.'),
  '401': UNAUTHORIZED_BODY,
  '403': errorBody('forbidden', 'This API key may not use this resource.'),
};

/** Creates the sandbox; nothing listens until `start`. */
export function createSandbox(options: SandboxOptions) {
  const apiKeyDigest = sha256(options.apiKey);
  const timing = {
    processingDelayMs: options.processingDelayMs ?? 2000,
    slowPostMs: options.slowPostMs ?? 90_000,
  };
  const log = options.log ?? (() => undefined);
  let callbackUrl = options.callbackUrl ?? null;
  let origin: string | null = null;
  let closing: Promise<void> | null = null;

  const customers = new Map<string, Customer>();
  /** Emits `<customerId> reads` or `<customerId> posts` when that customer's held requests may answer. */
  const releases = new EventEmitter().setMaxListeners(0);
  let requests: RequestLogEntry[] = [];
  let callbackAttempts: CallbackAttempt[] = [];

  const tasks = createTaskGroup((error) => log(`sandbox task failed: ${String(error)}`));
  const callbacks = createCallbackSender({
    secretKey: options.secretKey,
    retryBaseMs: options.callbackRetryBaseMs ?? 500,
    maxRetries: options.callbackMaxRetries ?? 10,
    attemptTimeoutMs: options.callbackTimeoutMs ?? 10_000,
    reorderHoldMs: options.reorderHoldMs ?? 5000,
    run: tasks.run,
    record(attempt) {
      callbackAttempts.push(attempt);
      const outcome = attempt.result === 'dropped' ? 'dropped' : (attempt.statusCode ?? attempt.error);
      log(`callback #${attempt.seq} ${attempt.customerId} ${attempt.status} try ${attempt.attempt} -> ${outcome}`);
    },
  });

  function customerFor(customerId: string): Customer {
    let customer = customers.get(customerId);
    if (!customer) {
      customer = createCustomer(customerId, {}, timing);
      customers.set(customerId, customer);
    }
    return customer;
  }

  /** Applies a change and sends a callback for it, as the vendor does on every KYC change. */
  function change(customer: Customer, update: StatusUpdate): void {
    customer.status = update.status;
    customer.kycProcessingStatus = update.kycProcessingStatus ?? null;
    customer.docsMissing = [...(update.docsMissing ?? [])];
    customer.kycRejectLabel = update.kycRejectLabel ?? null;
    customer.kycEndUserErrorMessage = update.kycEndUserErrorMessage ?? null;
    log(`customer ${customer.customerId} -> ${customer.status} / ${customer.kycProcessingStatus}`);
    callbacks.emit(customer, customer.callbackUrl ?? callbackUrl);
  }

  function startEntry(request: FastifyRequest<{ Params: { id: string } }>): RequestLogEntry {
    const entry: RequestLogEntry = {
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      customerId: request.params.id,
      time: new Date().toISOString(),
      answeredAt: null,
      statusCode: null,
      fault: null,
      error: null,
    };
    requests.push(entry);
    return entry;
  }

  function answer(reply: FastifyReply, entry: RequestLogEntry, statusCode: number, body?: unknown): FastifyReply {
    entry.statusCode = statusCode;
    entry.answeredAt = new Date().toISOString();
    log(`${entry.method} ${entry.path} -> ${statusCode}${entry.accepted ? ' (accepted)' : ''}`);
    return body === undefined ? reply.code(statusCode).send() : reply.code(statusCode).send(body);
  }

  /** Ends the exchange with no HTTP answer at all, as a dropped connection would. */
  function hangUp(request: FastifyRequest, reply: FastifyReply, entry: RequestLogEntry, why: string): FastifyReply {
    entry.error = why;
    entry.answeredAt = new Date().toISOString();
    log(`${entry.method} ${entry.path} -> no answer (${why})`);
    reply.hijack();
    request.socket.destroy();
    return reply;
  }

  function injectFault(
    fault: Fault,
    customer: Customer,
    request: FastifyRequest,
    reply: FastifyReply,
    entry: RequestLogEntry,
  ): FastifyReply {
    entry.fault = fault;
    switch (fault) {
      case 'reset':
        return hangUp(request, reply, entry, 'reset');
      case '429':
        reply.header('retry-after', String(customer.retryAfterSeconds));
        return answer(reply, entry, 429, errorBody('too_many_requests', 'Too many requests. Retry later.'));
      case '503':
        return answer(reply, entry, 503, errorBody('service_unavailable', 'The service is temporarily unavailable.'));
      case '500':
        return answer(reply, entry, 500, errorBody('internal_server_error', 'Something went wrong on our side.'));
      case '400':
      case '401':
      case '403':
        // A refusal is the vendor's answer before it starts anything: a POST refused so is never accepted.
        if (entry.method === 'POST') entry.accepted = false;
        return answer(reply, entry, Number(fault), REFUSAL_BODIES[fault]);
      case 'junk':
        reply.type('application/json');
        return answer(reply, entry, 200, '{"success":true,"data":{"status":');
      case 'unknown-status':
        throw new Error('unknown-status is answered by the status route, which holds the data');
    }
  }

  /**
   * Holds an answer for `delayMs`, then, while the customer holds requests of this kind (`holdReads`, `holdPosts`),
   * until the test releases them. A client that hangs up (its socket closes) or a reset or close of the sandbox ends
   * the exchange at once, unanswered: the reply is returned then, and undefined when the answer may go. Without the
   * first, a client's cancel would show only once the wait was over.
   */
  async function hold(
    customer: Customer,
    kind: 'reads' | 'posts',
    delayMs: number,
    exchange: { request: FastifyRequest; reply: FastifyReply; entry: RequestLogEntry },
    signal: AbortSignal,
  ): Promise<FastifyReply | undefined> {
    const { request, reply, entry } = exchange;
    const held = () => (kind === 'reads' ? customer.holdReads : customer.holdPosts);
    if (delayMs <= 0 && !held()) return undefined;
    if (request.socket.destroyed) return hangUp(request, reply, entry, 'client disconnected');
    const hungUp = new AbortController();
    // Nothing has been answered yet, so the response's `close` means that the connection went away.
    const onClose = () => hungUp.abort();
    reply.raw.once('close', onClose);
    try {
      const ended = AbortSignal.any([signal, hungUp.signal]);
      await sleep(delayMs, undefined, { signal: ended });
      if (held()) await once(releases, `${customer.customerId} ${kind}`, { signal: ended });
      return undefined;
    } catch {
      return hangUp(request, reply, entry, signal.aborted ? 'cancelled' : 'client disconnected');
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  /** A random 5xx or reset, at the customer's `faultRate`. */
  function randomFault(customer: Customer): Fault | undefined {
    return happens(customer, customer.randomFaults?.faultRate ?? 0) ? pickOne(customer, RANDOM_FAULTS) : undefined;
  }

  function randomGetFault(customer: Customer): Fault | undefined {
    if (happens(customer, customer.randomFaults?.junkRate ?? 0)) return 'junk';
    if (happens(customer, customer.randomFaults?.unknownStatusRate ?? 0)) return 'unknown-status';
    return undefined;
  }

  function spikes(customer: Customer): boolean {
    return happens(customer, customer.randomFaults?.spikeRate ?? 0);
  }

  /** Waits out a random latency spike; false when the sandbox closes meanwhile. */
  async function spike(customer: Customer, signal: AbortSignal): Promise<boolean> {
    if (!spikes(customer)) return true;
    try {
      await sleep(customer.randomFaults?.spikeMs ?? 0, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }

  function authorized(request: FastifyRequest): boolean {
    const key = request.headers['x-api-key'];
    return typeof key === 'string' && timingSafeEqual(sha256(key), apiKeyDigest);
  }

  const app = Fastify({ forceCloseConnections: true });

  // Tolerates an empty JSON body (the verification POST has none) and reports bad JSON as a 400.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('Body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    const statusCode = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
    if (isControl(request.url)) return reply.code(statusCode).send({ error: error.message });
    return reply.code(statusCode).send(errorBody(codeFor(statusCode), error.message));
  });

  app.setNotFoundHandler((request, reply) => {
    if (isControl(request.url)) return reply.code(404).send({ error: `No route ${request.method} ${request.url}` });
    return reply.code(404).send(errorBody('not_found', `No route ${request.method} ${request.url}`));
  });

  app.post<{ Params: { id: string } }>(
    `${API_PREFIX}/customer/:id/bank-transfer/kyc/verification`,
    async (request, reply) => {
      const signal = tasks.signal;
      const entry = startEntry(request);
      if (!authorized(request)) return answer(reply, entry, 401, UNAUTHORIZED_BODY);
      const customer = customerFor(request.params.id);
      // Recorded before any fault, so a request sent while one ran shows even when a fault answers it.
      entry.runningAtArrival = customer.kycProcessingStatus !== null;
      if (!(await spike(customer, signal))) return hangUp(request, reply, entry, 'cancelled');
      const fault = customer.postFaults.shift() ?? randomFault(customer);
      if (fault) return injectFault(fault, customer, request, reply, entry);
      if (customer.kycProcessingStatus !== null) {
        entry.accepted = false;
        const message = `A KYC request is already running for this customer (${customer.kycProcessingStatus}).`;
        return answer(reply, entry, 400, errorBody('db_violation', message));
      }
      if (!STARTABLE_STATUSES.includes(customer.status)) {
        entry.accepted = false;
        const message = `KYC verification cannot start while the KYC status is ${customer.status ?? 'null'}.`;
        return answer(reply, entry, 400, errorBody('db_violation', message));
      }

      if (customer.postResponse === 'refusal') {
        entry.accepted = false;
        return answer(reply, entry, 200, errorBody('db_violation', 'KYC verification could not be started.'));
      }
      entry.accepted = true;
      customer.acceptedVerifications += 1;
      change(customer, { status: 'KYC_PENDING', kycProcessingStatus: VERIFICATION_IN_PROGRESS });
      const outcome = nextOutcome(customer);
      // Processing runs from acceptance, whatever becomes of this HTTP exchange.
      tasks.run(async (taskSignal) => {
        await sleep(customer.processingDelayMs, undefined, { signal: taskSignal });
        // A PUT or a reset since acceptance replaced this customer: its verification no longer exists.
        if (customers.get(customer.customerId) === customer)
          change(customer, { ...outcome, kycProcessingStatus: null });
      });

      const lostAnswer =
        customer.postFaultsAfterAccept.shift() ??
        (happens(customer, customer.randomFaults?.lostAnswerRate ?? 0) ? pickOne(customer, LOST_ANSWERS) : undefined);
      const hungUp = await hold(customer, 'posts', customer.postDelayMs, { request, reply, entry }, signal);
      if (hungUp) return hungUp;
      if (lostAnswer) return injectFault(lostAnswer, customer, request, reply, entry);
      if (request.socket.destroyed) return hangUp(request, reply, entry, 'client disconnected');
      if (customer.postResponse === 'json') {
        return answer(reply, entry, 200, { success: true, data: 'KYC verification started' });
      }
      return answer(reply, entry, 204);
    },
  );

  app.get<{ Params: { id: string } }>(`${API_PREFIX}/customer/:id/bank-transfer/kyc`, async (request, reply) => {
    const entry = startEntry(request);
    if (!authorized(request)) return answer(reply, entry, 401, UNAUTHORIZED_BODY);
    const customer = customerFor(request.params.id);
    // The answer reflects the status at arrival, however long it then takes: a slow read can be stale.
    const listed = customer.getFaults.shift();
    const fault = listed === 'ok' ? undefined : (listed ?? randomFault(customer) ?? randomGetFault(customer));
    const data = {
      id: customer.id,
      status: customer.status,
      kycProcessingStatus: customer.kycProcessingStatus,
      docsMissing: customer.docsMissing.map((docType) => ({ docType })),
      kycRejectLabel: customer.kycRejectLabel,
      kycEndUserErrorMessage: customer.kycEndUserErrorMessage,
      ...customer.statusDataOverrides,
    };
    const delayMs = customer.getDelayMs + (spikes(customer) ? (customer.randomFaults?.spikeMs ?? 0) : 0);
    const hungUp = await hold(customer, 'reads', delayMs, { request, reply, entry }, tasks.signal);
    if (hungUp) return hungUp;
    if (fault === 'unknown-status') {
      entry.fault = fault;
      return answer(reply, entry, 200, { success: true, data: { ...data, status: UNDOCUMENTED_STATUS } });
    }
    if (fault) return injectFault(fault, customer, request, reply, entry);
    return answer(reply, entry, 200, { success: true, data });
  });

  const control = {
    /** (Re)creates a customer from a script; unset fields come from the id's prefix scenario. */
    scriptCustomer(customerId: string, script: CustomerScript = {}): CustomerView {
      const parsed = parseInput(customerScriptSchema, script);
      const customer = createCustomer(customerId, parsed, timing);
      customers.set(customerId, customer);
      return view(customer);
    },
    /** The customer's current state, or undefined when the sandbox has not seen it. */
    customer(customerId: string): CustomerView | undefined {
      const customer = customers.get(customerId);
      return customer && view(customer);
    },
    /** Changes how a known customer's requests are answered from now on (faults, delays, outcomes); keeps its status. */
    patchCustomer(customerId: string, patch: BehaviourPatch): CustomerView {
      const parsed = parseInput(behaviourPatchSchema, patch);
      const customer = customerFor(customerId);
      for (const [key, value] of Object.entries(parsed)) {
        if (value !== undefined) Object.assign(customer, { [key]: structuredClone(value) });
      }
      if (parsed.holdReads === false) control.releaseReads(customerId);
      if (parsed.holdPosts === false) control.releasePosts(customerId);
      return view(customer);
    },
    /** Lets the customer's held status reads answer (see `holdReads`); later ones wait while it stays set. */
    releaseReads(customerId: string): void {
      releases.emit(`${customerFor(customerId).customerId} reads`);
    },
    /** Lets the customer's held verification requests answer (see `holdPosts`); later ones wait while it stays set. */
    releasePosts(customerId: string): void {
      releases.emit(`${customerFor(customerId).customerId} posts`);
    },
    /** Sets a status now (e.g. a reversal of FULL_USER) and sends a callback for it. */
    setStatus(customerId: string, update: StatusUpdate): CustomerView {
      const parsed = parseInput(statusUpdateSchema, update);
      const customer = customerFor(customerId);
      change(customer, parsed);
      return view(customer);
    },
    /** What the sandbox received, and its callback attempts; optionally for one customer. */
    requestLog(customerId?: string): RequestLog {
      const mine = (entry: { customerId: string }) => customerId === undefined || entry.customerId === customerId;
      return {
        requests: structuredClone(requests.filter(mine)),
        callbacks: structuredClone(callbackAttempts.filter(mine)),
      };
    },
    /** Cancels pending processing and callbacks, then forgets every customer and the log. */
    async reset(): Promise<void> {
      await tasks.cancel();
      callbacks.clear();
      customers.clear();
      requests = [];
      callbackAttempts = [];
    },
  };

  app.put<{ Params: { id: string } }>(`${CONTROL_PREFIX}/customers/:id`, async (request) =>
    control.scriptCustomer(request.params.id, (request.body ?? {}) as CustomerScript),
  );
  app.get<{ Params: { id: string } }>(`${CONTROL_PREFIX}/customers/:id`, async (request, reply) => {
    const customer = control.customer(request.params.id);
    return customer ?? reply.code(404).send({ error: `Unknown customer ${request.params.id}` });
  });
  app.patch<{ Params: { id: string } }>(`${CONTROL_PREFIX}/customers/:id`, async (request) =>
    control.patchCustomer(request.params.id, (request.body ?? {}) as BehaviourPatch),
  );
  app.post<{ Params: { id: string } }>(`${CONTROL_PREFIX}/customers/:id/status`, async (request) =>
    control.setStatus(request.params.id, request.body as StatusUpdate),
  );
  app.get<{ Querystring: { customerId?: string } }>(`${CONTROL_PREFIX}/requests`, async (request) =>
    control.requestLog(request.query.customerId),
  );
  app.post(`${CONTROL_PREFIX}/reset`, async (_request, reply) => {
    await control.reset();
    return reply.code(204).send();
  });

  return {
    app,
    ...control,
    /** Base URL of the vendor API, `/api/v2` included. Set once started. */
    get url(): string {
      return `${requireOrigin()}${API_PREFIX}`;
    },
    /** Base URL of the control API. Set once started. */
    get controlUrl(): string {
      return `${requireOrigin()}${CONTROL_PREFIX}`;
    },
    /** Listens on 127.0.0.1 (port 0: any free port) and resolves with `url`. */
    async start(port = 0, host = '127.0.0.1'): Promise<string> {
      await app.listen({ port, host });
      const address = app.server.address() as AddressInfo;
      origin = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
      return `${origin}${API_PREFIX}`;
    },
    /** Changes where callbacks go for customers without their own URL. */
    setCallbackUrl(url: string | null): void {
      callbackUrl = url;
    },
    /** Resolves once no verification is processing and no callback is pending. */
    settled: tasks.settled,
    /** Cancels pending work, then stops listening. Safe to call twice. */
    close(): Promise<void> {
      closing ??= (async () => {
        await tasks.cancel({ final: true });
        await app.close();
      })();
      return closing;
    },
  };

  function requireOrigin(): string {
    if (origin === null) throw new Error('The sandbox is not listening yet: call start() first');
    return origin;
  }
}

function view(customer: Customer): CustomerView {
  return structuredClone(customer);
}

function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw Object.assign(new SandboxInputError(firstIssue(result.error, 'body')), { statusCode: 400 });
}

/** Background work that reset and close can cancel and wait for, so no timer outlives the sandbox. */
function createTaskGroup(onError: (error: unknown) => void) {
  let controller = new AbortController();
  const tasks = new Set<Promise<void>>();
  return {
    get signal(): AbortSignal {
      return controller.signal;
    },
    run(task: (signal: AbortSignal) => Promise<void>): void {
      const { signal } = controller;
      const promise: Promise<void> = task(signal)
        .catch((error: unknown) => {
          if (!signal.aborted) onError(error);
        })
        .finally(() => tasks.delete(promise));
      tasks.add(promise);
    },
    async settled(): Promise<void> {
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
    async cancel({ final = false } = {}): Promise<void> {
      controller.abort();
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
      // After close, the aborted signal stays, so late work ends at once.
      if (!final) controller = new AbortController();
    },
  };
}

function errorBody(code: string, message: string) {
  return { success: false, errors: [{ code, message }] };
}

function codeFor(statusCode: number): string {
  const codes: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthorized',
    404: 'not_found',
    405: 'method_not_allowed',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    429: 'too_many_requests',
    503: 'service_unavailable',
  };
  return codes[statusCode] ?? (statusCode < 500 ? 'bad_request' : 'internal_server_error');
}

function isControl(url: string): boolean {
  return url === CONTROL_PREFIX || url.startsWith(`${CONTROL_PREFIX}/`);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
