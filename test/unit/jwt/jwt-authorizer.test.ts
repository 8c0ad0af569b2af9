import { InternalServerError } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  captureStdout,
  evaluatePolicy,
  lambdaContext,
  methodArn,
  restRequestEvent,
  restTokenEvent,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';
import { AUDIENCE, idTokenClaims, newRsaKey, startTestIssuer, type TestIssuer } from './jwks-server.js';

// The management API's JWT authorizer against a JWKS served over plain http on 127.0.0.1, exactly as
// the local stack's dev identity provider serves it.

type Handler = (
  event: unknown,
  context: ReturnType<typeof lambdaContext>,
) => Promise<APIGatewayAuthorizerResult>;

const UNAUTHORIZED = { message: 'Unauthorized' };
const UNAVAILABLE = { message: 'Identity verification unavailable' };

let issuer: TestIssuer;
let handler: Handler;
// The user's access item (absent = enabled, never switched): one GetItem per uncached call.
const dynamo = mockClient(DynamoDBDocumentClient);
let logs: StdoutCapture;

async function loadContainer(env: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  stubHandlerEnv({
    extra: {
      JWT_COGNITO_USER_POOL_ID: '',
      JWT_CLAIM_ACCOUNT_ID: '',
      JWT_CLAIM_ROLE: '',
      JWT_CLAIM_EMAIL: '',
      JWT_AUDIENCE: AUDIENCE,
      ...env,
    },
  });
  return (await import('../../../lambdas/jwt-authorizer/handler.js')).handler as unknown as Handler;
}

const invoke = (authorization: string | undefined, path = '/tokens', method = 'GET') =>
  handler(restRequestEvent({ authorization, method, path }), lambdaContext('jwt-authorizer'));

const decisionLines = () => logs.records().filter((record) => record.message === 'jwt authorizer decision');

beforeAll(async () => {
  issuer = await startTestIssuer();
  handler = await loadContainer({ JWT_ISSUER: issuer.issuer, JWT_JWKS_URI: issuer.jwksUri });
});

beforeEach(() => {
  logs = captureStdout();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
});

afterEach(() => {
  logs.restore();
});

afterAll(async () => {
  await issuer.close();
  vi.unstubAllEnvs();
});

