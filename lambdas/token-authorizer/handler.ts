import { DynamoCredentialReader } from '../adapters/dynamo-credential-reader.js';
import { DynamoLastUsedRecorder } from '../adapters/dynamo-last-used-recorder.js';
import { DynamoRateCounters } from '../adapters/dynamo-rate-counters.js';
import { normalizeBasePath } from '../core/gateway-scope.js';
import { LastUsedThrottle } from '../core/last-used-throttle.js';
import type { CredentialRecord } from '../core/model.js';
import { keepUnchangedCredentials } from '../core/unchanged-credentials.js';
import { VerificationCache, verificationCacheOptionsOf } from '../core/verification-cache.js';
import { rememberingKeySource, systemMillisClock } from '../core/verify-token.js';
import { authorizerPolicyFromEnv } from '../runtime/authorizer-settings.js';
import { UNKNOWN_TYPE_LIMITS } from '../runtime/authorizer-type-limits.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';
import { JsonLineLogger } from '../runtime/json-line-logger.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { createTokenAuthorizer } from './token-authorizer.js';

// The token authorizer's Lambda entry: env → deps → handler (token-authorizer.ts does the work).
// No middy and no Powertools Logger here, unlike the other functions: the hand-written logger
// (runtime/json-line-logger.ts) writes the same lines from the context this handler passes it,
// which is all the middleware did, and keeps the bundle and the hot path small (docs/performance.md).

// Only the fields the authorizer uses, checked without zod (runtime/authorizer-settings.ts).
const { settings, typeLimits } = authorizerPolicyFromEnv();
const tableName = requireEnv(ENV.tableName);
// Remembered once decrypted, so a cache hit needs no await for it (core/verify-token.ts).
const keySource = rememberingKeySource(keySourceFromEnv());

// Start decrypting the HMAC key during the init phase, so the first request does not wait for it.
// A failure is not kept (KmsKeySource forgets it); the first request tries again and fails closed.
keySource.getKey().catch(() => undefined);

/** Distinct tokens one container remembers attempts for; more only means an extra conditional write. */
const LAST_USED_MAX_TOKENS = 10_000;
/** Credentials whose last read one container remembers, to reuse its object when unchanged; more only means rebuilding. */
const UNCHANGED_CREDENTIALS_MAX = 10_000;
const lastUsedIntervalMs = settings.lastUsedIntervalSeconds * 1000;

export const handler = createTokenAuthorizer({
  verify: {
    keySource,
    // Each read is made; an unchanged record comes back as the same object, so what the authorizer
    // keeps per credential object (its REST answer, its log fields) is not rebuilt (core/unchanged-credentials.ts).
    credentials: keepUnchangedCredentials(
      new DynamoCredentialReader(sharedDocumentClient(), tableName),
      UNCHANGED_CREDENTIALS_MAX,
    ),
    // Keyed by the secret's HMAC. The TTL counts inside the revocation window (the stack gives API
    // Gateway's cache only what is left of it), so a revoked token still passes for at most the window.
    cache: new VerificationCache<CredentialRecord>(verificationCacheOptionsOf(settings)),
    clock: systemMillisClock,
    tokenPrefix: settings.tokenPrefix,
  },
  // The default route map stays a string here and is decoded per request (memoized): a broken one
  // then fails each request closed with a logged INVALID_ROUTE_SCOPES, instead of failing the init
  // phase with an error that says nothing about which API setting is wrong.
  defaults: {
    basePath: normalizeBasePath(optionalEnv(ENV.authorizerBasePath)),
    routeScopesJson: optionalEnv(ENV.authorizerRouteScopes),
  },
  logger: new JsonLineLogger(),
  lastUsed: {
    recorder: new DynamoLastUsedRecorder(sharedDocumentClient(), tableName),
    throttle: new LastUsedThrottle({ intervalMs: lastUsedIntervalMs, maxEntries: LAST_USED_MAX_TOKENS }),
    intervalMs: lastUsedIntervalMs,
  },
  // Used only for HTTP APIs attached in strict mode (the stage says so): see strict-limits.ts.
  strictLimits: {
    counters: new DynamoRateCounters(sharedDocumentClient(), tableName),
    typeLimits,
    unknownTypeLimits: UNKNOWN_TYPE_LIMITS,
    // Batches of at most 10 (a tenth of the allowance below that), leftovers flushed after 1 s:
    // the accuracy bound and the cost per request in docs/rate-limits.md and docs/performance.md.
    options: { flushEvery: 10, flushIntervalMs: 1000, maxTokens: LAST_USED_MAX_TOKENS },
  },
});
