import type { ConsoleConfig, OidcAuthConfig } from './config';

// The signed-in user: the ID token the API takes as its bearer, held in sessionStorage (this tab
// only, gone with it; never localStorage) so that a reload keeps the session. An expired or refused
// token sends the user to sign-in, remembering where they were (RETURN_KEY) to come back after.

export type Role = 'admin' | 'member' | 'viewer';

export interface Session {
  readonly idToken: string;
  readonly userId: string;
  readonly email: string;
  readonly accountId: string;
  readonly role: Role;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /** Epoch milliseconds. */
  readonly issuedAt: number;
}

const SESSION_KEY = 'atk.console.session';
const RETURN_KEY = 'atk.console.returnTo';
const ROLES: readonly Role[] = ['admin', 'member', 'viewer'];

function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as Record<
    string,
    unknown
  >;
}

/**
 * The session an ID token describes. The role and account claims are named by the deployment
 * (cdk.json roleClaim / accountIdClaim, `custom:role` / `custom:account_id` by default); the console
 * only displays them (the API decides), so it takes the first claim whose name ends in `role` /
 * `account_id` / `accountId`.
 */
function sessionOf(idToken: string): Session {
  const claims = claimsOf(idToken);
  const find = (pattern: RegExp) =>
    Object.entries(claims).find(([name, value]) => pattern.test(name) && typeof value === 'string')?.[1] as
      | string
      | undefined;
  const role = find(/role$/i);
  return {
    idToken,
    userId: String(claims.sub ?? ''),
    email: String(claims.email ?? claims.sub ?? ''),
    accountId: find(/account_?id$/i) ?? '',
    role: ROLES.includes(role as Role) ? (role as Role) : 'viewer',
    expiresAt: typeof claims.exp === 'number' ? claims.exp * 1000 : Date.now(),
    issuedAt: typeof claims.iat === 'number' ? claims.iat * 1000 : Date.now(),
  };
}

export function storedSession(): Session | undefined {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (raw === null) return undefined;
  try {
    const session = sessionOf(raw);
    return session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export function storeSession(session: Session | undefined): void {
  if (session === undefined) sessionStorage.removeItem(SESSION_KEY);
  else sessionStorage.setItem(SESSION_KEY, session.idToken);
}

export function rememberReturnPath(path: string): void {
  if (!path.startsWith('/sign-in') && !path.startsWith('/callback')) sessionStorage.setItem(RETURN_KEY, path);
}

export function takeReturnPath(): string {
  const path = sessionStorage.getItem(RETURN_KEY) ?? '/';
  sessionStorage.removeItem(RETURN_KEY);
  return path.startsWith('/') && !path.startsWith('//') ? path : '/';
}

/** Local only: the dev identity provider of `npm start` (POST /_local/session). */
export async function localSignIn(
  config: ConsoleConfig,
  form: { email: string; accountId: string; role: Role },
): Promise<Session> {
  const response = await fetch(`${config.apiUrl}/_local/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(form),
  });
  const body = (await response.json()) as {
    jwt?: string;
    error?: { message: string; details?: { path: string; message: string }[] };
  };
  if (!response.ok || body.jwt === undefined) {
    const detail = body.error?.details?.map((d) => `${d.path}: ${d.message}`).join('; ');
    throw new Error(detail ?? body.error?.message ?? `sign-in answered ${response.status}`);
  }
  return sessionOf(body.jwt);
}

// Deployed: authorization code + PKCE with oidc-client-ts, loaded only then (it stays out of the
// initial bundle). Its own state lives in sessionStorage too.
async function userManager(auth: OidcAuthConfig) {
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts');
  const store = new WebStorageStateStore({ store: window.sessionStorage });
  return new UserManager({
    authority: auth.authority,
    client_id: auth.clientId,
    redirect_uri: `${location.origin}/callback`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: 'code',
    scope: auth.scope ?? 'openid email profile',
    userStore: store,
    stateStore: store,
    automaticSilentRenew: false,
  });
}

export async function oidcSignIn(auth: OidcAuthConfig): Promise<void> {
  await (await userManager(auth)).signinRedirect();
}

export async function oidcCallback(auth: OidcAuthConfig): Promise<Session> {
  const user = await (await userManager(auth)).signinRedirectCallback();
  if (user.id_token === undefined) throw new Error('the identity provider returned no ID token');
  return sessionOf(user.id_token);
}

export async function signOut(config: ConsoleConfig): Promise<void> {
  storeSession(undefined);
  if (config.auth.kind !== 'oidc') return;
  const manager = await userManager(config.auth);
  await manager.removeUser();
  if (config.auth.signOutUrl !== undefined) {
    // Cognito's managed login: /logout?client_id=…&logout_uri=… (it has no end_session_endpoint).
    const url = new URL(config.auth.signOutUrl);
    url.searchParams.set('client_id', config.auth.clientId);
    url.searchParams.set('logout_uri', `${location.origin}/`);
    location.assign(url.toString());
    return;
  }
  await manager.signoutRedirect();
}
