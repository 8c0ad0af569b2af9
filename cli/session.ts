import {
  ENV_JWT,
  expiresAtOf,
  jwtExpiry,
  loadCredentials,
  resolveSession,
  type Session,
  saveCredentials,
} from './credentials.js';
import type { CliIo } from './io.js';
import { renewIdToken } from './oidc-login.js';

// The session a command calls the API with. A deployed sign-in keeps the issuer's refresh token
// (docs/cli.md "Signing in"): when the stored ID token has expired, or expires within RENEW_WITHIN_MS,
// it is renewed with the refresh token grant and saved before the command runs, as `gh` and
// `aws sso` do, so a session lasts as long as the refresh token (a day with the stack's Cognito
// client) instead of the ID token's hour. A JWT from ACCESS_TOKENS_JWT is never renewed: whoever
// set it owns its lifetime.

/** A command that starts with less than this left could see its token expire halfway (a long `--all` list). */
const RENEW_WITHIN_MS = 60_000;

export async function currentSession(io: CliIo): Promise<Session> {
  const stored = loadCredentials(io.env);
  const fromEnvironment = io.env[ENV_JWT] !== undefined && io.env[ENV_JWT] !== '';
  const exp = stored === null ? null : jwtExpiry(stored.jwt);
  if (
    fromEnvironment ||
    stored?.renewal === undefined ||
    exp === null ||
    exp * 1000 - io.now() > RENEW_WITHIN_MS
  ) {
    return resolveSession(io.env, io.now, stored);
  }
  const renewed = await renewIdToken(io, stored.renewal);
  const current = {
    ...stored,
    jwt: renewed.idToken,
    expiresAt: expiresAtOf(renewed.idToken),
    renewal: renewed.renewal,
  };
  saveCredentials(io.env, current);
  return resolveSession(io.env, io.now, current);
}
