import { describe, expect, it } from 'vitest';
import { jwksUriOf } from '../../../lib/config.js';
import {
  defaultJwksUrlOf,
  JWT_AUTHORIZER_IDENTITY_SOURCES,
  TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES,
} from '../../../lib/gateway-settings.js';
import { REST_IDENTITY_SOURCES } from '../../../lib/token-authorizer.js';
import type { IncomingRequest } from '../../../local/events.js';
import { identitySourcesReader } from '../../../local/gateway-routes.js';
import { devIssuerOf } from '../../../local/handler-environment.js';

// The local gateway reads what the CDK code deploys (lib/gateway-settings.ts): the authorizers'
// identity sources in API Gateway's own syntax, and the default JWKS URL.

function request(rawHeaders: readonly string[], sourceIp = '203.0.113.9'): IncomingRequest {
  return {
    method: 'GET',
    path: '/demo/content',
    rawHeaders,
    query: [],
    body: null,
    sourceIp,
    requestId: 'r-1',
    receivedAt: 0,
    domainName: '127.0.0.1:4010',
    port: 4010,
  };
}

describe('identity sources, as deployed', () => {
  it('the token authorizer: the Authorization header (any case), the source address, the method and the path with the stage, in that order', () => {
    const read = identitySourcesReader(TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES, 'local');
    expect(read(request(['authorization', 'Bearer atk_x']))).toEqual([
      'Bearer atk_x',
      '203.0.113.9',
      'GET',
      '/local/demo/content',
    ]);
    expect(TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES).toBe(REST_IDENTITY_SOURCES);
  });

  it('the JWT authorizer: the Authorization header alone', () => {
    expect(
      identitySourcesReader(JWT_AUTHORIZER_IDENTITY_SOURCES)(request(['Authorization', 'Bearer j'])),
    ).toEqual(['Bearer j']);
  });

  it('a missing or blank source: no identity (API Gateway answers 401 without calling the authorizer)', () => {
    const read = identitySourcesReader(TOKEN_AUTHORIZER_REST_IDENTITY_SOURCES);
    expect(read(request(['User-Agent', 'test']))).toBeUndefined();
    expect(read(request(['Authorization', '  ']))).toBeUndefined();
  });

  it('refuses a source the local gateway cannot read, when the routes are built', () => {
    expect(() => identitySourcesReader(['method.request.querystring.token'])).toThrow(/does not support/);
  });
});

describe('default JWKS URL', () => {
  it('is the same for a deployed OIDC issuer and the local dev issuer', () => {
    const issuer = 'https://login.example.com/tenant/';
    expect(jwksUriOf({ kind: 'oidc', issuer, audience: 'a' })).toBe(defaultJwksUrlOf(issuer));
    expect(defaultJwksUrlOf(issuer)).toBe('https://login.example.com/tenant/.well-known/jwks.json');
    // The local dev issuer's (test/unit/local/settings.test.ts reads it from the handler environment).
    expect(defaultJwksUrlOf(devIssuerOf('http://127.0.0.1:4010'))).toBe(
      'http://127.0.0.1:4010/_local/.well-known/jwks.json',
    );
  });
});
