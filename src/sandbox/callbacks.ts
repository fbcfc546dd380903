// KYC callback delivery as XGateway documents it: a JSON POST on every change, retried with exponential backoff.
// Scripted modes (drop, duplicate, delay, reorder) produce the misbehaviour a receiver must survive.
import { setTimeout as sleep } from 'node:timers/promises';

import { computeCallbackHash } from '../xgateway/callback-hash.js';
import type { KycCallbackBody } from '../xgateway/schemas.js';
import type { Customer } from './scenarios.js';

/** One delivery attempt, or one callback dropped on purpose, as the request log shows it. */
export interface CallbackAttempt {
  /** Numbers each emitted callback; the copies of a `duplicate` and the retries of a delivery share it. */
  seq: number;
  customerId: string;
  status: string | null;
  kycProcessingStatus: string | null;
  url: string | null;
  /** 1 for the first try; 0 for a dropped callback. */
  attempt: number;
  time: string;
  statusCode: number | null;
  error: string | null;
  result: 'delivered' | 'failed' | 'dropped';
}

/** Runs a background task that is cancelled, through `signal`, when the sandbox resets or closes. */
export type RunTask = (task: (signal: AbortSignal) => Promise<void>) => void;

export interface CallbackSenderOptions {
  secretKey: string;
  retryBaseMs: number;
  maxRetries: number;
  attemptTimeoutMs: number;
  /** How long `reorder` holds a callback when no later one comes. */
  reorderHoldMs: number;
  run: RunTask;
  record: (attempt: CallbackAttempt) => void;
}

interface Callback {
  seq: number;
  url: string | null;
  body: KycCallbackBody & { docsMissing: string[] };
}

/** Builds the sender; `emit` never blocks, delivery happens in tasks that `run` tracks. */
export function createCallbackSender(options: CallbackSenderOptions) {
  let sequence = 0;
  const held = new Map<string, { callback: Callback; release: AbortController }>();

  async function deliver(callback: Callback, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; attempt <= options.maxRetries + 1; attempt += 1) {
      if (attempt > 1) await sleep(options.retryBaseMs * 2 ** (attempt - 2), undefined, { signal });
      if (await tryOnce(callback, attempt, signal)) return;
      if (callback.url === null) return;
    }
  }

  async function tryOnce(callback: Callback, attempt: number, signal: AbortSignal): Promise<boolean> {
    const entry = (statusCode: number | null, error: string | null, ok: boolean): CallbackAttempt => ({
      seq: callback.seq,
      customerId: callback.body.customerId,
      status: callback.body.status,
      kycProcessingStatus: callback.body.kycProcessingStatus ?? null,
      url: callback.url,
      attempt,
      time: new Date().toISOString(),
      statusCode,
      error,
      result: ok ? 'delivered' : 'failed',
    });
    if (callback.url === null) {
      options.record(entry(null, 'no callback URL configured', false));
      return false;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), options.attemptTimeoutMs);
    try {
      const response = await fetch(callback.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(callback.body),
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout.signal]),
      });
      // Drain the body so the connection can be reused.
      await response.arrayBuffer();
      const ok = response.status >= 200 && response.status < 300;
      options.record(entry(response.status, null, ok));
      return ok;
    } catch (error) {
      if (signal.aborted) throw error;
      const reason = timeout.signal.aborted ? `timed out after ${options.attemptTimeoutMs} ms` : describe(error);
      options.record(entry(null, reason, false));
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    /** Sends the customer's current state to `url` (null: none configured), as the customer's script says. */
    emit(customer: Customer, url: string | null): void {
      sequence += 1;
      const callback: Callback = {
        seq: sequence,
        url,
        body: {
          callbackType: 'kyc',
          customerId: customer.customerId,
          status: customer.status,
          kycProcessingStatus: customer.kycProcessingStatus,
          // Plain strings, as in the vendor's example, although the docs describe `{docType}` objects.
          docsMissing: [...customer.docsMissing],
          kycRejectLabel: customer.kycRejectLabel,
          kycEndUserErrorMessage: customer.kycEndUserErrorMessage,
          hash: computeCallbackHash(customer.customerId, options.secretKey),
        },
      };
      const { mode, delayMs } = customer.callbacks;
      switch (mode) {
        case 'drop':
          options.record({
            seq: callback.seq,
            customerId: customer.customerId,
            status: customer.status,
            kycProcessingStatus: customer.kycProcessingStatus,
            url,
            attempt: 0,
            time: new Date().toISOString(),
            statusCode: null,
            error: null,
            result: 'dropped',
          });
          return;
        case 'duplicate':
          options.run(async (signal) => {
            await deliver(callback, signal);
            await deliver(callback, signal);
          });
          return;
        case 'delay':
          options.run(async (signal) => {
            await sleep(delayMs ?? 0, undefined, { signal });
            await deliver(callback, signal);
          });
          return;
        case 'reorder': {
          const earlier = held.get(customer.customerId);
          if (earlier) {
            held.delete(customer.customerId);
            earlier.release.abort();
            options.run(async (signal) => {
              await deliver(callback, signal);
              await deliver(earlier.callback, signal);
            });
            return;
          }
          const release = new AbortController();
          held.set(customer.customerId, { callback, release });
          options.run(async (signal) => {
            try {
              await sleep(delayMs ?? options.reorderHoldMs, undefined, {
                signal: AbortSignal.any([signal, release.signal]),
              });
            } catch {
              // Released by a later callback, which sends this one after itself, or cancelled.
              return;
            }
            // No later callback came in time: send it anyway, so that nothing is lost forever.
            held.delete(customer.customerId);
            await deliver(callback, signal);
          });
          return;
        }
        case 'normal':
          options.run((signal) => deliver(callback, signal));
      }
    },

    /** Forgets held callbacks; their tasks are cancelled by the caller's reset. */
    clear(): void {
      held.clear();
    },
  };
}

export type CallbackSender = ReturnType<typeof createCallbackSender>;

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    if (typeof cause?.code === 'string') return cause.code;
    if (typeof cause?.message === 'string') return `${error.message}: ${cause.message}`;
    return error.message;
  }
  return String(error);
}
