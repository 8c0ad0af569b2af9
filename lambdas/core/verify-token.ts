import { type Decision, decide, type GatewayRequest, malformedDecision } from './authorization.js';
import { hashToken } from './hashing.js';
import type { CredentialRecord } from './model.js';
import type { Clock, CredentialReader, KeySource } from './ports.js';
import { isWellFormedToken } from './token-format.js';
import type { CacheLookup } from './verification-cache.js';

// The token authorizer's use case (docs/design.md "Token authorizer contract"): from the token a request
// presents to a decision, over three ports: the HMAC key, the credential reader and the
// verification cache. Per request: no I/O for a malformed token; otherwise exactly one HMAC, and
// one consistent read unless the cache answers for that HMAC. The gateway dialects around it
// (reading events, answering policies, logging) stay in lambdas/token-authorizer.

/** The in-process verification cache, keyed by the secret's HMAC (verification-cache.ts). */
export interface CredentialCache {
  lookup(secretHash: string, nowMs: number): CacheLookup<CredentialRecord>;
  /** Remembers what the read found: a credential, or undefined for "no such credential". */
  store(secretHash: string, credential: CredentialRecord | undefined, nowMs: number): void;
}

export interface VerifyTokenDeps {
  readonly keySource: KeySource;
  readonly credentials: CredentialReader;
  readonly cache: CredentialCache;
  readonly clock: Clock;
  /** The deployment's token prefix (`atk`): a token with another prefix is MALFORMED. */
  readonly tokenPrefix: string;
}

/**
 * The decision for a request that presents `token`: the credentials of its `Bearer` Authorization
 * header (bearer.ts's bearerCredentials), undefined when it has none.
 *
 * A token of the wrong shape, prefix or checksum is MALFORMED without touching any port. A
 * well-formed one is hashed once with the HMAC key; the cache answers for that hash when it
 * remembers it (a credential or its absence), else the reader makes the one read and the cache
 * keeps what it found. Rejects when the key source or the reader fails (nothing is cached then):
 * the caller fails closed.
 */
export async function verifyToken(
  deps: VerifyTokenDeps,
  request: GatewayRequest,
  token: string | undefined,
): Promise<Decision> {
  if (token === undefined || !isWellFormedToken(token, deps.tokenPrefix)) return malformedDecision(request);
  const secretHash = hashToken(await deps.keySource.getKey(), token);
  const nowMs = deps.clock.now().getTime();
  const cached = deps.cache.lookup(secretHash, nowMs);
  if (cached.hit) return decide(cached.value, nowMs, request);
  const credential = await deps.credentials.findByHash(secretHash);
  deps.cache.store(secretHash, credential, nowMs);
  return decide(credential, nowMs, request);
}
