// Dev defaults that the sandbox, worker, callback receiver and demo share, so a local run lines up with no setup.
// No keys: every run makes its own (see `randomSandboxKeys`), so none is ever written in the repository.
import { randomBytes } from 'node:crypto';

/** A fresh API key and secret key for one sandbox run; the processes that talk to it get them from the starter. */
export function randomSandboxKeys(): { apiKey: string; secretKey: string } {
  return {
    apiKey: `sbx-api-${randomBytes(18).toString('base64url')}`,
    secretKey: randomBytes(32).toString('base64url'),
  };
}
export const SANDBOX_DEFAULT_PORT = 8080;
/** Where `npm run sandbox` serves the vendor API, `/api/v2` included as in the vendor's docs. */
export const SANDBOX_BASE_URL = `http://127.0.0.1:${SANDBOX_DEFAULT_PORT}/api/v2`;
/** Where the sandbox posts KYC callbacks unless told otherwise: the local callback receiver. */
export const SANDBOX_CALLBACK_URL = 'http://127.0.0.1:3000/callbacks/kyc';
