import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type GatewayRequest } from '../../../lambdas/core/authorization.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import type { CredentialReader, KeySource } from '../../../lambdas/core/ports.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { VerificationCache } from '../../../lambdas/core/verification-cache.js';
import {
  millisOf,
  rememberingKeySource,
  startVerification,
  systemMillisClock,
  type VerifyTokenDeps,
  verifyToken,
} from '../../../lambdas/core/verify-token.js';
import { credentialRecord } from '../../support/authorizer-events.js';
import { TestClock } from './memory-ports.js';

// The token authorizer's use case over in-memory ports: a key source that counts its calls, a
// credential table keyed by HMAC that counts its reads, the real verification cache, a test clock.

const PREFIX = 'atk';
const KEY: HmacKey = { version: 'v1', material: Buffer.alloc(32, 9) };
const START = new Date('2026-03-01T12:00:00Z');

class MemoryKeySource implements KeySource {
  calls = 0;
  failing: Error | undefined;
  async getKey(): Promise<HmacKey> {
    this.calls++;
    if (this.failing !== undefined) throw this.failing;
    return KEY;
  }
}

class MemoryCredentials implements CredentialReader {
  readonly items = new Map<string, CredentialRecord>();
  readonly reads: string[] = [];
  failing: Error | undefined;
  async findByHash(secretHash: string): Promise<CredentialRecord | undefined> {
    this.reads.push(secretHash);
    if (this.failing !== undefined) throw this.failing;
    return this.items.get(secretHash);
  }
}

const request = (overrides: Partial<GatewayRequest> = {}): GatewayRequest => ({
  method: 'GET',
  path: '/demo/content/items',
  basePath: '/demo',
  sourceIp: '10.1.2.3',
  ...overrides,
});

function setup(cache = { ttlMs: 10_000, negativeTtlMs: 2_000, maxEntries: 100 }) {
  const keySource = new MemoryKeySource();
  const credentials = new MemoryCredentials();
  const clock = new TestClock(START);
  const deps: VerifyTokenDeps = {
    keySource,
    credentials,
    cache: new VerificationCache<CredentialRecord>(cache),
    clock,
    tokenPrefix: PREFIX,
  };
  const issue = (overrides: Partial<CredentialRecord> = {}) => {
    const { secret } = generateToken(PREFIX);
    const credential = credentialRecord({
      secretHash: hashToken(KEY, secret),
      expiresAtMs: START.getTime() + 86_400_000,
      ...overrides,
    });
    credentials.items.set(credential.secretHash, credential);
    return { secret, credential };
  };
  return { deps, keySource, credentials, clock, issue };
}

