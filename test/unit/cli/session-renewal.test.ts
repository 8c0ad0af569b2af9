import { describe, expect, it } from 'vitest';
import { loadCredentials, type StoredCredentials, saveCredentials } from '../../../cli/credentials.js';
import { EXIT } from '../../../cli/errors.js';
import { run } from '../../../cli/program.js';
import { fakeIo, jwtWith } from './fake-io.js';

// A deployed sign-in renews itself (cli/session.ts): an ID token that has expired, or expires within
// a minute, is exchanged for a new one with the stored refresh token before the command calls the
// API. The network here: the issuer's token endpoint (the refresh token grant) and the API.

const API = 'https://api.example.test/v1';
const TOKEN_ENDPOINT = 'https://issuer.example.test/oauth2/token';
const REFRESH_TOKEN = 'refresh-token-of-the-sign-in-0123456789';
const nowSeconds = () => Math.floor(Date.now() / 1000);
const idToken = (secondsLeft: number, sub = 'user-42') => jwtWith({ sub, exp: nowSeconds() + secondsLeft });

interface Network {
  readonly fetch: typeof fetch;
  /** The refresh token grant requests the token endpoint received. */
  readonly grants: URLSearchParams[];
  /** The Authorization header of each API request. */
  readonly apiAuthorizations: string[];
}

/**
 * The token endpoint answers `answer` to a refresh token grant for REFRESH_TOKEN (and `invalid_grant`
 * to any other); the API answers GET /policy --json with a body the command prints as it is.
 */
function network(answer: { status: number; body: unknown } | 'unreachable'): Network {
  const grants: URLSearchParams[] = [];
  const apiAuthorizations: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url === TOKEN_ENDPOINT) {
      if (answer === 'unreachable') throw new TypeError('fetch failed');
      const form = new URLSearchParams(String(init?.body));
      grants.push(form);
      if (form.get('refresh_token') !== REFRESH_TOKEN)
        return Response.json({ error: 'invalid_grant' }, { status: 400 });
      return Response.json(answer.body, { status: answer.status });
    }
    if (url === `${API}/policy`) {
      apiAuthorizations.push(new Headers(init?.headers).get('authorization') ?? '');
      return Response.json({ tokenPrefix: 'atk' });
    }
    return Response.json({ error: { code: 'NOT_FOUND', message: 'no such route' } }, { status: 404 });
  };
  return { fetch: fetchImpl, grants, apiAuthorizations };
}

function signedIn(jwt: string, renewal = true): StoredCredentials {
  return {
    api: API,
    jwt,
    kind: 'oidc',
    userId: 'user-42',
    email: 'dev@example.com',
    expiresAt: null,
    ...(renewal
      ? { renewal: { tokenEndpoint: TOKEN_ENDPOINT, clientId: 'cli-client', refreshToken: REFRESH_TOKEN } }
      : {}),
  };
}

