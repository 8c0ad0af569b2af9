import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadCredentials } from '../../../cli/credentials.js';
import { EXIT } from '../../../cli/errors.js';
import { run } from '../../../cli/program.js';
import { fakeIo, jwtWith } from './fake-io.js';

// `access-tokens login` (deployed): authorization code + PKCE with a loopback redirect, against a
// fake OpenID provider on 127.0.0.1 (discovery, authorize, token). The "browser" follows the
// authorize URL the CLI opens, as a person signing in would.

interface Provider {
  readonly issuer: string;
  readonly server: Server;
  /** What the token endpoint received. */
  readonly tokenRequests: URLSearchParams[];
  /** The authorize requests' query. */
  readonly authorizeRequests: URLSearchParams[];
}

const ID_TOKEN = jwtWith({
  sub: 'user-42',
  email: 'dev@example.com',
  exp: Math.floor(Date.now() / 1000) + 3600,
});
/** What the issuer's refresh token grant gives for REFRESH_TOKEN (cli/session.ts). */
const REFRESH_TOKEN = 'refresh-token-from-the-issuer-0123456789';
const RENEWED_ID_TOKEN = jwtWith({
  sub: 'user-42',
  email: 'dev@example.com',
  exp: Math.floor(Date.now() / 1000) + 7200,
});
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function fakeProvider(): Promise<Provider> {
  const tokenRequests: URLSearchParams[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  const challenges = new Map<string, { challenge: string; redirectUri: string }>();
  let issuer = '';
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
        }),
      );
      return;
    }
    if (url.pathname === '/authorize') {
      authorizeRequests.push(url.searchParams);
      const redirect = new URL(url.searchParams.get('redirect_uri') ?? '');
      const code = `code-${authorizeRequests.length}`;
      challenges.set(code, {
        challenge: url.searchParams.get('code_challenge') ?? '',
        redirectUri: url.searchParams.get('redirect_uri') ?? '',
      });
      redirect.searchParams.set('code', code);
      redirect.searchParams.set('state', url.searchParams.get('state') ?? '');
      response.writeHead(302, { location: redirect.toString() }).end();
      return;
    }
    if (url.pathname === '/token' && request.method === 'POST') {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        const form = new URLSearchParams(body);
        tokenRequests.push(form);
        if (form.get('grant_type') === 'refresh_token') {
          const known = form.get('refresh_token') === REFRESH_TOKEN && form.get('client_id') === 'cli-client';
          response
            .writeHead(known ? 200 : 400, { 'content-type': 'application/json' })
            .end(JSON.stringify(known ? { id_token: RENEWED_ID_TOKEN } : { error: 'invalid_grant' }));
          return;
        }
        const expected = challenges.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const ok =
          expected !== undefined &&
          createHash('sha256').update(verifier).digest('base64url') === expected.challenge &&
          form.get('redirect_uri') === expected.redirectUri;
        response.writeHead(ok ? 200 : 400, { 'content-type': 'application/json' }).end(
          JSON.stringify(
            ok
              ? {
                  id_token: ID_TOKEN,
                  access_token: 'x',
                  refresh_token: REFRESH_TOKEN,
                  token_type: 'Bearer',
                }
              : { error: 'invalid_grant' },
          ),
        );
      });
      return;
    }
    response.writeHead(404).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, server, tokenRequests, authorizeRequests };
}

/** A browser: follows the authorize URL, then the redirect to the CLI's loopback server. */
async function browse(url: string): Promise<boolean> {
  const authorize = await fetch(url, { redirect: 'manual' });
  const location = authorize.headers.get('location');
  if (location === null) return false;
  const callback = await fetch(location);
  await callback.text();
  return callback.ok;
}

/** `access-tokens login` against the provider, for the API at https://api.example.test/v1. */
const loginArgs = (issuer: string) => [
  'login',
  '--api',
  'https://api.example.test/v1',
  '--issuer',
  issuer,
  '--client-id',
  'cli-client',
];

