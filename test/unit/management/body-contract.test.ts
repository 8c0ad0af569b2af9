import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { ERROR_CODES, ROUTE_CONTRACTS, STATUS_BY_CODE } from '../../../lambdas/contract/api-schemas.js';
import { buildOpenApiDocument } from '../../../lambdas/contract/openapi.js';
import { MANAGEMENT_ROUTES, type ManagementRouteName } from '../../../lambdas/contract/routes.js';
import { managementDeps, managementRoutes } from '../../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  errorOf,
  expectContractError,
  invoke,
  proxyEvent,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

// Issue #11: a request body is JSON in UTF-8, or it is refused.
// - A body that does not say `Content-Type: application/json` is a 415 UNSUPPORTED_MEDIA_TYPE
//   (before: any Content-Type, or none, was parsed as JSON).
// - Invalid UTF-8 is a 400 (before: API Gateway's lenient decoding turned it into U+FFFD, and the
//   token name was stored with it). Base64 bodies are decoded from their bytes with a fatal decoder.

const BODY_ROUTES = MANAGEMENT_ROUTES.filter(
  (route) => (ROUTE_CONTRACTS[route.name] as { body?: unknown }).body !== undefined,
);

/** A plausible body per route: valid JSON the route would accept. */
const BODIES: Partial<Record<ManagementRouteName, object>> = {
  createToken: { name: 'CI deploys', scopes: ['content:read'] },
  updateToken: { name: 'renamed' },
  rotateToken: { gracePeriodSeconds: 0 },
  setUserTokenAccess: { enabled: false },
  reportLeak: { token: 'atk_not-a-token', url: 'https://example.com/paste/1' },
  verifyToken: { token: 'atk_not-a-token' },
};

/** The status of an accepted body where it is not a 2xx: a string that is no token of the account is a 404. */
const ACCEPTED_STATUS: Partial<Record<ManagementRouteName, number>> = { reportLeak: 404 };

function eventFor(name: ManagementRouteName, body: string, headers: Record<string, string[]> | null) {
  const route = MANAGEMENT_ROUTES.find((candidate) => candidate.name === name);
  if (route === undefined) throw new Error(name);
  const pathParameters: Record<string, string> | undefined = route.path.includes('{id}')
    ? { id: tokenRecord().id }
    : route.path.includes('{userId}')
      ? { userId: 'user-2' }
      : undefined;
  const event: APIGatewayProxyEvent = proxyEvent({
    method: route.method,
    resource: route.path,
    pathParameters,
    body,
    caller: adminContext({ userId: 'user-1' }),
    // An IAM route's caller is the AWS principal API Gateway names (POST /verify).
    ...(route.auth === 'iam' ? { iamPrincipal: 'arn:aws:iam::123456789012:role/service' } : {}),
  });
  // Replace the fixture's Content-Type with exactly the given values (none when null).
  const withoutType = (map: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(map).filter(([key]) => key.toLowerCase() !== 'content-type'));
  const single = withoutType(event.headers);
  const multi = withoutType(event.multiValueHeaders);
  if (headers !== null) {
    for (const [key, values] of Object.entries(headers)) {
      single[key] = values.at(-1);
      multi[key] = values;
    }
  }
  return {
    ...event,
    headers: single as APIGatewayProxyEvent['headers'],
    multiValueHeaders: multi as APIGatewayProxyEvent['multiValueHeaders'],
  };
}

