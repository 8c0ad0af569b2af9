import type { CredentialRecord } from '../core/model.js';
import { effectiveLimits, type TokenLimits } from '../core/rate-limits.js';
import {
  RATE_LIMITS_STAGE_VARIABLE,
  type RateCounterStore,
  type RateDecision,
  RateWindowLimiter,
  type RateWindowOptions,
  STRICT_RATE_LIMITS,
} from '../core/rate-window.js';
import type { TokenAuthorizerEvent } from './gateway.js';

// The strict mode of HTTP APIs in the token authorizer (docs/rate-limits.md "HTTP APIs"): an HTTP
// API attached with `forHttpApi(api, { rateLimits: 'strict' })` has its result cache off and the
// stage variable `accessTokensRateLimits: strict`; for its requests, a VALID decision is counted
// against the token's limits (its type's, or its own lower ones from the credential) and refused
// with a 403 (an HTTP API authorizer cannot answer 429) logged as RATE_LIMITED or QUOTA_EXCEEDED.

export interface StrictLimitsConfig {
  readonly counters: RateCounterStore;
  /** Each configured type's ceiling (runtime/authorizer-type-limits.ts). */
  readonly typeLimits: ReadonlyMap<string, TokenLimits>;
  /** For a type the deployment no longer configures. */
  readonly unknownTypeLimits: TokenLimits;
  readonly options: Omit<RateWindowOptions, 'onFlushFailure'>;
}

interface StrictLimits {
  /** Whether the event comes from an HTTP API in strict mode. */
  appliesTo(event: TokenAuthorizerEvent): boolean;
  /** Counts one request of a verified token; never rejects (counting fails open, bounded). */
  check(credential: CredentialRecord, nowMs: number): Promise<RateDecision>;
}

export function createStrictLimits(
  config: StrictLimitsConfig,
  onFlushFailure: (tokenId: string, error: unknown) => void,
): StrictLimits {
  const limiter = new RateWindowLimiter(config.counters, { ...config.options, onFlushFailure });
  return {
    appliesTo: (event) =>
      event.version === '2.0' && event.stageVariables?.[RATE_LIMITS_STAGE_VARIABLE] === STRICT_RATE_LIMITS,
    check: (credential, nowMs) => {
      const ceiling = config.typeLimits.get(credential.type) ?? config.unknownTypeLimits;
      return limiter.check(credential.tokenId, effectiveLimits(ceiling, credential.limits ?? null), nowMs);
    },
  };
}
