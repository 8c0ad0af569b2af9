import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { encodeRouteScopes, type RouteScopeMap } from '../../../lambdas/core/route-scopes.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import type { TokenAuthorizerResult } from '../../../lambdas/token-authorizer/gateway.js';
import {
  captureStdout,
  credentialRecord,
  evaluatePolicy,
  httpEvent,
  lambdaContext,
  methodArn,
  restRequestEvent,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';

// The token authorizer's own defences against the gateway in front of it (issue #11): a route map
// is only used when the event shows a cache key that names the route (finding 3), and a path with
// dot segments or encoded separators is refused (403) rather than judged. Through the handler, on
// events built from AWS's samples, with DynamoDB and KMS mocked.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const DEPENDENCY_FAILURE = { message: 'Authorizer dependency failure' };

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const table = new Map<string, Record<string, unknown>>();
let handler: Handler;
let logs: StdoutCapture;
let serial = 0;

function issue(overrides: Partial<CredentialRecord> = {}): string {
  const { secret } = generateToken('atk');
  serial += 1;
  const credential = credentialRecord({
    secretHash: hashToken(HMAC_KEY, secret),
    tokenId: `tok_${String(serial).padStart(22, '0')}`,
    ...overrides,
  });
  table.set(KEYS.credential(credential.secretHash).pk, credentialToItem(credential));
  return secret;
}

function mockAws(): void {
  kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({ Item: table.get(String(input.Key?.pk)) }));
}

const invoke = (event: unknown) => handler(event, lambdaContext());
const asRest = (result: TokenAuthorizerResult) => result as APIGatewayAuthorizerResult;

function decisions(): Record<string, unknown>[] {
  const lines = logs.records().filter((record) => record.message === 'token authorizer decision');
  logs.clear();
  return lines;
}

