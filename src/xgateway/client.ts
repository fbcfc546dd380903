// The one adapter to XGateway's HTTP API. got's own retries are off: Temporal owns the retries.
import got, { RequestError, type Response } from 'got';

import type { KycSnapshot } from '../shared/kyc-status.js';
import { firstIssue } from '../shared/validation.js';
import {
  XGatewayBadResponseError,
  type XGatewayError,
  XGatewayNetworkError,
  XGatewayNotReachedError,
  XGatewayRequestRejectedError,
  XGatewayUnauthorizedError,
  XGatewayUnavailableError,
} from './errors.js';
import { errorBodySchema, kycStatusResponseSchema, readKycStatusData, refusalBodySchema } from './schemas.js';

export interface XGatewayClientOptions {
  /** Includes `/api/v2`, as in the vendor's docs. */
  baseUrl: string;
  apiKey: string;
  /** Upper bound for the verification POST, which can take minutes. */
  postTimeoutMs: number;
  /** Upper bound for a status read. */
  getTimeoutMs: number;
}

export interface RequestOptions {
  /** Aborts the request, e.g. when Temporal cancels the activity. */
  signal?: AbortSignal;
}

/** A status reading, plus the informative fields that had an undocumented shape and were left out. */
export interface KycStatusReading extends KycSnapshot {
  unreadable: string[];
}

export type XGatewayClient = ReturnType<typeof createXGatewayClient>;

export function createXGatewayClient(options: XGatewayClientOptions) {
  const http = got.extend({
    prefixUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { 'x-api-key': options.apiKey, accept: 'application/json' },
    retry: { limit: 0 },
    throwHttpErrors: false,
    responseType: 'text',
    followRedirect: false,
  });
  const path = (customerId: string, suffix: string) =>
    `customer/${encodeURIComponent(customerId)}/bank-transfer/kyc${suffix}`;

  return {
    /** `GET /customer/{id}/bank-transfer/kyc`: the source of truth. */
    async getKycStatus(customerId: string, request: RequestOptions = {}): Promise<KycStatusReading> {
      const response = await send(() =>
        http.get(path(customerId, ''), { timeout: { request: options.getTimeoutMs }, signal: request.signal }),
      );
      if (response.statusCode !== 200) throw errorFor(response, 'status read');
      const parsed = kycStatusResponseSchema.safeParse(parseJson(response.body));
      if (!parsed.success) {
        throw new XGatewayBadResponseError(
          `XGateway status API answered 200 with an unexpected body: ${firstIssue(parsed.error, 'body')}`,
          200,
        );
      }
      const { data } = parsed.data;
      return {
        status: data.status,
        kycProcessingStatus: data.kycProcessingStatus ?? null,
        ...readKycStatusData(data),
        checkedAt: new Date().toISOString(),
      };
    },

    /** `POST /customer/{id}/bank-transfer/kyc/verification`. Resolves when the vendor answered 2xx. */
    async startKycVerification(customerId: string, request: RequestOptions = {}): Promise<void> {
      const response = await send(() =>
        http.post(path(customerId, '/verification'), {
          timeout: { request: options.postTimeoutMs },
          signal: request.signal,
        }),
      );
      // The vendor documents 204, with or without a JSON body; a 2xx means started unless its body says otherwise.
      if (response.statusCode < 200 || response.statusCode >= 300) throw errorFor(response, 'verification request');
      const refusal = refusalBodySchema.safeParse(parseJson(response.body));
      if (refusal.success) {
        const first = refusal.data.errors?.[0];
        const detail = first ? `${first.code}: ${first.message}` : 'no error given';
        throw new XGatewayRequestRejectedError(
          `XGateway verification request answered HTTP ${response.statusCode} with success false (${detail})`,
          response.statusCode,
          first?.code,
        );
      }
    },
  };
}

const NOT_REACHED_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

async function send(request: () => Promise<Response<string>>): Promise<Response<string>> {
  try {
    return await request();
  } catch (error) {
    // Never rethrow got's error itself: it carries the request options, headers and API key included.
    if (error instanceof RequestError) {
      if (error.name === 'AbortError' || error.code === 'ERR_ABORTED') {
        throw Object.assign(new Error('XGateway request aborted'), { name: 'AbortError' });
      }
      const message = `XGateway request failed: ${error.code ?? error.name} (${error.message})`;
      // Refused or unresolvable before any byte left: the only network failures that prove the vendor saw nothing.
      if (NOT_REACHED_CODES.has(error.code)) throw new XGatewayNotReachedError(message);
      throw new XGatewayNetworkError(message);
    }
    throw error;
  }
}

function parseJson(body: string): unknown {
  try {
    return body ? JSON.parse(body) : undefined;
  } catch {
    return undefined;
  }
}

function errorFor(response: Response<string>, what: string): XGatewayError {
  const status = response.statusCode;
  const parsed = errorBodySchema.safeParse(parseJson(response.body));
  const vendorError = parsed.success ? parsed.data.errors[0] : undefined;
  const detail = vendorError ? `${vendorError.code}: ${vendorError.message}` : `HTTP ${status}`;
  const message = `XGateway ${what} failed with HTTP ${status} (${detail})`;
  if (status === 401 || status === 403) return new XGatewayUnauthorizedError(message, status, vendorError?.code);
  if (status === 408 || status === 409 || status === 429 || status >= 500) {
    return new XGatewayUnavailableError(message, status, vendorError?.code, retryAfterMs(response));
  }
  if (status >= 400) return new XGatewayRequestRejectedError(message, status, vendorError?.code);
  // 1xx/3xx: not part of the contract; the next attempt may get a real answer.
  return new XGatewayBadResponseError(message, status);
}

/**
 * Retry-After as seconds or an HTTP date. Honoured in full: the vendor must not be called before it has passed. The
 * verification's deadline bounds the wait (the retry then ends with the run's timeout), and the cap only keeps the
 * value a valid duration.
 */
function retryAfterMs(response: Response<string>): number | undefined {
  const header = response.headers['retry-after'];
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(Math.min(ms, 366 * 86_400_000)) : undefined;
}
