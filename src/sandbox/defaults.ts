// Dev defaults that the sandbox, worker, callback receiver and demo share, so a local run lines up with no setup.
// They are sandbox-only values: production configuration must always set its own keys.

export const SANDBOX_API_KEY = 'sandbox-api-key';
export const SANDBOX_SECRET_KEY = 'sandbox-secret-key';
export const SANDBOX_DEFAULT_PORT = 8080;
/** Where `npm run sandbox` serves the vendor API, `/api/v2` included as in the vendor's docs. */
export const SANDBOX_BASE_URL = `http://127.0.0.1:${SANDBOX_DEFAULT_PORT}/api/v2`;
/** Where the sandbox posts KYC callbacks unless told otherwise: the local callback receiver. */
export const SANDBOX_CALLBACK_URL = 'http://127.0.0.1:3000/callbacks/kyc';
