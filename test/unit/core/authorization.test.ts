import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTHORIZATION_REASONS,
  authorize,
  decide,
  type GatewayRequest,
  outcomeOf,
  presentedToken,
  tokenAuthorizerContext,
} from '../../../lambdas/core/authorization.js';
import { bearerCredentials, headerValue } from '../../../lambdas/core/bearer.js';
import { areaOf, normalizeBasePath, requiredScope } from '../../../lambdas/core/gateway-scope.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { credentialRecord } from '../../support/authorizer-events.js';

const PREFIX = 'atk';
const NOW = Date.parse('2026-03-01T12:00:00Z');
const { secret } = generateToken(PREFIX);

const request = (overrides: Partial<GatewayRequest> = {}): GatewayRequest => ({
  method: 'GET',
  path: '/demo/content/items',
  basePath: '/demo',
  sourceIp: '10.1.2.3',
  ...overrides,
});

describe('reason codes', () => {
  it('has exactly the contract codes, with their status classes', () => {
    expect(AUTHORIZATION_REASONS).toEqual([
      'VALID',
      'MALFORMED',
      'NOT_FOUND',
      'EXPIRED',
      'REVOKED',
      'DISABLED',
      'IP_NOT_ALLOWED',
      'INSUFFICIENT_SCOPE',
    ]);
    expect(AUTHORIZATION_REASONS.map((reason) => [reason, outcomeOf(reason)])).toEqual([
      ['VALID', 'allow'],
      ['MALFORMED', 'unauthenticated'],
      ['NOT_FOUND', 'unauthenticated'],
      ['EXPIRED', 'unauthenticated'],
      ['REVOKED', 'unauthenticated'],
      ['DISABLED', 'unauthenticated'],
      ['IP_NOT_ALLOWED', 'forbidden'],
      ['INSUFFICIENT_SCOPE', 'forbidden'],
    ]);
  });
});

describe('presentedToken (no I/O)', () => {
  it('accepts `Bearer <token>` with the scheme in any case and extra spaces', () => {
    for (const header of [
      `Bearer ${secret}`,
      `bearer ${secret}`,
      `BEARER  ${secret}`,
      ` Bearer\t${secret} `,
    ]) {
      expect(presentedToken(header, PREFIX)).toBe(secret);
    }
  });

  it('refuses other schemes, missing credentials, several words, bad checksums and other prefixes', () => {
    const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const header of [
      undefined,
      '',
      secret,
      `Basic ${secret}`,
      `Bearer`,
      `Bearer `,
      `Bearer ${secret} extra`,
      `Bearer${secret}`,
      `Bearer ${flipped}`,
      `Bearer ${secret.replace(/^atk_/, 'xyz_')}`,
      `Bearer ${secret}x`,
    ]) {
      expect(presentedToken(header, PREFIX)).toBeUndefined();
    }
  });

  it('never throws and only ever returns the credentials of a Bearer header (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'grapheme' }),
          fc.string().map((s) => `Bearer ${s}`),
        ),
        (value) => {
          const token = presentedToken(value, PREFIX);
          if (token !== undefined) expect(bearerCredentials(value)).toBe(token);
        },
      ),
    );
  });
});

describe('bearerCredentials', () => {
  it('answers a value the same whatever was parsed before it (the last-value memo, property)', () => {
    const headerArb = fc.oneof(
      fc.string(),
      fc.string().map((s) => `Bearer ${s}`),
      fc.constantFrom(`Bearer ${secret}`, ` bearer\t${secret} `, `Bearer ${secret} x`, `Basic ${secret}`),
    );
    fc.assert(
      fc.property(
        fc.array(headerArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat()),
        (values, picks) => {
          // Each value's answer when parsed right after a different value, as the reference.
          const reference = values.map((value) => {
            bearerCredentials('Bearer reset');
            return bearerCredentials(value);
          });
          for (const pick of picks) {
            const index = pick % values.length;
            // Equal copies too: a new event brings an equal string, not the same one.
            expect(bearerCredentials(` ${values[index]}`.slice(1))).toBe(reference[index]);
            expect(bearerCredentials(values[index])).toBe(reference[index]);
          }
        },
      ),
    );
  });
});

describe('headerValue', () => {
  it('finds a header in any case and refuses an ambiguous duplicate', () => {
    expect(headerValue({ AUTHORIZATION: 'a' }, 'Authorization')).toBe('a');
    expect(headerValue({ authorization: 'a', Authorization: 'a' }, 'authorization')).toBe('a');
    expect(headerValue({ authorization: 'a', Authorization: 'b' }, 'authorization')).toBeUndefined();
    expect(headerValue(null, 'authorization')).toBeUndefined();
    expect(headerValue({ other: 'x' }, 'authorization')).toBeUndefined();
  });
});

