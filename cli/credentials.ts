import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { NotSignedInError } from './errors.js';

// Where the CLI keeps its session: `$XDG_CONFIG_HOME/access-tokens/credentials.json` (default
// `~/.config`), the file mode 0600 in a 0700 directory, like `gh`'s hosts.yml. The environment
// overrides it: ACCESS_TOKENS_API (the management API's base URL) and ACCESS_TOKENS_JWT (a JWT
// the API accepts), for CI jobs that get a JWT from elsewhere.

export const ENV_API = 'ACCESS_TOKENS_API';
export const ENV_JWT = 'ACCESS_TOKENS_JWT';

const storedSchema = z.object({
  /** The management API's base URL, without a trailing slash. */
  api: z.string().url(),
  jwt: z.string().min(1),
  /** How it was obtained: `local` (npm start's dev sign-in) or `oidc` (the deployed sign-in). */
  kind: z.enum(['local', 'oidc']),
  userId: z.string().nullable(),
  email: z.string().nullable(),
  /** ISO 8601, from the JWT's `exp`; null when it has none. */
  expiresAt: z.string().nullable(),
  /**
   * `oidc` only, when the issuer gave a refresh token: what renews the JWT before it expires (cli/session.ts).
   * Absent in files written before renewal existed, and for `local`.
   */
  renewal: z
    .object({
      tokenEndpoint: z.string().url(),
      clientId: z.string().min(1),
      refreshToken: z.string().min(1),
    })
    .optional(),
});
export type StoredCredentials = z.infer<typeof storedSchema>;

export interface Session {
  readonly api: string;
  readonly jwt: string;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
  const base = xdg?.startsWith('/') ? xdg : join(env.HOME ?? homedir(), '.config');
  return join(base, 'access-tokens');
}

export function credentialsPath(env: NodeJS.ProcessEnv): string {
  return join(configDir(env), 'credentials.json');
}

/** Writes the credentials with mode 0600 (through a temporary file, so a reader never sees half). */
export function saveCredentials(env: NodeJS.ProcessEnv, credentials: StoredCredentials): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = credentialsPath(env);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(storedSchema.parse(credentials), null, 2)}\n`, {
    mode: 0o600,
  });
  // The mode given to writeFileSync is masked by the umask and ignored for an existing file.
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
  return path;
}

export function loadCredentials(env: NodeJS.ProcessEnv): StoredCredentials | null {
  let text: string;
  try {
    text = readFileSync(credentialsPath(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  const result = storedSchema.safeParse(parsed);
  return result.success ? result.data : null;
}

/** Removes the stored credentials; whether there were any. */
export function removeCredentials(env: NodeJS.ProcessEnv): boolean {
  const path = credentialsPath(env);
  try {
    rmSync(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** The `exp` claim of a JWT, in seconds, without verifying it (the API does); null if unreadable. */
export function jwtExpiry(jwt: string): number | null {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof claims.exp === 'number' ? claims.exp : null;
  } catch {
    return null;
  }
}

/** The JWT's `exp` as stored (`expiresAt`): ISO 8601, or null when it has none. */
export function expiresAtOf(jwt: string): string | null {
  const exp = jwtExpiry(jwt);
  return exp === null ? null : new Date(exp * 1000).toISOString();
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The API and JWT to call with: the environment's first, then the stored ones (read from the file
 * unless the caller has them already). Throws
 * NotSignedInError (exit 4) when there is no JWT or its `exp` has passed.
 */
export function resolveSession(
  env: NodeJS.ProcessEnv,
  now: () => number = Date.now,
  stored: StoredCredentials | null = loadCredentials(env),
): Session {
  const envApi = env[ENV_API];
  const envJwt = env[ENV_JWT];
  const api = envApi !== undefined && envApi !== '' ? envApi : stored?.api;
  const jwt = envJwt !== undefined && envJwt !== '' ? envJwt : stored?.jwt;
  if (jwt === undefined) throw new NotSignedInError('Not signed in');
  if (api === undefined) {
    throw new NotSignedInError(`No API URL: set ${ENV_API} with ${ENV_JWT}, or`);
  }
  const exp = jwtExpiry(jwt);
  if (exp !== null && exp * 1000 <= now()) throw new NotSignedInError('Your session has expired');
  return { api: trimSlash(api), jwt };
}
