import { type Decision, decide, type GatewayRequest, malformedDecision } from './authorization.js';
import { type HmacKey, hashToken } from './hashing.js';
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

/**
 * A key source that can also say, without I/O, which key it already holds in memory (the token
 * authorizer's: lambdas/token-authorizer/handler.ts). Lets a cache hit be decided without waiting.
 */
export interface LoadedKeySource extends KeySource {
  /** The key, when it is already in memory; undefined when getKey() would still have to fetch it. */
  loadedKey?(): HmacKey | undefined;
}

/**
 * A Clock that also gives the time in milliseconds without making a Date: the token authorizer's
 * (systemMillisClock), because a Date per request was a visible share of a cache hit
 * (docs/performance.md). Both must tell the same time.
 */
export interface MillisClock extends Clock {
  nowMs(): number;
}

export const systemMillisClock: MillisClock = { now: () => new Date(), nowMs: () => Date.now() };

/** The clock's time in milliseconds: nowMs() when it has one, else now()'s. */
export function millisOf(clock: Clock | MillisClock): number {
  return 'nowMs' in clock ? clock.nowMs() : clock.now().getTime();
}

export interface VerifyTokenDeps {
  readonly keySource: LoadedKeySource;
  readonly credentials: CredentialReader;
  readonly cache: CredentialCache;
  readonly clock: Clock | MillisClock;
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
  return startVerification(deps, request, token);
}

/**
 * verifyToken without a wait where none is needed: the Decision itself when it needs no I/O (a
 * malformed token; a cache hit while the key is in memory), else a promise of it. The token
 * authorizer decides most requests this way, and each `await` of an async step is a measurable
 * share of a cache hit's few microseconds (docs/performance.md). Same steps, same single HMAC.
 * Throws (or rejects) when the key source or the reader fails.
 */
export function startVerification(
  deps: VerifyTokenDeps,
  request: GatewayRequest,
  token: string | undefined,
): Decision | Promise<Decision> {
  if (token === undefined || !isWellFormedToken(token, deps.tokenPrefix)) return malformedDecision(request);
  const key = deps.keySource.loadedKey?.();
  if (key === undefined) {
    return deps.keySource.getKey().then((fetched) => verifyWithKey(deps, request, token, fetched));
  }
  return verifyWithKey(deps, request, token, key);
}

function verifyWithKey(
  deps: VerifyTokenDeps,
  request: GatewayRequest,
  token: string,
  key: HmacKey,
): Decision | Promise<Decision> {
  const secretHash = hashToken(key, token);
  const nowMs = millisOf(deps.clock);
  const cached = deps.cache.lookup(secretHash, nowMs);
  if (cached.hit) return decide(cached.value, nowMs, request);
  return deps.credentials.findByHash(secretHash).then((credential) => {
    deps.cache.store(secretHash, credential, nowMs);
    return decide(credential, nowMs, request);
  });
}

/**
 * `source` with loadedKey(): the key of its last successful getKey(). For sources that fetch the key
 * once and keep it (KmsKeySource, FileKeySource: the KeySource contract); a failure is not kept.
 */
export function rememberingKeySource(source: KeySource): LoadedKeySource {
  let loaded: HmacKey | undefined;
  return {
    getKey: async () => {
      const key = await source.getKey();
      loaded = key;
      return key;
    },
    loadedKey: () => loaded,
  };
}
