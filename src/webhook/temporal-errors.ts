// Sorts Temporal client failures into what the receiver answers: the SDK wraps gRPC errors, so walk the causes.
import { isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';

// gRPC status codes (grpc/grpc status.proto); spelled out rather than importing @grpc/grpc-js, a transitive dependency.
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_NOT_FOUND = 5;
const GRPC_ALREADY_EXISTS = 6;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

export type TemporalErrorKind = 'not_found' | 'already_started' | 'unavailable' | 'other';

/** `unavailable` covers every failure worth a retry by the sender: no connection, deadline, overload. */
export function classifyTemporalError(error: unknown): TemporalErrorKind {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 8; depth++) {
    if (current instanceof WorkflowNotFoundError) return 'not_found';
    if (current instanceof WorkflowExecutionAlreadyStartedError) return 'already_started';
    if (isGrpcServiceError(current)) {
      switch (current.code) {
        case GRPC_NOT_FOUND:
          return 'not_found';
        case GRPC_ALREADY_EXISTS:
          return 'already_started';
        case GRPC_UNAVAILABLE:
        case GRPC_DEADLINE_EXCEEDED:
        case GRPC_CANCELLED:
        case GRPC_RESOURCE_EXHAUSTED:
          return 'unavailable';
        default:
          return 'other';
      }
    }
    current = current instanceof Error ? current.cause : undefined;
  }
  return 'other';
}