beforeAll(async () => {
  mockAws();
  vi.resetModules();
  stubHandlerEnv({ keySource: 'kms' });
  handler = (await import('../../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
});

beforeEach(() => {
  mockAws();
  logs = captureStdout();
});

afterEach(() => {
  logs.restore();
  ddb.reset();
  kms.reset();
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe('route maps need a cache key that names the route (#11 finding 3)', () => {
  // `GET /reports/{id}` is mapped to triggers:read; the deeper `/reports/{id}/secret` is not
  // mapped, so the area rule asks reports:read, which the token does not hold.
  const MAP: RouteScopeMap = { 'GET /reports/{id}': 'triggers:read' };
  const stageVariables = { accessTokensRoutes: encodeRouteScopes(MAP) };
  const mapped = (secret: string, identitySource?: string | null) =>
    restRequestEvent({
      authorization: `Bearer ${secret}`,
      path: '/v1/reports/42',
      resource: '/v1/reports/{id}',
      basePath: '/v1',
      stageVariables,
      ...(identitySource === undefined ? {} : { identitySource }),
    });

  it('a map-less authorizer (token + address only) on a stage with a map: 500, not a route policy a cache would replay', async () => {
    const secret = issue({ scopes: ['triggers:read'] });
    // The identity sources of a TokenAuthorizer without routeScopes, attached to the same stage.
    const unkeyed = mapped(secret, `Bearer ${secret},test-invoke-source-ip`);
    // Fails before the fix: the answer was Allow `GET /v1/reports/*`, which API Gateway would cache
    // under token + address and then apply to GET /v1/reports/42/secret (reports:read, not held).
    await expect(invoke(unkeyed)).rejects.toMatchObject(DEPENDENCY_FAILURE);
    expect(decisions().map((line) => [line.reason, line.errorName])).toEqual([
      ['UNKEYED_ROUTE_MAP', 'UnkeyedRouteMapError'],
    ]);
  });

  it('an event that does not show its identity sources: 500 (it cannot tell)', async () => {
    const secret = issue({ scopes: ['triggers:read'] });
    await expect(invoke(mapped(secret, null))).rejects.toMatchObject(DEPENDENCY_FAILURE);
    await expect(invoke(mapped(secret, ''))).rejects.toMatchObject(DEPENDENCY_FAILURE);
    expect(decisions().map((line) => line.reason)).toEqual(['UNKEYED_ROUTE_MAP', 'UNKEYED_ROUTE_MAP']);
  });

  it('the method alone, or the route alone, is not enough', async () => {
    const secret = issue({ scopes: ['triggers:read'] });
    for (const sources of [
      `Bearer ${secret},test-invoke-source-ip,GET`,
      `Bearer ${secret},test-invoke-source-ip,/v1/reports/{id}`,
    ]) {
      await expect(invoke(mapped(secret, sources))).rejects.toMatchObject(DEPENDENCY_FAILURE);
    }
  });

  it("with the construct's sources (method and template, or the path itself): the route policy", async () => {
    const secret = issue({ scopes: ['triggers:read'] });
    for (const sources of [
      undefined, // the TokenAuthorizer construct's: Authorization, source IP, method, template
      `Bearer ${secret},test-invoke-source-ip,GET,/v1/reports/42`,
    ]) {
      const result = asRest(await invoke(mapped(secret, sources)));
      expect(evaluatePolicy(result, methodArn('GET', '/v1/reports/42'))).toBe('allow');
    }
    expect(decisions().map((line) => line.reason)).toEqual(['VALID', 'VALID']);
  });

  it('an unmapped route on that stage keeps the area listing, which is right under any cache key', async () => {
    const secret = issue({ scopes: ['reports:read'] });
    const result = asRest(
      await invoke(
        restRequestEvent({
          authorization: `Bearer ${secret}`,
          path: '/v1/reports/42/secret',
          resource: '/v1/reports/{id}/secret',
          basePath: '/v1',
          stageVariables,
          identitySource: `Bearer ${secret},test-invoke-source-ip`,
        }),
      ),
    );
    expect(evaluatePolicy(result, methodArn('GET', '/v1/reports/42/secret'))).toBe('allow');
    // The listing says nothing about the mapped route, which needs triggers:read.
    expect(evaluatePolicy(result, methodArn('GET', '/v1/reports/42'))).toBe('allow');
    expect(evaluatePolicy(result, methodArn('POST', '/v1/reports/42'))).toBe('implicit-deny');
  });
});

describe('paths with dot segments or encoded separators are refused (403), not judged', () => {
  const REFUSED: ReadonlyArray<[string, string]> = [
    ['/demo/content/../system/x', 'DOT_SEGMENT'],
    ['/demo/content/./x', 'DOT_SEGMENT'],
    ['/demo/content/..', 'DOT_SEGMENT'],
    ['/demo/content/%2e%2e/system/x', 'ENCODED_SEPARATOR'],
    ['/demo/content/%2E%2E/system/x', 'ENCODED_SEPARATOR'],
    ['/demo/content/a%2Fb', 'ENCODED_SEPARATOR'],
    ['/demo/content/a%2fb', 'ENCODED_SEPARATOR'],
    ['/demo/content/a%5Cb', 'ENCODED_SEPARATOR'],
    ['/demo/content/%252e%252e/x', 'ENCODED_SEPARATOR'],
    ['/demo/content/a\\b', 'BACKSLASH'],
  ];
  const ACCEPTED = [
    '/demo/content/x',
    '/demo/content/report.v1.pdf',
    '/demo/content/..hidden',
    '/demo/content/a%20b',
  ];

  it('REST REQUEST: an explicit Deny of exactly that method ARN, logged NON_CANONICAL_PATH; the cached output still serves other routes', async () => {
    // Fails before the fix: every one of these was allowed (the area is `content`).
    const secret = issue({ scopes: ['content:read', 'system:read'] });
    for (const [path, issue] of REFUSED) {
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, path, basePath: '/demo' });
      const result = asRest(await invoke(event));
      expect(evaluatePolicy(result, String(event.methodArn)), path).toBe('explicit-deny');
      expect(evaluatePolicy(result, methodArn('GET', '/demo/content/x')), path).toBe('allow');
      expect(evaluatePolicy(result, methodArn('GET', '/demo/system/x')), path).toBe('allow');
      const [line] = decisions();
      expect(line, path).toMatchObject({ reason: 'NON_CANONICAL_PATH', pathIssue: issue, level: 'WARN' });
    }
    for (const path of ACCEPTED) {
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, path, basePath: '/demo' });
      expect(evaluatePolicy(asRest(await invoke(event)), String(event.methodArn)), path).toBe('allow');
    }
  });

  it('REST REQUEST: the path field is checked too, not only the method ARN', async () => {
    const secret = issue({ scopes: ['content:read'] });
    const event = restRequestEvent({
      authorization: `Bearer ${secret}`,
      path: '/demo/content/x',
      basePath: '/demo',
    });
    const result = asRest(await invoke({ ...event, path: '/demo/content/%2e%2e/x' }));
    expect(evaluatePolicy(result, String(event.methodArn))).toBe('explicit-deny');
  });

  it('REST REQUEST: a bad token on such a path is still a 401', async () => {
    await expect(
      invoke(
        restRequestEvent({ authorization: 'Bearer nope', path: '/demo/content/../x', basePath: '/demo' }),
      ),
    ).rejects.toThrow('Unauthorized');
  });

  it('HTTP API 2.0: isAuthorized false (403), logged NON_CANONICAL_PATH', async () => {
    const secret = issue({ scopes: ['content:read', 'system:read'] });
    for (const [path, issue] of REFUSED) {
      const result = await invoke(
        httpEvent({ authorization: `Bearer ${secret}`, method: 'GET', path, basePath: '/demo' }),
      );
      expect(result, path).toEqual({ isAuthorized: false });
      expect(decisions()[0], path).toMatchObject({ reason: 'NON_CANONICAL_PATH', pathIssue: issue });
    }
    for (const path of ACCEPTED) {
      const result = await invoke(
        httpEvent({ authorization: `Bearer ${secret}`, method: 'GET', path, basePath: '/demo' }),
      );
      expect(result, path).toMatchObject({ isAuthorized: true });
    }
  });
});
