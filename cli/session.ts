import {
  ENV_JWT,
  expiresAtOf,
  jwtExpiry,
  loadCredentials,
  resolveSession,
  type Session,
  type StoredCredentials,
  saveCredentials,
} from './credentials.js';
import { NotSignedInError } from './errors.js';
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

/** Whether `jwt` can be used as it is: it has no `exp`, or more than RENEW_WITHIN_MS left. */
function lastsTheCommand(jwt: string, io: CliIo): boolean {
  const exp = jwtExpiry(jwt);
  return exp === null || exp * 1000 - io.now() > RENEW_WITHIN_MS;
}

export async function currentSession(io: CliIo): Promise<Session> {
  const stored = loadCredentials(io.env);
  const fromEnvironment = io.env[ENV_JWT] !== undefined && io.env[ENV_JWT] !== '';
  if (fromEnvironment || stored?.renewal === undefined || lastsTheCommand(stored.jwt, io)) {
    return resolveSession(io.env, io.now, stored);
  }
  let renewed: Awaited<ReturnType<typeof renewIdToken>>;
  try {
    renewed = await renewIdToken(io, stored.renewal);
  } catch (error) {
    const meanwhile = error instanceof NotSignedInError ? renewedElsewhere(io, stored) : undefined;
    if (meanwhile === undefined) throw error;
    return resolveSession(io.env, io.now, meanwhile);
  }
  const current = {
    ...stored,
    jwt: renewed.idToken,
    expiresAt: expiresAtOf(renewed.idToken),
    renewal: renewed.renewal,
  };
  saveCredentials(io.env, current);
  return resolveSession(io.env, io.now, current);
}

/**
 * The session another command saved while this one was renewing the same one, if any. Two commands
 * started together (a script, two terminals) both send the stored refresh token; an issuer that
 * rotates refresh tokens (Cognito with a rotation grace period, most OAuth servers) answers the
 * second with invalid_grant, and the first has saved the new session by then (saveCredentials
 * replaces the file in one rename). That one is used rather than asking the user to sign in again.
 */
function renewedElsewhere(io: CliIo, refused: StoredCredentials): StoredCredentials | undefined {
  const saved = loadCredentials(io.env);
  if (saved === null || saved.jwt === refused.jwt || saved.api !== refused.api) return undefined;
  return lastsTheCommand(saved.jwt, io) ? saved : undefined;
}
