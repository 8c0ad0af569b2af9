import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { trimSlash } from './credentials.js';
import { CliError, NotSignedInError } from './errors.js';
import type { CliIo } from './io.js';
import { CLI_CALLBACK_PATH, COGNITO_LOOPBACK_PORTS } from './loopback.js';

// The deployed sign-in: OIDC authorization code + PKCE (RFC 7636) with a loopback redirect
// (RFC 8252). Hand-written on node:crypto, node:http and fetch rather than with an OIDC client
// library: the flow is discovery, one browser round trip and one form POST, and the ID token the
// CLI keeps is verified by the API on every call (the JWT authorizer); the CLI receives it straight
// from the token endpoint over TLS, where OIDC Core §3.1.3.7 lets a client skip its own check.

interface LoginOptions {
  /** The web console's URL: its `/config.json` names the API, the issuer and the client id. */
  readonly consoleUrl?: string;
  readonly api?: string;
  readonly issuer?: string;
  readonly clientId?: string;
  readonly openBrowser: boolean;
  /** How long to wait for the browser; default 5 minutes. */
  readonly timeoutMs?: number;
}

interface LoginResult {
  readonly api: string;
  readonly idToken: string;
  readonly userId: string | null;
  readonly email: string | null;
  /** What renews the ID token (cli/session.ts); undefined when the issuer gave no refresh token. */
  readonly renewal: Renewal | undefined;
}

/** The refresh token grant's inputs (RFC 6749 §6), kept in the 0600 credentials file. */
interface Renewal {
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly refreshToken: string;
}

interface Settings {
  readonly api: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly scope: string;
}

const DEFAULT_SCOPE = 'openid email profile';
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

async function getJson(io: CliIo, url: string, what: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await io.fetch(url, { headers: { accept: 'application/json' } });
  } catch {
    throw new CliError(`cannot reach ${url} (${what})`);
  }
  const body = (await response.json().catch(() => null)) as unknown;
  if (!response.ok || typeof body !== 'object' || body === null) {
    throw new CliError(`${url} answered ${response.status}: not ${what}`);
  }
  return body as Record<string, unknown>;
}

