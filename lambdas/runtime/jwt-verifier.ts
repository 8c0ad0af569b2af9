import { DEFAULT_JWT_CLAIMS, type JwtClaimNames, type JwtVerifierConfig } from '../adapters/jwt-identity.js';
import { ENV, optionalEnv, requireEnv } from './env.js';

// The JWT verifier's configuration from the environment (the variables are described with the
// verifier, lambdas/adapters/jwt-identity.ts).

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
