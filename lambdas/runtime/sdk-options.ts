// The one configuration of every AWS SDK client a function builds (DynamoDB, KMS, SES; through
// lambdas/runtime/clients.ts and the notification handlers): per-attempt timeouts that the HTTP
// handler enforces, and a bounded number of attempts, so that every SDK call ends within a known
// time, and the claim lease of the notification emails (lambdas/core/notifications/idempotency.ts)
// can be set above it.
//
// Why every option: in @smithy/node-http-handler 4.x, `requestTimeout` alone only logs a warning
// when it passes (the request goes on until the server answers or the function times out);
// `throwOnRequestTimeout: true` aborts it with a TimeoutError, which the SDK's standard retry mode
// treats as transient (retried, then thrown). `connectionTimeout` bounds the TCP/TLS connect, and
// `socketTimeout` a socket that goes silent mid-response.

/** Per-attempt limits and attempts of every SDK call. */
const SDK_CALL_LIMITS = {
  /** Connecting (TCP + TLS). */
  connectionTimeoutMs: 2_000,
  /** One attempt, from sending the request to the end of the response. */
  requestTimeoutMs: 5_000,
  /** Attempts per call (the SDK's standard retry mode, with backoff). */
  maxAttempts: 3,
} as const;

/**
 * The longest pause the standard retry mode makes before a retry: its delay base for throttling
 * errors (1 s) doubled per retry (2 s before the third attempt), plus at most 5 s more when the
 * service asks for it (Retry-After). A generous bound: most pauses are a few milliseconds.
 */
const MAX_BACKOFF_MS = 1_000 * 2 ** (SDK_CALL_LIMITS.maxAttempts - 2) + 5_000;

/**
 * An upper bound of one SDK call with these settings: every attempt running into its timeout, with
 * the longest pause before each retry (29 s). The claim lease of the notification emails and the
 * functions' time budgets are sized from it.
 */
export const SDK_CALL_MAX_MS =
  SDK_CALL_LIMITS.maxAttempts * SDK_CALL_LIMITS.requestTimeoutMs +
  (SDK_CALL_LIMITS.maxAttempts - 1) * MAX_BACKOFF_MS;

/** The node HTTP handler's options, as the SDK clients take them (`requestHandler`). */
interface SdkRequestHandlerOptions {
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
  readonly throwOnRequestTimeout: true;
  readonly socketTimeout: number;
}

interface SdkClientConfig {
  readonly maxAttempts: number;
  readonly requestHandler: SdkRequestHandlerOptions;
}

/**
 * Local stack and tests only: a longer per-attempt timeout (milliseconds) for emulators on a busy
 * machine, where one DynamoDB Local call can take seconds. Never set by the stack: deployed
 * functions keep SDK_CALL_LIMITS, which the claim lease is sized from.
 */
export const SDK_REQUEST_TIMEOUT_ENV = 'SDK_REQUEST_TIMEOUT_MS';

function requestTimeoutFrom(env: NodeJS.ProcessEnv): number {
  const raw = env[SDK_REQUEST_TIMEOUT_ENV];
  const value = raw === undefined || raw === '' ? Number.NaN : Number(raw);
  return Number.isInteger(value) && value > 0 ? value : SDK_CALL_LIMITS.requestTimeoutMs;
}

/**
 * What every handler passes to an SDK client's constructor (spread, next to anything of its own,
 * e.g. an endpoint in tests).
 */
export function sdkClientConfig(env: NodeJS.ProcessEnv = process.env): SdkClientConfig {
  const requestTimeout = requestTimeoutFrom(env);
  return {
    maxAttempts: SDK_CALL_LIMITS.maxAttempts,
    requestHandler: {
      connectionTimeout: Math.max(SDK_CALL_LIMITS.connectionTimeoutMs, Math.min(requestTimeout, 10_000)),
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
    },
  };
}