const stringField = (body: Record<string, unknown>, key: string): string | undefined => {
  const value = body[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

async function settingsOf(io: CliIo, options: LoginOptions): Promise<Settings> {
  if (options.consoleUrl !== undefined) {
    const config = await getJson(io, `${options.consoleUrl}/config.json`, 'the console’s config.json');
    const auth = config.auth as Record<string, unknown> | undefined;
    const apiUrl = stringField(config, 'apiUrl');
    if (auth === undefined || auth.kind !== 'oidc' || apiUrl === undefined) {
      throw new CliError(`${options.consoleUrl} is not a deployed console with an OIDC sign-in`);
    }
    const issuer = stringField(auth, 'authority');
    const clientId = stringField(auth, 'clientId');
    if (issuer === undefined || clientId === undefined)
      throw new CliError('the console’s config.json names no issuer');
    return {
      api: trimSlash(options.api ?? apiUrl),
      issuer: trimSlash(options.issuer ?? issuer),
      clientId: options.clientId ?? clientId,
      scope: stringField(auth, 'scope') ?? DEFAULT_SCOPE,
    };
  }
  if (options.api === undefined || options.issuer === undefined || options.clientId === undefined) {
    throw new CliError('give --console, or --api, --issuer and --client-id');
  }
  return {
    api: options.api,
    issuer: trimSlash(options.issuer),
    clientId: options.clientId,
    scope: DEFAULT_SCOPE,
  };
}

/** Cognito's issuers: `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
function isCognitoIssuer(issuer: string): boolean {
  return /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(new URL(issuer).hostname);
}

function listen(server: Server, port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** The loopback server on 127.0.0.1 and the redirect_uri to send (see cli/loopback.ts). */
async function startLoopback(server: Server, cognito: boolean): Promise<string> {
  if (!cognito) {
    const port = await listen(server, 0);
    return `http://127.0.0.1:${port}${CLI_CALLBACK_PATH}`;
  }
  for (const candidate of COGNITO_LOOPBACK_PORTS) {
    const port = await listen(server, candidate);
    if (port !== null) return `http://localhost:${port}${CLI_CALLBACK_PATH}`;
  }
  throw new CliError(
    `ports ${COGNITO_LOOPBACK_PORTS.join(', ')} are all in use: the sign-in needs one of them`,
  );
}

const PAGE = (message: string) =>
  `<!doctype html><meta charset="utf-8"><title>Access Tokens</title><p>${message}</p>`;

function claimsOf(jwt: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}

/** What a token endpoint answered: the tokens, or why not (its OAuth error code, never its body). */
type TokenAnswer =
  | { readonly idToken: string; readonly refreshToken: string | undefined }
  | { readonly refused: string }
  | { readonly unreachable: true };

/** One grant at the token endpoint (RFC 6749 §4.1.3 for the code, §6 for a refresh token). */
async function tokenRequest(
  io: CliIo,
  tokenEndpoint: string,
  form: Readonly<Record<string, string>>,
): Promise<TokenAnswer> {
  let response: Response;
  try {
    response = await io.fetch(tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
    });
  } catch {
    return { unreachable: true };
  }
  const tokens = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  const idToken = tokens === null ? undefined : stringField(tokens, 'id_token');
  if (response.ok && tokens !== null && idToken !== undefined) {
    return { idToken, refreshToken: stringField(tokens, 'refresh_token') };
  }
  // The error code only: some issuers quote the refused token in their description.
  const code = tokens === null ? undefined : stringField(tokens, 'error');
  return {
    refused: code !== undefined && /^[\x20-\x7e]{1,64}$/.test(code) ? code : `HTTP ${response.status}`,
  };
}

/**
 * A new ID token for `renewal` (the refresh token grant, as `oidcLogin` left it): the ID token and
 * the refresh token to keep (the issuer's new one when it rotates them, else the same). A refusal
 * (an expired or revoked refresh token) means signing in again: NotSignedInError (exit 4).
 */
export async function renewIdToken(
  io: CliIo,
  renewal: Renewal,
): Promise<{ readonly idToken: string; readonly renewal: Renewal }> {
  const granted = await tokenRequest(io, renewal.tokenEndpoint, {
    grant_type: 'refresh_token',
    client_id: renewal.clientId,
    refresh_token: renewal.refreshToken,
  });
  if ('unreachable' in granted) {
    throw new CliError(`cannot reach the token endpoint ${renewal.tokenEndpoint} to renew the session`);
  }
  if ('refused' in granted) {
    throw new NotSignedInError(`Your session has expired and could not be renewed (${granted.refused})`);
  }
  return {
    idToken: granted.idToken,
    renewal: { ...renewal, refreshToken: granted.refreshToken ?? renewal.refreshToken },
  };
}

export async function oidcLogin(io: CliIo, options: LoginOptions): Promise<LoginResult> {
  const settings = await settingsOf(io, options);
  const discovery = await getJson(
    io,
    `${settings.issuer}/.well-known/openid-configuration`,
    'an OpenID Connect discovery document',
  );
  const authorizationEndpoint = stringField(discovery, 'authorization_endpoint');
  const tokenEndpoint = stringField(discovery, 'token_endpoint');
  if (authorizationEndpoint === undefined || tokenEndpoint === undefined) {
    throw new CliError(
      `${settings.issuer} has no authorization or token endpoint (a Cognito user pool needs its managed-login domain: deploy with the console)`,
    );
  }

  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');

  let settle: (result: { code: string } | { error: string }) => void = () => undefined;
  const callback = new Promise<{ code: string } | { error: string }>((resolve) => {
    settle = resolve;
  });
  const server = createServer((request, response) => {
    const requestUrl = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (requestUrl.pathname !== CLI_CALLBACK_PATH) {
      response.writeHead(404).end();
      return;
    }
    const params = requestUrl.searchParams;
    // A callback without our state is not ours (another tab, a forged link): ignore it.
    if (params.get('state') !== state) {
      response
        .writeHead(400, { 'content-type': 'text/html' })
        .end(PAGE('This sign-in link is not the one the CLI started.'));
      return;
    }
    const code = params.get('code');
    const ok = code !== null;
    response
      .writeHead(ok ? 200 : 400, { 'content-type': 'text/html', connection: 'close' })
      .end(
        PAGE(
          ok
            ? 'Signed in. You may close this tab and go back to the terminal.'
            : 'The sign-in failed; see the terminal.',
        ),
      );
    settle(
      ok
        ? { code }
        : { error: `${params.get('error') ?? 'no code'}: ${params.get('error_description') ?? ''}` },
    );
  });

  try {
    const redirectUri = await startLoopback(server, isCognitoIssuer(settings.issuer));
    const authorize = new URL(authorizationEndpoint);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: settings.clientId,
      redirect_uri: redirectUri,
      scope: settings.scope,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    const opened = options.openBrowser && (await io.openUrl(authorize.toString()));
    io.stderr(
      opened
        ? `Opened your browser to sign in. If it did not open, visit:\n  ${authorize}\n`
        : `Open this URL in a browser on this machine to sign in:\n  ${authorize}\n`,
    );

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ error: string }>((resolve) => {
      timer = setTimeout(
        () => resolve({ error: `no sign-in within ${Math.round(timeoutMs / 1000)} s` }),
        timeoutMs,
      );
    });
    const outcome = await Promise.race([callback, timeout]);
    clearTimeout(timer);
    if ('error' in outcome) throw new CliError(`sign-in failed: ${outcome.error}`);

    const granted = await tokenRequest(io, tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: settings.clientId,
      code: outcome.code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    if ('refused' in granted) throw new CliError(`the token endpoint refused the code: ${granted.refused}`);
    if ('unreachable' in granted) throw new CliError(`cannot reach the token endpoint ${tokenEndpoint}`);
    const { idToken, refreshToken } = granted;
    const claims = claimsOf(idToken);
    return {
      api: settings.api,
      idToken,
      userId: typeof claims.sub === 'string' ? claims.sub : null,
      email: typeof claims.email === 'string' ? claims.email : null,
      renewal:
        refreshToken === undefined ? undefined : { tokenEndpoint, clientId: settings.clientId, refreshToken },
    };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