describe('verifyToken', () => {
  it('decides every reason as decide() does for the credential stored under the HMAC of the token', async () => {
    const { deps, issue, clock } = setup({ ttlMs: 0, negativeTtlMs: 0, maxEntries: 0 });
    const now = clock.now().getTime();
    const cases: [Partial<CredentialRecord>, Partial<GatewayRequest>, string][] = [
      [{}, {}, 'VALID'],
      [{ state: 'revoked' }, {}, 'REVOKED'],
      [{ expiresAtMs: now }, {}, 'EXPIRED'],
      [{ notAfterMs: now - 1 }, {}, 'EXPIRED'],
      [{ disabled: true }, {}, 'DISABLED'],
      [{ allowedIps: ['192.0.2.0/24'] }, {}, 'IP_NOT_ALLOWED'],
      [{}, { method: 'POST' }, 'INSUFFICIENT_SCOPE'],
    ];
    for (const [overrides, requestOverrides, reason] of cases) {
      const { secret, credential } = issue(overrides);
      const decision = await verifyToken(deps, request(requestOverrides), secret);
      expect(decision.reason).toBe(reason);
      expect(decision).toEqual(decide(credential, now, request(requestOverrides)));
    }
    const unknown = generateToken(PREFIX).secret;
    expect((await verifyToken(deps, request(), unknown)).reason).toBe('NOT_FOUND');
  });

  it('MALFORMED without touching the key, the reader or the cache, whatever is presented', async () => {
    const { deps, keySource, credentials } = setup();
    const { secret } = generateToken(PREFIX);
    const other = generateToken('xyz').secret;
    for (const token of [undefined, '', 'garbage', secret.slice(0, -1), `${secret}0`, other]) {
      const decision = await verifyToken(deps, request(), token);
      expect(decision).toMatchObject({ reason: 'MALFORMED', credential: undefined, area: 'content' });
    }
    expect(keySource.calls).toBe(0);
    expect(credentials.reads).toHaveLength(0);
  });

  it('reads once by the HMAC of the token, then answers from the cache until its TTL', async () => {
    const { deps, credentials, clock, issue } = setup();
    const { secret, credential } = issue();
    for (let index = 0; index < 5; index++) {
      expect((await verifyToken(deps, request(), secret)).reason).toBe('VALID');
    }
    expect(credentials.reads).toEqual([credential.secretHash]);
    clock.advance(10_000);
    await verifyToken(deps, request(), secret);
    expect(credentials.reads).toEqual([credential.secretHash, credential.secretHash]);
  });

  it('a cached credential is decided afresh on every request: expiry, scope and address', async () => {
    const { deps, credentials, clock, issue } = setup();
    const { secret } = issue({
      expiresAtMs: START.getTime() + 5_000,
      allowedIps: ['10.0.0.0/8'],
      scopes: ['content:read'],
    });
    expect((await verifyToken(deps, request(), secret)).reason).toBe('VALID');
    expect((await verifyToken(deps, request({ method: 'PUT' }), secret)).reason).toBe('INSUFFICIENT_SCOPE');
    expect((await verifyToken(deps, request({ sourceIp: '192.0.2.1' }), secret)).reason).toBe(
      'IP_NOT_ALLOWED',
    );
    clock.advance(5_000);
    expect((await verifyToken(deps, request(), secret)).reason).toBe('EXPIRED');
    expect(credentials.reads).toHaveLength(1);
  });

  it('remembers "not found" for the negative TTL only', async () => {
    const { deps, credentials, clock } = setup();
    const unknown = generateToken(PREFIX).secret;
    await verifyToken(deps, request(), unknown);
    await verifyToken(deps, request(), unknown);
    expect(credentials.reads).toHaveLength(1);
    clock.advance(2_000);
    expect((await verifyToken(deps, request(), unknown)).reason).toBe('NOT_FOUND');
    expect(credentials.reads).toHaveLength(2);
  });

  it('with the cache off, every well-formed token is read', async () => {
    const { deps, credentials, issue } = setup({ ttlMs: 0, negativeTtlMs: 0, maxEntries: 100 });
    const { secret } = issue();
    for (let index = 0; index < 3; index++) await verifyToken(deps, request(), secret);
    expect(credentials.reads).toHaveLength(3);
  });

  it('rejects when the key source fails: no read, nothing cached, the next request tries again', async () => {
    const { deps, keySource, credentials, issue } = setup();
    const { secret } = issue();
    keySource.failing = new Error('KMSInternalException');
    await expect(verifyToken(deps, request(), secret)).rejects.toThrow('KMSInternalException');
    expect(credentials.reads).toHaveLength(0);
    keySource.failing = undefined;
    expect((await verifyToken(deps, request(), secret)).reason).toBe('VALID');
  });

  it('rejects when the read fails, and caches nothing: the next request reads again', async () => {
    const { deps, credentials, issue } = setup();
    const { secret } = issue();
    credentials.failing = new Error('ProvisionedThroughputExceededException');
    await expect(verifyToken(deps, request(), secret)).rejects.toThrow('ProvisionedThroughputExceeded');
    credentials.failing = undefined;
    expect((await verifyToken(deps, request(), secret)).reason).toBe('VALID');
    expect(credentials.reads).toHaveLength(2);
  });

  it('for any tokens, each request costs exactly one key lookup (one HMAC) when well-formed, none otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant('issued'), fc.constant('unknown'), fc.string({ maxLength: 60 })), {
          maxLength: 20,
        }),
        async (kinds) => {
          const { deps, keySource, credentials, issue } = setup();
          const { secret } = issue();
          const unknown = generateToken(PREFIX).secret;
          let wellFormed = 0;
          for (const kind of kinds) {
            const token = kind === 'issued' ? secret : kind === 'unknown' ? unknown : kind;
            const decision = await verifyToken(deps, request(), token);
            if (decision.reason !== 'MALFORMED') wellFormed++;
          }
          expect(keySource.calls).toBe(wellFormed);
          // Each distinct HMAC is read at most once within the TTLs (the clock does not move here).
          expect(new Set(credentials.reads).size).toBe(credentials.reads.length);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('startVerification (the authorizer: no wait where no I/O is needed)', () => {
  it('decides a cache hit synchronously once the remembered key is loaded, the same decision as verifyToken', async () => {
    const { deps, keySource, credentials, issue } = setup();
    const remembering = rememberingKeySource(keySource);
    const fast: VerifyTokenDeps = { ...deps, keySource: remembering };
    const { secret } = issue();
    expect(remembering.loadedKey?.()).toBeUndefined();
    // First: the key is fetched and the credential read (a promise).
    const first = startVerification(fast, request(), secret);
    expect(first).toBeInstanceOf(Promise);
    expect((await first).reason).toBe('VALID');
    // Then: a Decision, not a promise, equal to what verifyToken answers; no further key fetch or read.
    const second = startVerification(fast, request({ method: 'PUT' }), secret);
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toEqual(await verifyToken(deps, request({ method: 'PUT' }), secret));
    expect(keySource.calls).toBe(2); // one through the remembering source, one by verifyToken above
    expect(credentials.reads).toHaveLength(1);
  });

  it('a failed key fetch is not remembered: the next request tries again', async () => {
    const { deps, keySource, issue } = setup();
    const remembering = rememberingKeySource(keySource);
    const fast: VerifyTokenDeps = { ...deps, keySource: remembering };
    const { secret } = issue();
    keySource.failing = new Error('KMS down');
    await expect(Promise.resolve(startVerification(fast, request(), secret))).rejects.toThrow('KMS down');
    expect(remembering.loadedKey?.()).toBeUndefined();
    keySource.failing = undefined;
    expect((await startVerification(fast, request(), secret)).reason).toBe('VALID');
    expect(remembering.loadedKey?.()).toBe(KEY);
  });

  it('a clock with nowMs() decides by it without making a Date; the system one tells the time', async () => {
    const { deps, issue } = setup();
    const { secret } = issue({ expiresAtMs: START.getTime() + 1000 });
    const at = (ms: number) => ({
      now: (): Date => {
        throw new Error('now() called');
      },
      nowMs: () => ms,
    });
    expect((await verifyToken({ ...deps, clock: at(START.getTime()) }, request(), secret)).reason).toBe(
      'VALID',
    );
    expect(
      (await verifyToken({ ...deps, clock: at(START.getTime() + 1000) }, request(), secret)).reason,
    ).toBe('EXPIRED');
    const before = Date.now();
    const ms = millisOf(systemMillisClock);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(Math.abs(systemMillisClock.now().getTime() - ms)).toBeLessThan(60_000);
  });
});
