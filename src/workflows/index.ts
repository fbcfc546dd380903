// Everything the worker registers; deterministic code only (see eslint.config.js).
export { kycVerificationWorkflow } from './kyc-verification.js';
export { kycUnmatchedCallbackWorkflow } from './unmatched-callback.js';