describe('request bodies (DynamoDB mocked)', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handlers = managementRoutes(managementDeps({ tableName: 'tokens-table' }));
  let logs: ReturnType<typeof captureLogs> | undefined;

  afterEach(() => {
    dynamo.reset();
    logs?.restore();
    logs = undefined;
  });

  const send = async (name: ManagementRouteName, body: string, headers: Record<string, string[]> | null) => {
    logs = captureLogs();
    dynamo.on(GetCommand).resolves({ Item: tokenToItem(tokenRecord({ userId: 'user-1' })) });
    dynamo.on(GetCommand, { Key: KEYS.userAccess('acct-1', 'user-2') }).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(TransactWriteCommand).resolves({});
    return invoke(handlers[name], eventFor(name, body, headers));
  };

  it('every route that takes a body is covered', () => {
    expect(BODY_ROUTES.map((route) => route.name).sort()).toEqual(Object.keys(BODIES).sort());
  });

  describe.each(BODY_ROUTES.map((route) => route.name))('%s', (name) => {
    const json = JSON.stringify(BODIES[name]);

    it.each([
      ['no Content-Type', null],
      ['text/plain', { 'Content-Type': ['text/plain'] }],
      ['a form', { 'content-type': ['application/x-www-form-urlencoded'] }],
      ['another charset', { 'Content-Type': ['application/json; charset=iso-8859-1'] }],
      ['a JSON look-alike', { 'Content-Type': ['application/jsonp'] }],
      ['two different types', { 'Content-Type': ['application/json', 'text/plain'] }],
    ])('%s → 415 UNSUPPORTED_MEDIA_TYPE, nothing read or written', async (_, headers) => {
      const result = await send(name, json, headers);
      expectContractError(result, 415, 'UNSUPPORTED_MEDIA_TYPE');
      expect(errorOf(result)?.message).toMatch(/application\/json/);
      expect(dynamo.calls()).toHaveLength(0);
    });

    it.each([
      ['application/json', { 'Content-Type': ['application/json'] }],
      ['any case, charset utf-8', { 'content-type': ['Application/JSON; Charset="UTF-8"'] }],
    ])('%s is accepted', async (_, headers) => {
      const result = await send(name, json, headers);
      const expected = ACCEPTED_STATUS[name];
      if (expected === undefined) expect(result.status, result.rawBody).toBeLessThan(300);
      else expect(result.status, result.rawBody).toBe(expected);
    });

    it('a body API Gateway decoded leniently (invalid UTF-8 → U+FFFD) is a 400, nothing written', async () => {
      // What a lenient decoder (API Gateway's, the local gateway's Buffer#toString) makes of 0xFF.
      const decoded = Buffer.concat([
        Buffer.from('{"name":"caf'),
        Buffer.from([0xff]),
        Buffer.from('"}'),
      ]).toString('utf8');
      expect(decoded).toContain('\ufffd');
      const result = await send(name, decoded, { 'Content-Type': ['application/json'] });
      expectContractError(result, 400, 'VALIDATION_FAILED');
      expect(errorOf(result)?.message).toBe('The request body is not UTF-8 text');
      expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(0);
    });

    it('a base64 body with invalid UTF-8 bytes is a 400 (fatal decoding)', async () => {
      const bytes = Buffer.concat([
        Buffer.from('{"name":"caf'),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('"}'),
      ]);
      const event = {
        ...eventFor(name, bytes.toString('base64'), { 'Content-Type': ['application/json'] }),
        isBase64Encoded: true,
      };
      logs = captureLogs();
      const result = await invoke(handlers[name], event);
      expectContractError(result, 400, 'VALIDATION_FAILED');
      expect(errorOf(result)?.message).toBe('The request body is not UTF-8 text');
    });
  });

  it('U+FFFD escaped in JSON is refused in a string field too: never stored as text', async () => {
    const result = await send('createToken', '{"name":"caf\\ufffd","scopes":["content:read"]}', {
      'Content-Type': ['application/json'],
    });
    expectContractError(result, 400, 'VALIDATION_FAILED');
    expect(result.rawBody).toContain('"path":"name"');
    const description = await send('updateToken', '{"description":"bad \\ufffd"}', {
      'Content-Type': ['application/json'],
    });
    expectContractError(description, 400, 'VALIDATION_FAILED');
  });

  it('a rotation with no body needs no Content-Type', async () => {
    const result = await send('rotateToken', '', null);
    expect(result.status, result.rawBody).toBe(201);
  });
});

describe('the contract and the OpenAPI document know 415', () => {
  it('UNSUPPORTED_MEDIA_TYPE is a contract code with status 415', () => {
    expect(ERROR_CODES).toContain('UNSUPPORTED_MEDIA_TYPE');
    expect(STATUS_BY_CODE.UNSUPPORTED_MEDIA_TYPE).toBe(415);
  });

  it('every route with a body documents a 415, no other route does', () => {
    const document = buildOpenApiDocument();
    for (const route of MANAGEMENT_ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as
        | { responses: Record<string, { description: string }> }
        | undefined;
      const hasBody = BODY_ROUTES.includes(route);
      expect(operation?.responses['415'] !== undefined, route.name).toBe(hasBody);
      if (hasBody) expect(operation?.responses['415']?.description).toContain('UNSUPPORTED_MEDIA_TYPE');
    }
  });
});
