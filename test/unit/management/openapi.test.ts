import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createTokenRequestSchema, ROUTE_CONTRACTS } from '../../../lambdas/contract/api-schemas.js';
import { buildOpenApiDocument } from '../../../lambdas/contract/openapi.js';
import { MANAGEMENT_ROUTES } from '../../../lambdas/contract/routes.js';
import { getOpenApiRoute } from '../../../lambdas/openapi/route.js';
import { invoke, proxyEvent } from '../../support/proxy-events.js';

type Json = Record<string, unknown>;

function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === '$ref' && typeof inner === 'string' ? [inner] : refsIn(inner),
  );
}

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument();
  const schemas = document.components.schemas;

  it('is OpenAPI 3.1 with the JSON Schema 2020-12 dialect', () => {
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
    expect(document.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(document.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
  });

  it('lists every route of MANAGEMENT_ROUTES with its method, operationId and responses', () => {
    for (const route of MANAGEMENT_ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as Json | undefined;
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.operationId).toBe(route.name);
      const responses = operation?.responses as Record<string, Json>;
      for (const status of Object.keys(ROUTE_CONTRACTS[route.name].responses)) {
        expect(responses[status]).toBeDefined();
      }
      expect(responses['500']).toBeDefined();
    }
    const operations = Object.values(document.paths).flatMap((path) => Object.keys(path));
    expect(operations).toHaveLength(MANAGEMENT_ROUTES.length);
  });

  it('lists the lifecycle routes: edit, rotate, revoke all, token access and the audit trail', () => {
    const operation = (path: string, method: string) => document.paths[path]?.[method] as Json | undefined;
    expect(operation('/tokens/{id}', 'patch')).toMatchObject({ operationId: 'updateToken' });
    expect(operation('/tokens/{id}/rotate', 'post')).toMatchObject({ operationId: 'rotateToken' });
    expect(operation('/tokens', 'delete')).toMatchObject({ operationId: 'revokeAllTokens' });
    expect(operation('/users/{userId}/token-access', 'put')).toMatchObject({
      operationId: 'setUserTokenAccess',
    });
    expect(operation('/users/{userId}/token-access', 'get')).toMatchObject({
      operationId: 'getUserTokenAccess',
    });
    expect(operation('/audit-events', 'get')).toMatchObject({ operationId: 'listAuditEvents' });
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining([
        'UpdateTokenRequest',
        'RotateTokenRequest',
        'RevokeAllResult',
        'TokenAccessRequest',
        'TokenAccess',
        'AuditEvent',
        'AuditEventList',
      ]),
    );
    const responses = (path: string, method: string) => (operation(path, method)?.responses ?? {}) as Json;
    expect(Object.keys(responses('/tokens/{id}', 'patch'))).toEqual(
      expect.arrayContaining(['200', '400', '404', '409', '413']),
    );
    expect(Object.keys(responses('/tokens/{id}/rotate', 'post'))).toEqual(
      expect.arrayContaining(['201', '404', '409']),
    );
    expect(schemas.UpdateTokenRequest).toMatchObject({ additionalProperties: false, minProperties: 1 });
    expect(Object.keys((schemas.UpdateTokenRequest?.properties ?? {}) as Json).sort()).toEqual(
      ['allowedIps', 'description', 'expiresAt', 'limits', 'name', 'scopes'].sort(),
    );
    const audit = operation('/audit-events', 'get') as { parameters: Json[] };
    expect(audit.parameters.map((parameter) => parameter.name)).toEqual([
      'tokenId',
      'userId',
      'limit',
      'cursor',
    ]);
    const revokeAll = operation('/tokens', 'delete') as { parameters: Json[] };
    expect(revokeAll.parameters.map((parameter) => parameter.name)).toEqual(['userId']);
  });

  it('documents per-token limits: the request field, the detail, the policy ceilings and the budget (#14)', () => {
    const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
    const properties = (id: string) => (schemas[id]?.properties ?? {}) as Json;
    expect(JSON.stringify(properties('CreateTokenRequest').limits)).toContain('TokenLimitsRequest');
    expect(JSON.stringify(properties('UpdateTokenRequest').limits)).toContain('TokenLimitsRequest');
    expect(schemas.TokenLimitsRequest).toMatchObject({ additionalProperties: false });
    expect(schemas.RateLimit).toMatchObject({
      required: ['requestsPerSecond', 'burst'],
      properties: {
        requestsPerSecond: { minimum: 1, maximum: 10_000 },
        burst: { minimum: 1, maximum: 5000 },
      },
    });
    expect(schemas.Quota?.properties).toMatchObject({ period: { enum: ['DAY', 'WEEK', 'MONTH'] } });
    expect(Object.keys(properties('TokenDetail'))).toEqual(expect.arrayContaining(['limits', 'usage']));
    expect(Object.keys(properties('QuotaUsage')).sort()).toEqual(
      ['limit', 'period', 'periodStart', 'remaining', 'resetsAt', 'used'].sort(),
    );
    expect(Object.keys(properties('TokenType'))).toEqual(expect.arrayContaining(['rateLimit', 'quota']));
    expect(Object.keys(properties('Policy'))).toContain('usageKeyBudget');
    const okBody = (path: string, method: string, status: string) =>
      ((document.paths[path]?.[method] as Json | undefined)?.responses as Json | undefined)?.[status];
    expect(JSON.stringify(okBody('/tokens/{id}', 'get', '200'))).toContain(
      JSON.stringify(ref('TokenDetail')).slice(1, -1),
    );
    expect(Object.keys(properties('CreatedToken'))).toEqual(
      expect.arrayContaining(['limits', 'usage', 'secret']),
    );
    expect(Object.keys(okBody('/tokens/{id}', 'patch', '409') ?? {})).not.toHaveLength(0);
  });

  it('puts bearer JWT security on jwt routes, SigV4 on iam ones and none on public ones', () => {
    expect(document.components.securitySchemes).toMatchObject({
      bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      sigv4: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        'x-amazon-apigateway-authtype': 'awsSigv4',
      },
    });
    const expected = { jwt: [{ bearerJwt: [] }], iam: [{ sigv4: [] }], public: [] };
    for (const route of MANAGEMENT_ROUTES) {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()] as Json;
      expect(operation.security, route.name).toEqual(expected[route.auth]);
      const responses = operation.responses as Json;
      // A JWT or IAM route may answer 401; a public one only when it checks a signature of its own (POST /leaks/github).
      const checksSignature = (ROUTE_CONTRACTS[route.name].errors as readonly string[]).includes(
        'UNAUTHORIZED',
      );
      expect(responses['401'] !== undefined).toBe(route.auth !== 'public' || checksSignature);
    }
  });

  it('shows POST /verify: IAM, its request (method and path together) and its result, no secret in it', () => {
    const post = document.paths['/verify']?.post as Json;
    const properties = (id: string) => (schemas[id]?.properties ?? {}) as Json;
    expect(post).toMatchObject({ operationId: 'verifyToken', security: [{ sigv4: [] }] });
    expect(String(post.description)).toContain('Signature Version 4');
    expect(schemas.VerifyRequest).toMatchObject({
      type: 'object',
      required: ['token'],
      additionalProperties: false,
      dependentRequired: { method: ['path'], path: ['method'] },
    });
    expect(Object.keys(properties('VerifyRequest')).sort()).toEqual(
      ['method', 'path', 'requiredScope', 'sourceIp', 'token'].sort(),
    );
    expect(Object.keys(properties('VerifyResult')).sort()).toEqual(
      ['accountId', 'reason', 'scopes', 'tokenId', 'type', 'userId', 'valid'].sort(),
    );
    expect(properties('VerifyResult').reason).toMatchObject({
      enum: expect.arrayContaining(['VALID', 'REVOKED']),
    });
  });

  it('the create body schema forbids additional properties and requires name and scopes', () => {
    const post = document.paths['/tokens']?.post as Json;
    const body = post.requestBody as { content: { 'application/json': { schema: Json } } };
    expect(body.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateTokenRequest',
    });
    expect(schemas.CreateTokenRequest).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: expect.arrayContaining(['name', 'scopes']),
      not: { required: ['expiresInDays', 'expiresAt'] },
    });
    expect(Object.keys((schemas.CreateTokenRequest?.properties ?? {}) as Json)).not.toContain('userId');
  });

  it('names the contract schemas as components and every $ref resolves', () => {
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['CreateTokenRequest', 'CreatedToken', 'Token', 'TokenList', 'Policy', 'Error']),
    );
    for (const ref of refsIn(document)) {
      expect(ref.startsWith('#/components/schemas/')).toBe(true);
      expect(schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
    expect(JSON.stringify(document)).not.toContain('$defs');
  });

  it('documents query and path parameters from the same schemas', () => {
    const list = document.paths['/tokens']?.get as { parameters: Json[] };
    expect(list.parameters.map((parameter) => parameter.name)).toEqual([
      'status',
      'userId',
      'limit',
      'cursor',
    ]);
    expect(
      list.parameters.every((parameter) => parameter.in === 'query' && parameter.required === false),
    ).toBe(true);
    const get = document.paths['/tokens/{id}']?.get as { parameters: Json[] };
    expect(get.parameters).toEqual([
      expect.objectContaining({
        name: 'id',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ pattern: expect.any(String) }),
      }),
    ]);
  });

  it('is generated from the schemas that validate: a documented unknown field is refused at runtime too', () => {
    const documented = Object.keys((schemas.CreateTokenRequest?.properties ?? {}) as Json).sort();
    expect(documented).toEqual(Object.keys(createTokenRequestSchema.shape).sort());
  });
});

describe('GET /openapi.json', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const handler = getOpenApiRoute();

  afterEach(() => {
    dynamo.reset();
  });

  it('is public: 200 without any caller, cacheable, JSON', async () => {
    const result = await invoke(
      handler,
      proxyEvent({ method: 'GET', resource: '/openapi.json', caller: null }),
    );
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/json');
    expect(result.headers['cache-control']).toBe('public, max-age=300');
    expect(result.headers['x-content-type-options']).toBe('nosniff');
    expect(result.json).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
    expect(dynamo.calls()).toHaveLength(0);
  });
});