describe('valid ID tokens', () => {
  it('allow every route of the stage, with the caller context and the user as principal', async () => {
    const jwt = issuer.sign(idTokenClaims(issuer.issuer));
    const result = await invoke(`Bearer ${jwt}`);
    expect(result.principalId).toBe('user-1');
    expect(result.context).toEqual({
      userId: 'user-1',
      accountId: 'acct-1',
      role: 'member',
      email: 'ada@example.com',
    });
    expect(result.policyDocument.Statement).toEqual([
      {
        Action: 'execute-api:Invoke',
        Effect: 'Allow',
        Resource: 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*/*',
      },
    ]);
    for (const [method, path] of [
      ['GET', '/tokens'],
      ['POST', '/tokens'],
      ['DELETE', '/tokens/tok_1'],
      ['GET', '/policy'],
    ] as const) {
      expect(evaluatePolicy(result, methodArn(method, path))).toBe('allow');
    }
    expect(decisionLines()).toEqual([
      expect.objectContaining({ reason: 'VALID', userId: 'user-1', role: 'member' }),
    ]);
  });

  it('give email "" when the token has none, and accept every role', async () => {
    for (const role of ['admin', 'member', 'viewer']) {
      const claims = idTokenClaims(issuer.issuer, { 'custom:role': role });
      delete claims.email;
      const result = await invoke(`bearer ${issuer.sign(claims)}`);
      expect(result.context).toEqual({ userId: 'user-1', accountId: 'acct-1', role, email: '' });
    }
  });

  it('work from a TOKEN event too', async () => {
    const result = await handler(
      restTokenEvent(`Bearer ${issuer.sign(idTokenClaims(issuer.issuer))}`),
      lambdaContext('jwt-authorizer'),
    );
    expect(result.principalId).toBe('user-1');
  });

  it('fetch the JWKS once per container, not per request', async () => {
    const before = issuer.jwksRequests();
    for (let index = 0; index < 5; index++)
      await invoke(`Bearer ${issuer.sign(idTokenClaims(issuer.issuer))}`);
    expect(issuer.jwksRequests()).toBe(before);
  });
});

describe('invalid tokens → exactly `Unauthorized` (401)', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => string | undefined][] = [
    ['no header', () => undefined],
    ['another scheme', () => `Basic ${issuer.sign(idTokenClaims(issuer.issuer))}`],
    ['not a JWT', () => 'Bearer not.a.jwt'],
    ['wrong audience', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { aud: 'someone-else' }))}`],
    [
      'wrong issuer',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { iss: 'http://127.0.0.1:1/_local' }))}`,
    ],
    [
      'expired',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { iat: now() - 7200, exp: now() - 3600 }))}`,
    ],
    ['bad signature', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer), { key: newRsaKey() })}`],
    [
      'tampered payload',
      () => {
        const [header, , signature] = issuer.sign(idTokenClaims(issuer.issuer)).split('.');
        const forged = Buffer.from(
          JSON.stringify(idTokenClaims(issuer.issuer, { 'custom:role': 'admin' })),
        ).toString('base64url');
        return `Bearer ${header}.${forged}.${signature}`;
      },
    ],
    [
      'missing role',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { 'custom:role': undefined }))}`,
    ],
    ['unknown role', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { 'custom:role': 'owner' }))}`],
    [
      'missing account',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { 'custom:account_id': '' }))}`,
    ],
    ['no expiry', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { exp: undefined }))}`],
    ['missing subject', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { sub: undefined }))}`],
    ['non-string email', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { email: 42 }))}`],
    // Issue #11, item 2: identities outside the one identity pattern (lambdas/core/identity.ts). A
    // `sub` of `*` read as "the whole account" in GET and DELETE /tokens before the fix.
    ['subject "*"', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { sub: '*' }))}`],
    ['subject with "#"', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { sub: 'a#b' }))}`],
    [
      'subject with a line break',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { sub: 'a\nb' }))}`,
    ],
    ['subject with a space', () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { sub: 'a b' }))}`],
    [
      'account "*"',
      () => `Bearer ${issuer.sign(idTokenClaims(issuer.issuer, { 'custom:account_id': '*' }))}`,
    ],
  ];

  for (const [name, authorization] of cases) {
    it(name, async () => {
      const presented = authorization();
      await expect(invoke(presented)).rejects.toMatchObject(UNAUTHORIZED);
      const lines = decisionLines();
      expect(lines).toHaveLength(1);
      expect(['MALFORMED', 'INVALID']).toContain(lines[0]?.reason);
      if (presented !== undefined) {
        const jwt = presented.split(' ')[1] ?? presented;
        expect(logs.text()).not.toContain(jwt);
        for (const part of jwt.split('.')) if (part.length > 8) expect(logs.text()).not.toContain(part);
      }
    });
  }
});

describe('configuration and dependencies', () => {
  it('reads custom claim names from env', async () => {
    const custom = await loadContainer({
      JWT_ISSUER: issuer.issuer,
      JWT_JWKS_URI: issuer.jwksUri,
      JWT_CLAIM_ACCOUNT_ID: 'tenant',
      JWT_CLAIM_ROLE: 'app_role',
      JWT_CLAIM_EMAIL: 'mail',
    });
    const jwt = issuer.sign({
      ...idTokenClaims(issuer.issuer),
      tenant: 't-9',
      app_role: 'admin',
      mail: 'x@example.com',
    });
    const result = await custom(restRequestEvent({ authorization: `Bearer ${jwt}` }), lambdaContext());
    expect(result.context).toEqual({
      userId: 'user-1',
      accountId: 't-9',
      role: 'admin',
      email: 'x@example.com',
    });
  });

  it('defaults the JWKS URI to <issuer>/.well-known/jwks.json', async () => {
    const defaulted = await loadContainer({ JWT_ISSUER: issuer.issuer, JWT_JWKS_URI: '' });
    const jwt = issuer.sign(idTokenClaims(issuer.issuer));
    await expect(
      defaulted(restRequestEvent({ authorization: `Bearer ${jwt}` }), lambdaContext()),
    ).resolves.toMatchObject({
      principalId: 'user-1',
    });
  });

  it('a JWKS that cannot be fetched is a 500 (generic error, not cached), never a 401', async () => {
    const down = await startTestIssuer();
    await down.close();
    const unreachable = await loadContainer({ JWT_ISSUER: down.issuer, JWT_JWKS_URI: down.jwksUri });
    const jwt = down.sign(idTokenClaims(down.issuer));
    await expect(
      unreachable(restRequestEvent({ authorization: `Bearer ${jwt}` }), lambdaContext()),
    ).rejects.toMatchObject(UNAVAILABLE);
    expect(decisionLines()).toEqual([expect.objectContaining({ reason: 'DEPENDENCY_FAILURE' })]);
    expect(logs.text()).not.toContain(jwt);
  });

  it('refuses to load with a plain-http JWKS URI on a host other than loopback', async () => {
    await expect(
      loadContainer({
        JWT_ISSUER: 'http://idp.example.com',
        JWT_JWKS_URI: 'http://idp.example.com/jwks.json',
      }),
    ).rejects.toThrow(/must be https/);
  });
});

describe('management access follows the admin switch (issue #18 item 9)', () => {
  const accessItem = (enabled: boolean, updatedAt: string) => ({
    Item: {
      entity: 'userAccess',
      accountId: 'acct-1',
      userId: 'user-1',
      enabled,
      generation: 1,
      updatedAt,
      updatedBy: 'root',
    },
  });
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  it("refuses (401) a valid JWT of a user whose access is off, reading the user's own access item", async () => {
    dynamo.on(GetCommand).resolves(accessItem(false, new Date(Date.now() - 3_600_000).toISOString()));
    const jwt = issuer.sign(idTokenClaims(issuer.issuer, { 'custom:role': 'admin' }));
    await expect(invoke(`Bearer ${jwt}`)).rejects.toThrow(UNAUTHORIZED.message);
    expect(dynamo.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ Key: { pk: 'ACCESS#acct-1#user-1', sk: 'ACCESS' }, ConsistentRead: true }),
    ]);
    expect(decisionLines()).toEqual([
      expect.objectContaining({ reason: 'ACCESS_DISABLED', userId: 'user-1' }),
    ]);
  });

  it('refuses a JWT issued before the latest switch (a demoted admin), accepts one issued after it', async () => {
    const switchedAt = new Date((nowSeconds() - 60) * 1000).toISOString();
    dynamo.on(GetCommand).resolves(accessItem(true, switchedAt));
    const before = issuer.sign(
      idTokenClaims(issuer.issuer, { 'custom:role': 'admin', iat: nowSeconds() - 120 }),
    );
    await expect(invoke(`Bearer ${before}`)).rejects.toThrow(UNAUTHORIZED.message);
    const after = issuer.sign(idTokenClaims(issuer.issuer, { 'custom:role': 'member', iat: nowSeconds() }));
    expect((await invoke(`Bearer ${after}`)).context).toMatchObject({ role: 'member' });
    expect(decisionLines()).toEqual([
      expect.objectContaining({ reason: 'SESSION_ENDED' }),
      expect.objectContaining({ reason: 'VALID' }),
    ]);
  });

  it('answers 500 (not cached) when the access item cannot be read', async () => {
    dynamo.on(GetCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));
    const jwt = issuer.sign(idTokenClaims(issuer.issuer));
    await expect(invoke(`Bearer ${jwt}`)).rejects.toThrow(UNAVAILABLE.message);
  });
});
