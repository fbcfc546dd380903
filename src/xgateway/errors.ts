// Named failures of the XGateway adapter. Activities turn them into Temporal failures whose `type` is the class name,
// so retry policies and callers match on these names.

export abstract class XGatewayError extends Error {
  abstract readonly retryable: boolean;
  constructor(
    message: string,
    /** HTTP status, when the vendor answered at all. */
    readonly httpStatus?: number,
    /** The vendor's error code, e.g. `db_violation`. */
    readonly vendorCode?: string,
    /** Delay the vendor asked for with Retry-After, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Retrying the same request cannot help. */
abstract class FinalXGatewayError extends XGatewayError {
  readonly retryable = false;
}

/** The same request may succeed later: Temporal retries it (reads) or the workflow decides (the POST). */
abstract class TransientXGatewayError extends XGatewayError {
  readonly retryable = true;
}

/** 401/403: the API key is wrong or missing; an operator must fix the config. */
export class XGatewayUnauthorizedError extends FinalXGatewayError {}

/** Any other 4xx (e.g. 400 `db_violation`), or a 2xx whose body says `success: false`: the request is refused. */
export class XGatewayRequestRejectedError extends FinalXGatewayError {}

/** 408, 409, 429 and 5xx: the vendor may accept the same request later. */
export class XGatewayUnavailableError extends TransientXGatewayError {}

/** Timeouts, resets and TLS failures: the request may or may not have reached the vendor. */
export class XGatewayNetworkError extends TransientXGatewayError {}

/** Connection refused, or a DNS failure before connecting: the request provably never left this process. */
export class XGatewayNotReachedError extends TransientXGatewayError {}

/** A 2xx whose body does not match the documented shape. Kept retryable: vendors fix bad deploys. */
export class XGatewayBadResponseError extends TransientXGatewayError {}
