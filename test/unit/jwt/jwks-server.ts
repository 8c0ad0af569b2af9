import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// A stand-in for the local stack's dev identity provider: an RS256 key pair, a JWKS served over plain
// http on 127.0.0.1 at `/_local/.well-known/jwks.json`, and a signer for test JWTs.

export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly kid: string;
  /** How many times the JWKS was fetched. */
  readonly jwksRequests: () => number;
  sign(payload: Record<string, unknown>, options?: { key?: KeyObject; kid?: string }): string;
  close(): Promise<void>;
}

export const AUDIENCE = 'access-tokens-local';

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

export function newRsaKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const privateKey = newRsaKey();
  const kid = randomUUID();
  const jwk = { ...privateKey.export({ format: 'jwk' }) };
  const publicJwk = { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' };
  let requests = 0;
  const server: Server = createServer((request, response) => {
    if (request.url === '/_local/.well-known/jwks.json') {
      requests++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}/_local`;
  return {
    issuer,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    kid,
    jwksRequests: () => requests,
    sign(payload, options = {}) {
      const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: options.kid ?? kid }));
      const body = base64url(JSON.stringify(payload));
      const signature = createSign('RSA-SHA256')
        .update(`${header}.${body}`)
        .sign(options.key ?? privateKey)
        .toString('base64url');
      return `${header}.${body}.${signature}`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Claims of a valid local ID token for `issuer`, valid for an hour from now. */
export function idTokenClaims(
  issuer: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    aud: AUDIENCE,
    sub: 'user-1',
    email: 'ada@example.com',
    'custom:account_id': 'acct-1',
    'custom:role': 'member',
    token_use: 'id',
    iat: now,
    exp: now + 3600,
    ...overrides,
  };
}
