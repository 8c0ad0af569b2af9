import { CognitoJwtVerifier, JwtVerifier } from 'aws-jwt-verify';
import {
  FetchError,
  JwksNotAvailableInCacheError,
  JwksValidationError,
  JwkValidationError,
  JwtBaseError,
  NonRetryableFetchError,
  ParameterValidationError,
  WaitPeriodNotYetEndedJwkError,
} from 'aws-jwt-verify/error';
import { type Fetcher, SimpleFetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import { UnauthorizedError } from '../core/errors.js';
import { isSafeIdentity } from '../core/identity.js';
import { ROLES, type Role } from '../core/model.js';
import type { IdentityVerifier, VerifiedIdentity } from '../core/ports.js';
import { ENV, optionalEnv, requireEnv } from '../runtime/env.js';

// Verifies management API callers' JWTs with aws-jwt-verify (DESIGN.md "Authorization model") and
// maps their claims to a VerifiedIdentity. Two modes, chosen by the environment:
//   - Cognito (JWT_COGNITO_USER_POOL_ID set): CognitoJwtVerifier for the stack's user pool, client id
//     = JWT_AUDIENCE, token use JWT_TOKEN_USE (default 'id': Cognito puts custom attributes such as
//     custom:account_id and custom:role in ID tokens only).
//   - OIDC (otherwise): JwtVerifier for JWT_ISSUER with audience JWT_AUDIENCE and the JWKS at
//     JWT_JWKS_URI (default `<issuer>/.well-known/jwks.json`).
// Claim names: JWT_CLAIM_ACCOUNT_ID (default custom:account_id), JWT_CLAIM_ROLE (custom:role),
// JWT_CLAIM_EMAIL (email).
//
// JWKS over plain http: aws-jwt-verify 5 fetches with node:https's `request`, which refuses `http:`
// URLs (ERR_INVALID_PROTOCOL). The local stack's dev identity provider serves its JWKS on
// http://127.0.0.1:<port>, so an `http:` JWKS URI is fetched by LoopbackHttpFetcher instead, and only
// when its host is a loopback address; any other `http:` JWKS URI is refused at load.

export interface JwtClaimNames {
  readonly accountId: string;
  readonly role: string;
  readonly email: string;
}

export const DEFAULT_JWT_CLAIMS: JwtClaimNames = {
  accountId: 'custom:account_id',
  role: 'custom:role',
  email: 'email',
};

export type JwtVerifierConfig =
  | {
      readonly kind: 'cognito';
      readonly userPoolId: string;
      readonly clientId: string;
      readonly tokenUse: 'id' | 'access';
      readonly claims: JwtClaimNames;
    }
  | {
      readonly kind: 'oidc';
      readonly issuer: string;
      readonly audience: string;
      readonly jwksUri: string;
      readonly claims: JwtClaimNames;
    };

/** Reads the JWT_* environment; throws at load (naming the variable) when it is incomplete. */
export function jwtVerifierConfigFromEnv(env: NodeJS.ProcessEnv = process.env): JwtVerifierConfig {
  const claims: JwtClaimNames = {
    accountId: optionalEnv(ENV.jwtClaimAccountId, env) ?? DEFAULT_JWT_CLAIMS.accountId,
    role: optionalEnv(ENV.jwtClaimRole, env) ?? DEFAULT_JWT_CLAIMS.role,
    email: optionalEnv(ENV.jwtClaimEmail, env) ?? DEFAULT_JWT_CLAIMS.email,
  };
  const userPoolId = optionalEnv(ENV.jwtCognitoUserPoolId, env);
  if (userPoolId !== undefined) {
    const tokenUse = optionalEnv(ENV.jwtTokenUse, env) ?? 'id';
    if (tokenUse !== 'id' && tokenUse !== 'access') {
      throw new Error(`${ENV.jwtTokenUse} must be 'id' or 'access', not '${tokenUse}'`);
    }
    return { kind: 'cognito', userPoolId, clientId: requireEnv(ENV.jwtAudience, env), tokenUse, claims };
  }
  const issuer = requireEnv(ENV.jwtIssuer, env);
  return {
    kind: 'oidc',
    issuer,
    audience: requireEnv(ENV.jwtAudience, env),
    jwksUri: optionalEnv(ENV.jwtJwksUri, env) ?? `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
    claims,
  };
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const HTTP_TIMEOUT_MS = 3000;

export function isLoopbackHttpUri(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
  } catch {
    return false;
  }
}

/**
 * Fetches `https:` URIs as aws-jwt-verify does and `http:` URIs on a loopback host with the global
 * fetch (aws-jwt-verify's node fetcher speaks https only). Errors are aws-jwt-verify's own FetchError
 * kinds, so its JWKS cache and penalty box treat them as usual.
 */
export class LoopbackHttpFetcher implements Fetcher {
  private readonly https = new SimpleFetcher();

  async fetch(
    uri: string,
    requestOptions?: Record<string, unknown>,
    data?: ArrayBuffer,
  ): Promise<ArrayBuffer> {
    if (!uri.startsWith('http:')) return this.https.fetch(uri, requestOptions, data);
    if (!isLoopbackHttpUri(uri))
      throw new NonRetryableFetchError(uri, 'plain http is allowed on loopback only');
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) });
    } catch (error) {
      throw new FetchError(uri, error instanceof Error ? error.message : 'request failed');
    }
    if (response.status !== 200) {
      throw new NonRetryableFetchError(uri, `Status code is ${response.status}, expected 200`);
    }
    return response.arrayBuffer();
  }
}

interface PayloadVerifier {
  verify(jwt: string): Promise<JwtPayload>;
}

/** The aws-jwt-verify verifier for a configuration. Throws on a configuration it cannot use. */
export function payloadVerifierFor(config: JwtVerifierConfig): PayloadVerifier {
  if (config.kind === 'cognito') {
    const verifier = CognitoJwtVerifier.create({
      userPoolId: config.userPoolId,
      clientId: config.clientId,
      tokenUse: config.tokenUse,
    });
    return { verify: (jwt) => verifier.verify(jwt) };
  }
  if (config.jwksUri.startsWith('http:') && !isLoopbackHttpUri(config.jwksUri)) {
    throw new Error(
      `${ENV.jwtJwksUri} must be https (plain http only on 127.0.0.1/localhost): ${config.jwksUri}`,
    );
  }
  const verifier = JwtVerifier.create(
    { issuer: config.issuer, audience: config.audience, jwksUri: config.jwksUri },
    { jwksCache: new SimpleJwksCache({ fetcher: new LoopbackHttpFetcher() }) },
  );
  return { verify: (jwt) => verifier.verify(jwt) };
}

/**
 * Errors that say "we could not check", not "this JWT is invalid": the JWKS could not be fetched or
 * parsed, the penalty box is closed after a failed fetch, or the verifier is misconfigured. They
 * propagate (500, not cached); every other verification error means an invalid JWT.
 */
export function isVerificationUnavailable(error: unknown): boolean {
  return (
    error instanceof FetchError ||
    error instanceof JwksValidationError ||
    error instanceof JwkValidationError ||
    error instanceof WaitPeriodNotYetEndedJwkError ||
    error instanceof JwksNotAvailableInCacheError ||
    error instanceof ParameterValidationError ||
    !(error instanceof JwtBaseError)
  );
}

/** An invalid JWT. `reason` names what was wrong (an aws-jwt-verify error class or a claim check), for logs. */
export class InvalidJwtError extends UnauthorizedError {
  constructor(readonly reason: string) {
    super('The token is not valid');
  }
}

const MAX_EMAIL_LENGTH = 320;
const ROLE_SET: ReadonlySet<string> = new Set(ROLES);

const isRole = (value: unknown): value is Role => typeof value === 'string' && ROLE_SET.has(value);

/**
 * A claim by its configured name, own properties only: a claim name such as `constructor` or
 * `toString` must find nothing in a payload that lacks it, never Object.prototype's member.
 */
function claim(payload: JwtPayload, name: string): unknown {
  return Object.hasOwn(payload, name) ? payload[name] : undefined;
}

/**
 * The caller behind verified claims, or UnauthorizedError when a required claim is missing or wrong.
 * `sub` and the account id must match the one identity pattern (lambdas/core/identity.ts): a `sub`
 * of `*` would otherwise read as "the whole account", one with `#` could collide in item keys.
 */
export function identityFromClaims(payload: JwtPayload, claims: JwtClaimNames): VerifiedIdentity {
  const userId = claim(payload, 'sub');
  const accountId = claim(payload, claims.accountId);
  const role = claim(payload, claims.role);
  const email = claim(payload, claims.email);
  // aws-jwt-verify checks `exp` only when present; a JWT that never expires is not accepted here.
  if (typeof payload.exp !== 'number') throw new InvalidJwtError('ExpClaim');
  if (!isSafeIdentity(userId)) throw new InvalidJwtError('SubjectClaim');
  if (!isSafeIdentity(accountId)) throw new InvalidJwtError('AccountIdClaim');
  if (!isRole(role)) throw new InvalidJwtError('RoleClaim');
  if (email !== undefined && (typeof email !== 'string' || email.length > MAX_EMAIL_LENGTH)) {
    throw new InvalidJwtError('EmailClaim');
  }
  return { userId, accountId, role, email: email === undefined || email === '' ? undefined : email };
}

export class JwtIdentityVerifier implements IdentityVerifier {
  constructor(
    private readonly verifier: PayloadVerifier,
    private readonly claims: JwtClaimNames,
  ) {}

  static fromConfig(config: JwtVerifierConfig): JwtIdentityVerifier {
    return new JwtIdentityVerifier(payloadVerifierFor(config), config.claims);
  }

  async verify(jwt: string): Promise<VerifiedIdentity> {
    let payload: JwtPayload;
    try {
      payload = await this.verifier.verify(jwt);
    } catch (error) {
      if (isVerificationUnavailable(error)) throw error;
      throw new InvalidJwtError(error instanceof Error ? error.constructor.name : 'JwtError');
    }
    return identityFromClaims(payload, this.claims);
  }
}
