import type { ApiError, ErrorCode } from './api';

// Every error code of the contract (ERROR_CODES in lambdas/contract/api-schemas.ts) as a sentence
// for people; the Record type makes a new code a compile error until it has one.
const MESSAGES: Readonly<Record<ErrorCode | 'NETWORK', string>> = {
  UNAUTHORIZED: 'Your session has ended. Sign in again to continue.',
  FORBIDDEN: 'Your role does not allow this action.',
  NOT_FOUND: 'This token or page does not exist, or it is not yours to see.',
  VALIDATION_FAILED: 'Some fields need a correction.',
  PAYLOAD_TOO_LARGE: 'That is too much text to send at once. Shorten the description or the allowlist.',
  UNSUPPORTED_MEDIA_TYPE: 'The console sent a request the API does not understand. Reload the page.',
  LIMIT_EXCEEDED:
    'You have reached the limit of active tokens. Revoke a token you no longer use, then try again.',
  CONFLICT: 'This token changed meanwhile (revoked, expired or rotated). Reload to see its current state.',
  RATE_LIMITED: 'Too many requests just now. Wait a moment and retry.',
  QUOTA_EXCEEDED: 'The quota for this period is used up. It resets at the start of the next period.',
  TOKEN_NOT_READY: 'The service is still setting this up. Retry in a few seconds.',
  INTERNAL: 'The service had a problem answering. Retry in a moment.',
  NETWORK: 'The API cannot be reached. Check your connection, then retry.',
};

export function humanMessage(error: unknown): string {
  if (error instanceof Error && error.name === 'ApiError') {
    const apiError = error as ApiError;
    const base = MESSAGES[apiError.code];
    // The API's own message says which limit, conflict or refusal: shown after ours.
    if (['LIMIT_EXCEEDED', 'CONFLICT', 'FORBIDDEN'].includes(apiError.code) && apiError.message !== '') {
      return `${base} (${apiError.message})`;
    }
    return base;
  }
  return 'Something went wrong in the console. Reload the page.';
}