describe('access-tokens login (OIDC authorization code + PKCE)', () => {
  it('signs in through the browser with a 127.0.0.1 loopback redirect and stores the ID token', async () => {
    const provider = await fakeProvider();
    const io = { ...fakeIo({ fetch: (input, init) => fetch(input, init) }), openUrl: browse };
    const code = await run(loginArgs(provider.issuer), io);
    expect(code, io.err()).toBe(EXIT.ok);

    const authorize = provider.authorizeRequests[0];
    expect(authorize?.get('response_type')).toBe('code');
    expect(authorize?.get('client_id')).toBe('cli-client');
    expect(authorize?.get('code_challenge_method')).toBe('S256');
    expect(authorize?.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:[0-9]+\/callback$/);
    // The verifier goes only to the token endpoint; its hash went to the browser.
    const token = provider.tokenRequests[0];
    expect(token?.get('grant_type')).toBe('authorization_code');
    expect(token?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(authorize?.toString()).not.toContain(token?.get('code_verifier') ?? '');

    expect(loadCredentials(io.env)).toMatchObject({
      api: 'https://api.example.test/v1',
      jwt: ID_TOKEN,
      kind: 'oidc',
      userId: 'user-42',
      email: 'dev@example.com',
    });
    expect(io.err()).not.toContain(ID_TOKEN);
    expect(io.out()).not.toContain(ID_TOKEN);
  });

  it('keeps the refresh token, and an hour later the next command renews the ID token with it', async () => {
    const provider = await fakeProvider();
    const apiAuthorizations: string[] = [];
    // The network: the provider for real, the API answering GET /policy.
    const network: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url !== 'https://api.example.test/v1/policy') return fetch(input, init);
      apiAuthorizations.push(new Headers(init?.headers).get('authorization') ?? '');
      return Promise.resolve(Response.json({ tokenPrefix: 'atk' }));
    };
    const io = { ...fakeIo({ fetch: network }), openUrl: browse };
    expect(await run(loginArgs(provider.issuer), io), io.err()).toBe(EXIT.ok);
    expect(loadCredentials(io.env)?.renewal).toEqual({
      tokenEndpoint: `${provider.issuer}/token`,
      clientId: 'cli-client',
      refreshToken: REFRESH_TOKEN,
    });
    expect(io.err()).toContain('the session renews itself');

    // An hour and a minute later, by the CLI's clock.
    const later = { ...io, now: () => Date.now() + 3_660_000 };
    expect(await run(['policy', '--json'], later), io.err()).toBe(EXIT.ok);
    expect(provider.tokenRequests.map((form) => form.get('grant_type'))).toEqual([
      'authorization_code',
      'refresh_token',
    ]);
    expect(apiAuthorizations).toEqual([`Bearer ${RENEWED_ID_TOKEN}`]);
    expect(loadCredentials(io.env)?.jwt).toBe(RENEWED_ID_TOKEN);
    expect(io.err() + io.out()).not.toContain(REFRESH_TOKEN);
  });

  it('--no-browser prints the URL to open; a callback with another state is refused and the login goes on', async () => {
    const provider = await fakeProvider();
    let printed = '';
    let forgedStatus = 0;
    let signedIn: Promise<boolean> = Promise.resolve(false);
    const base = fakeIo({ fetch: (input, init) => fetch(input, init) });
    const io = {
      ...base,
      stderr: (text: string) => {
        printed += text;
        base.stderr(text);
        const url = /https?:\/\/\S+\/authorize\S+/.exec(text)?.[0];
        if (url === undefined) return;
        signedIn = (async () => {
          const redirect = new URL(new URL(url).searchParams.get('redirect_uri') ?? '');
          redirect.searchParams.set('code', 'forged');
          redirect.searchParams.set('state', 'not-ours');
          const forged = await fetch(redirect);
          await forged.text();
          forgedStatus = forged.status;
          return browse(url);
        })();
      },
    };
    const code = await run(
      [
        'login',
        '--no-browser',
        '--api',
        'https://api.example.test',
        '--issuer',
        provider.issuer,
        '--client-id',
        'c',
      ],
      io,
    );
    expect(code, printed).toBe(EXIT.ok);
    expect(await signedIn).toBe(true);
    expect(forgedStatus).toBe(400);
    expect(printed).toContain('Open this URL');
    expect(provider.tokenRequests.map((form) => form.get('code'))).toEqual(['code-1']);
  });

  it('--console reads the API, issuer and client id from the console’s config.json; a Cognito issuer gets a localhost redirect on a registered port', async () => {
    const provider = await fakeProvider();
    const cognitoIssuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool';
    const consoleConfig = {
      apiUrl: 'https://api.example.test/v1',
      auth: {
        kind: 'oidc',
        authority: cognitoIssuer,
        clientId: 'pool-client',
        scope: 'openid email profile',
      },
    };
    // The network: the console's config.json, and the "Cognito" issuer served by the fake provider.
    const network: typeof fetch = (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url === 'https://console.example.test/config.json')
        return Promise.resolve(Response.json(consoleConfig));
      return fetch(url.replace(cognitoIssuer, provider.issuer), init);
    };
    const io = { ...fakeIo({ fetch: network }), openUrl: browse };
    const code = await run(['login', '--console', 'https://console.example.test'], io);
    expect(code, io.err()).toBe(EXIT.ok);
    expect(provider.authorizeRequests[0]?.get('client_id')).toBe('pool-client');
    expect(provider.authorizeRequests[0]?.get('redirect_uri')).toMatch(
      /^http:\/\/localhost:5368[234]\/callback$/,
    );
    expect(loadCredentials(io.env)?.api).toBe('https://api.example.test/v1');
  });

  it('a refused code: exit 1 with the reason, nothing stored', async () => {
    const provider = await fakeProvider();
    const io = {
      ...fakeIo({ fetch: (input, init) => fetch(input, init) }),
      // A browser that tampers with the code on its way back.
      openUrl: async (url: string) => {
        const authorize = await fetch(url, { redirect: 'manual' });
        const location = new URL(authorize.headers.get('location') ?? '');
        location.searchParams.set('code', 'tampered');
        await (await fetch(location)).text();
        return true;
      },
    };
    const code = await run(
      ['login', '--api', 'https://a.test', '--issuer', provider.issuer, '--client-id', 'c'],
      io,
    );
    expect(code).toBe(EXIT.error);
    expect(io.err()).toContain('invalid_grant');
    expect(loadCredentials(io.env)).toBeNull();
  });
});
