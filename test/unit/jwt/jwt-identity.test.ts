import {
  FetchError,
  JwksValidationError,
  JwtExpiredError,
  JwtInvalidSignatureError,
  JwtParseError,
  KidNotFoundInJwksError,
  NonRetryableFetchError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { SimpleFetcher } from 'aws-jwt-verify/https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_JWT_CLAIMS,
  InvalidJwtError,
  identityFromClaims,
  isLoopbackHttpUri,
  isVerificationUnavailable,
  JwtIdentityVerifier,
  LoopbackHttpFetcher,
  payloadVerifierFor,
} from '../../../lambdas/adapters/jwt-identity.js';
import { UnauthorizedError } from '../../../lambdas/core/errors.js';
import { jwtVerifierConfigFromEnv } from '../../../lambdas/runtime/jwt-verifier.js';
import { AUDIENCE, idTokenClaims, startTestIssuer, type TestIssuer } from './jwks-server.js';

describe('configuration from env', () => {
  it('Cognito mode: pool id, client id from JWT_AUDIENCE, ID tokens by default, default claim names', () => {
    expect(
      jwtVerifierConfigFromEnv({ JWT_COGNITO_USER_POOL_ID: 'us-east-1_Example', JWT_AUDIENCE: 'client-1' }),
    ).toEqual({
      kind: 'cognito',
      userPoolId: 'us-east-1_Example',
      clientId: 'client-1',
      tokenUse: 'id',
      claims: { accountId: 'custom:account_id', role: 'custom:role', email: 'email' },
    });
    expect(() =>
      jwtVerifierConfigFromEnv({
        JWT_COGNITO_USER_POOL_ID: 'p',
        JWT_AUDIENCE: 'c',
        JWT_TOKEN_USE: 'refresh',
      }),
    ).toThrow(/JWT_TOKEN_USE/);
    expect(() =>
      payloadVerifierFor(
        jwtVerifierConfigFromEnv({ JWT_COGNITO_USER_POOL_ID: 'us-east-1_Example', JWT_AUDIENCE: 'c' }),
      ),
    ).not.toThrow();
  });

  it('OIDC mode: issuer and audience required, JWKS URI defaulted', () => {
    expect(jwtVerifierConfigFromEnv({ JWT_ISSUER: 'https://idp.example.com/', JWT_AUDIENCE: 'api' })).toEqual(
      {
        kind: 'oidc',
        issuer: 'https://idp.example.com/',
        audience: 'api',
        jwksUri: 'https://idp.example.com/.well-known/jwks.json',
        claims: DEFAULT_JWT_CLAIMS,
      },
    );
    expect(() => jwtVerifierConfigFromEnv({ JWT_AUDIENCE: 'api' })).toThrow(/JWT_ISSUER/);
    expect(() => jwtVerifierConfigFromEnv({ JWT_ISSUER: 'https://idp.example.com' })).toThrow(/JWT_AUDIENCE/);
  });

  it('allows plain http for loopback hosts only', () => {
    expect(isLoopbackHttpUri('http://127.0.0.1:4010/_local/.well-known/jwks.json')).toBe(true);
    expect(isLoopbackHttpUri('http://localhost:4010/x')).toBe(true);
    expect(isLoopbackHttpUri('http://[::1]:4010/x')).toBe(true);
    expect(isLoopbackHttpUri('http://127.0.0.1.example.com/x')).toBe(false);
    expect(isLoopbackHttpUri('https://127.0.0.1/x')).toBe(false);
    expect(() =>
      payloadVerifierFor({
        kind: 'oidc',
        issuer: 'http://a.example',
        audience: 'x',
        jwksUri: 'http://a.example/j',
        claims: DEFAULT_JWT_CLAIMS,
      }),
    ).toThrow(/must be https/);
  });
});

