// Domain errors: a code, a message and field details, nothing about HTTP. The HTTP layer maps them
// to the contract's error shape `{"error": {"code", "message", "details"?}}` and the status the
// contract gives each code (STATUS_BY_CODE, lambdas/contract/api-schemas.ts); anything that is not a DomainError becomes a 500
// INTERNAL whose body says nothing about the cause.

export type ErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'VALIDATION_FAILED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'LIMIT_EXCEEDED'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'TOKEN_NOT_READY'
  | 'INTERNAL';

export interface ErrorDetail {
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[] | undefined;

  constructor(message: string, details?: readonly ErrorDetail[]) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class UnauthorizedError extends DomainError {
  readonly code = 'UNAUTHORIZED';
}
export class ForbiddenError extends DomainError {
  readonly code = 'FORBIDDEN';
}
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
}
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION_FAILED';
}
export class PayloadTooLargeError extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
}
/** A request body that is not `application/json` (UTF-8). */
export class UnsupportedMediaTypeError extends DomainError {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE';
}
export class LimitExceededError extends DomainError {
  readonly code = 'LIMIT_EXCEEDED';
}
export class ConflictError extends DomainError {
  readonly code = 'CONFLICT';
}

/** The owner's token access is disabled by an admin: their tokens cannot be created, edited or rotated. */
export class TokenAccessDisabledError extends ForbiddenError {
  constructor(message = 'Token access is disabled for this user by an administrator') {
    super(message);
  }
}