describe('access-tokens session renewal (refresh token grant)', () => {
  it.each([
    ['has expired', -5],
    ['expires within a minute', 30],
  ])('an ID token that %s is renewed before the command: the new one is sent and saved', async (_, left) => {
    const renewed = idToken(3600);
    const net = network({
      status: 200,
      body: { id_token: renewed, access_token: 'x', token_type: 'Bearer' },
    });
    const io = fakeIo({ fetch: net.fetch });
    saveCredentials(io.env, signedIn(idToken(left)));

    const code = await run(['policy', '--json'], io);

    expect(code, io.err()).toBe(EXIT.ok);
    expect(net.grants).toHaveLength(1);
    expect(Object.fromEntries(net.grants[0] ?? [])).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cli-client',
      refresh_token: REFRESH_TOKEN,
    });
    expect(net.apiAuthorizations).toEqual([`Bearer ${renewed}`]);
    const saved = loadCredentials(io.env);
    expect(saved?.jwt).toBe(renewed);
    expect(Date.parse(saved?.expiresAt ?? '')).toBeGreaterThan(Date.now() + 3_000_000);
    // The issuer did not rotate it: the same refresh token is kept for next time.
    expect(saved?.renewal?.refreshToken).toBe(REFRESH_TOKEN);
    expect(io.err() + io.out()).not.toContain(REFRESH_TOKEN);
    expect(io.err() + io.out()).not.toContain(renewed);
  });

  it('keeps the new refresh token when the issuer rotates it', async () => {
    const rotated = 'rotated-refresh-token-9876543210';
    const net = network({ status: 200, body: { id_token: idToken(3600), refresh_token: rotated } });
    const io = fakeIo({ fetch: net.fetch });
    saveCredentials(io.env, signedIn(idToken(-5)));

    expect(await run(['policy', '--json'], io), io.err()).toBe(EXIT.ok);
    expect(loadCredentials(io.env)?.renewal?.refreshToken).toBe(rotated);
  });

  it('uses an ID token with more than a minute left as it is: no call to the token endpoint', async () => {
    const net = network({ status: 200, body: { id_token: idToken(3600, 'someone-else') } });
    const io = fakeIo({ fetch: net.fetch });
    const current = idToken(120);
    saveCredentials(io.env, signedIn(current));

    expect(await run(['policy', '--json'], io), io.err()).toBe(EXIT.ok);
    expect(net.grants).toEqual([]);
    expect(net.apiAuthorizations).toEqual([`Bearer ${current}`]);
  });

  it('a refused refresh token (expired or revoked): exit 4, "run access-tokens login", the API not called, the file as it was', async () => {
    const net = network({ status: 400, body: { error: 'invalid_grant', error_description: REFRESH_TOKEN } });
    const io = fakeIo({ fetch: net.fetch });
    const before = signedIn(idToken(-5));
    saveCredentials(io.env, before);

    expect(await run(['policy', '--json'], io)).toBe(EXIT.signedOut);
    expect(io.err()).toContain('could not be renewed (invalid_grant)');
    expect(io.err()).toContain('run `access-tokens login`');
    // The issuer's description is not echoed: some put the token they refused in it.
    expect(io.err()).not.toContain(REFRESH_TOKEN);
    expect(net.apiAuthorizations).toEqual([]);
    expect(loadCredentials(io.env)).toEqual(before);
  });

  it('two commands renewing at once, with an issuer that rotates refresh tokens: both run, the second on the session the first saved', async () => {
    const rotated = 'rotated-refresh-token-9876543210';
    const renewed = idToken(3600);
    const grants: string[] = [];
    const apiAuthorizations: string[] = [];
    // One config directory for both, as two commands of one user share ~/.config.
    const configEnv = { XDG_CONFIG_HOME: fakeIo().env.XDG_CONFIG_HOME };
    const fetchImpl: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === TOKEN_ENDPOINT) {
        grants.push(new URLSearchParams(String(init?.body)).get('refresh_token') ?? '');
        if (grants.length === 1) return Response.json({ id_token: renewed, refresh_token: rotated });
        // REFRESH_TOKEN was rotated away by the first grant: the issuer refuses it, by which time
        // the first command has saved its new session (bounded, so a broken CLI fails, not hangs).
        for (let turn = 0; turn < 10_000 && loadCredentials(configEnv)?.jwt !== renewed; turn++) {
          await new Promise((resolve) => setImmediate(resolve));
        }
        return Response.json({ error: 'invalid_grant' }, { status: 400 });
      }
      apiAuthorizations.push(new Headers(init?.headers).get('authorization') ?? '');
      return Response.json({ tokenPrefix: 'atk' });
    };
    const [one, two] = [
      fakeIo({ fetch: fetchImpl, env: configEnv }),
      fakeIo({ fetch: fetchImpl, env: configEnv }),
    ];
    saveCredentials(configEnv, signedIn(idToken(-5)));

    const codes = await Promise.all([run(['policy', '--json'], one), run(['policy', '--json'], two)]);

    expect(codes, one.err() + two.err()).toEqual([EXIT.ok, EXIT.ok]);
    expect(grants).toEqual([REFRESH_TOKEN, REFRESH_TOKEN]);
    expect(apiAuthorizations).toEqual([`Bearer ${renewed}`, `Bearer ${renewed}`]);
    expect(loadCredentials(configEnv)?.renewal?.refreshToken).toBe(rotated);
  });

  it('an unreachable token endpoint: exit 1 naming it (not "signed out": the network may come back)', async () => {
    const net = network('unreachable');
    const io = fakeIo({ fetch: net.fetch });
    saveCredentials(io.env, signedIn(idToken(-5)));

    expect(await run(['policy', '--json'], io)).toBe(EXIT.error);
    expect(io.err()).toContain(`cannot reach the token endpoint ${TOKEN_ENDPOINT}`);
    expect(net.apiAuthorizations).toEqual([]);
  });

  it('without a stored refresh token (a local sign-in, an older file) an expired session stays expired', async () => {
    const net = network({ status: 200, body: { id_token: idToken(3600) } });
    const io = fakeIo({ fetch: net.fetch });
    saveCredentials(io.env, signedIn(idToken(-5), false));

    expect(await run(['policy', '--json'], io)).toBe(EXIT.signedOut);
    expect(io.err()).toContain('Your session has expired');
    expect(net.grants).toEqual([]);
  });

  it('never renews a JWT given in ACCESS_TOKENS_JWT, even with stored credentials that could be', async () => {
    const net = network({ status: 200, body: { id_token: idToken(3600) } });
    const io = fakeIo({ fetch: net.fetch, env: { ACCESS_TOKENS_JWT: idToken(-5) } });
    saveCredentials(io.env, signedIn(idToken(-5)));

    expect(await run(['policy', '--json'], io)).toBe(EXIT.signedOut);
    expect(net.grants).toEqual([]);
  });
});