describe('JWKS over plain http on 127.0.0.1', () => {
  let issuer: TestIssuer;

  beforeAll(async () => {
    issuer = await startTestIssuer();
  });

  afterAll(async () => {
    await issuer.close();
  });

  it("is refused by aws-jwt-verify's own fetcher (why LoopbackHttpFetcher exists)", async () => {
    // node:https's request() refuses the URL before any connection: ERR_INVALID_PROTOCOL.
    await expect(new SimpleFetcher().fetch(issuer.jwksUri)).rejects.toThrow(/Protocol "http:" not supported/);
  });

  it('is fetched by LoopbackHttpFetcher, which reports HTTP errors as aws-jwt-verify errors', async () => {
    const body = await new LoopbackHttpFetcher().fetch(issuer.jwksUri);
    expect(JSON.parse(Buffer.from(body).toString('utf8')).keys[0].kid).toBe(issuer.kid);
    await expect(new LoopbackHttpFetcher().fetch(`${issuer.issuer}/missing`)).rejects.toBeInstanceOf(
      NonRetryableFetchError,
    );
    await expect(new LoopbackHttpFetcher().fetch('http://example.com/jwks.json')).rejects.toBeInstanceOf(
      NonRetryableFetchError,
    );
  });

  it('verifies a local ID token end to end', async () => {
    const verifier = JwtIdentityVerifier.fromConfig({
      kind: 'oidc',
      issuer: issuer.issuer,
      audience: AUDIENCE,
      jwksUri: issuer.jwksUri,
      claims: DEFAULT_JWT_CLAIMS,
    });
    const claims = idTokenClaims(issuer.issuer);
    await expect(verifier.verify(issuer.sign(claims))).resolves.toEqual({
      userId: 'user-1',
      accountId: 'acct-1',
      role: 'member',
      email: 'ada@example.com',
      // The JWT authorizer refuses a sign-in from before the user's latest access switch by it.
      issuedAt: claims.iat,
    });
    await expect(verifier.verify('x.y.z')).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('error classification', () => {
  it('"could not check" errors propagate; "invalid JWT" errors become UnauthorizedError', async () => {
    const unavailable = [
      new FetchError('u', 'down'),
      new NonRetryableFetchError('u', '500'),
      new JwksValidationError('bad'),
      new WaitPeriodNotYetEndedJwkError('wait'),
      new Error('anything else'),
    ];
    for (const error of unavailable) expect(isVerificationUnavailable(error)).toBe(true);
    const invalid = [
      new JwtParseError('bad'),
      new JwtInvalidSignatureError('bad'),
      new JwtExpiredError('expired', 1, undefined),
      new KidNotFoundInJwksError('kid'),
    ];
    for (const error of invalid) {
      expect(isVerificationUnavailable(error)).toBe(false);
      const verifier = new JwtIdentityVerifier({ verify: () => Promise.reject(error) }, DEFAULT_JWT_CLAIMS);
      await expect(verifier.verify('jwt')).rejects.toBeInstanceOf(InvalidJwtError);
    }
    const down = new JwtIdentityVerifier(
      { verify: () => Promise.reject(unavailable[0]) },
      DEFAULT_JWT_CLAIMS,
    );
    await expect(down.verify('jwt')).rejects.toBeInstanceOf(FetchError);
  });

  it('checks the claims it maps', () => {
    const claims = { sub: 'u', exp: 4_102_444_800, 'custom:account_id': 'a', 'custom:role': 'viewer' };
    expect(identityFromClaims(claims, DEFAULT_JWT_CLAIMS)).toEqual({
      userId: 'u',
      accountId: 'a',
      role: 'viewer',
      email: undefined,
    });
    for (const bad of [
      { sub: 'u', 'custom:account_id': 'a', 'custom:role': 'viewer' },
      { ...claims, sub: '' },
      { ...claims, 'custom:account_id': 7 },
      { ...claims, 'custom:account_id': 'a'.repeat(257) },
      { ...claims, 'custom:role': 'Admin' },
      { ...claims, email: ['x'] },
    ]) {
      expect(() => identityFromClaims(bad, DEFAULT_JWT_CLAIMS)).toThrow(UnauthorizedError);
    }
  });
});