describe('decide', () => {
  it('NOT_FOUND without a credential', () => {
    expect(decide(undefined, NOW, request()).reason).toBe('NOT_FOUND');
  });

  it('REVOKED before anything else about the credential', () => {
    const credential = credentialRecord({
      state: 'revoked',
      expiresAtMs: NOW - 1,
      allowedIps: ['192.0.2.0/24'],
    });
    expect(decide(credential, NOW, request()).reason).toBe('REVOKED');
  });

  it('EXPIRED at and after expiresAt, whether or not TTL has deleted the item yet', () => {
    expect(decide(credentialRecord({ expiresAtMs: NOW }), NOW, request()).reason).toBe('EXPIRED');
    expect(decide(credentialRecord({ expiresAtMs: NOW - 86_400_000 * 3 }), NOW, request()).reason).toBe(
      'EXPIRED',
    );
    expect(decide(credentialRecord({ expiresAtMs: NOW + 1 }), NOW, request()).reason).toBe('VALID');
    expect(decide(credentialRecord({ expiresAtMs: null }), NOW, request()).reason).toBe('VALID');
  });

  it('EXPIRED past notAfter: a secret rotated out after its grace period', () => {
    const credential = credentialRecord({ expiresAtMs: NOW + 86_400_000, notAfterMs: NOW - 1 });
    expect(decide(credential, NOW, request()).reason).toBe('EXPIRED');
    expect(decide(credentialRecord({ notAfterMs: NOW + 1000 }), NOW, request()).reason).toBe('VALID');
  });

  it('IP_NOT_ALLOWED outside a non-empty allowlist; an empty allowlist allows any address', () => {
    const limited = credentialRecord({ allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(decide(limited, NOW, request({ sourceIp: '10.200.0.1' })).reason).toBe('VALID');
    expect(decide(limited, NOW, request({ sourceIp: '2001:db8::7' })).reason).toBe('VALID');
    expect(decide(limited, NOW, request({ sourceIp: '192.0.2.1' })).reason).toBe('IP_NOT_ALLOWED');
    expect(decide(limited, NOW, request({ sourceIp: 'test-invoke-source-ip' })).reason).toBe(
      'IP_NOT_ALLOWED',
    );
    expect(decide(limited, NOW, request({ sourceIp: undefined })).reason).toBe('IP_NOT_ALLOWED');
    expect(decide(credentialRecord(), NOW, request({ sourceIp: 'test-invoke-source-ip' })).reason).toBe(
      'VALID',
    );
  });

  it('INSUFFICIENT_SCOPE when the method needs write, the area differs, or there is no area', () => {
    const reader = credentialRecord({ scopes: ['content:read'] });
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'get']) {
      expect(decide(reader, NOW, request({ method })).reason).toBe('VALID');
    }
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'TRACE', 'CONNECT']) {
      expect(decide(reader, NOW, request({ method })).reason).toBe('INSUFFICIENT_SCOPE');
    }
    expect(decide(reader, NOW, request({ path: '/demo/reports/x' })).reason).toBe('INSUFFICIENT_SCOPE');
    expect(decide(reader, NOW, request({ path: '/demo' })).reason).toBe('INSUFFICIENT_SCOPE');
    expect(decide(reader, NOW, request({ path: '/content/items' })).reason).toBe('INSUFFICIENT_SCOPE');
    const writer = credentialRecord({ scopes: ['content:write'] });
    expect(decide(writer, NOW, request({ method: 'DELETE' })).reason).toBe('VALID');
    expect(decide(writer, NOW, request({ method: 'GET' })).reason).toBe('INSUFFICIENT_SCOPE');
  });

  it('records the area and the scope the request needs', () => {
    const decision = decide(credentialRecord(), NOW, request({ method: 'POST' }));
    expect(decision).toMatchObject({ area: 'content', requiredScope: 'content:write' });
  });
});

describe('authorize (both steps)', () => {
  it('is MALFORMED before it looks at the credential', () => {
    const decision = authorize({
      ...request(),
      authorization: 'Bearer nope',
      credential: credentialRecord(),
      nowMs: NOW,
      tokenPrefix: PREFIX,
    });
    expect(decision).toMatchObject({ reason: 'MALFORMED', credential: undefined });
  });

  it('is VALID for a well-formed token with a matching credential', () => {
    const decision = authorize({
      ...request(),
      authorization: `Bearer ${secret}`,
      credential: credentialRecord(),
      nowMs: NOW,
      tokenPrefix: PREFIX,
    });
    expect(decision.reason).toBe('VALID');
  });
});

describe('scope of a gateway request', () => {
  it('normalizes base paths', () => {
    expect(['', '/', undefined, '//'].map(normalizeBasePath)).toEqual(['', '', '', '']);
    expect(['demo', '/demo', '/demo/', ' /demo// '].map(normalizeBasePath)).toEqual([
      '/demo',
      '/demo',
      '/demo',
      '/demo',
    ]);
  });

  it('takes the first segment after the base path, on segment boundaries only', () => {
    expect(areaOf('/demo/content', '/demo')).toBe('content');
    expect(areaOf('/demo/content/a/b', '/demo')).toBe('content');
    expect(areaOf('/demonstration/content', '/demo')).toBeUndefined();
    expect(areaOf('/content/a', '')).toBe('content');
    expect(areaOf('/demo/Content', '/demo')).toBeUndefined();
    expect(areaOf('/demo//content', '/demo')).toBeUndefined();
    expect(areaOf('/demo/', '/demo')).toBeUndefined();
  });

  it('maps methods to read and write', () => {
    expect(requiredScope('HEAD', '/a/b', '')).toEqual({ area: 'a', action: 'read', scope: 'a:read' });
    expect(requiredScope('PATCH', '/a', '')).toEqual({ area: 'a', action: 'write', scope: 'a:write' });
    expect(requiredScope('TRACE', '/a', '')).toEqual({ area: 'a', action: undefined, scope: undefined });
  });
});

describe('authorizer context', () => {
  it('is strings only, scopes space-separated', () => {
    expect(tokenAuthorizerContext(credentialRecord({ scopes: ['content:read', 'reports:write'] }))).toEqual({
      tokenId: 'tok_0000000000000000000001',
      userId: 'user-1',
      accountId: 'acct-1',
      scopes: 'content:read reports:write',
      type: 'standard',
    });
  });
});
