// Loaded by path (`failureConverterPath`): into the workflow bundle, and by the worker and clients. Messages and stack
// traces move into the failure's encoded attributes, a payload, so the payload codec encrypts them like any other.
// Without a codec that payload is plain JSON, which the Temporal UI, the CLI and every SDK read back.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
