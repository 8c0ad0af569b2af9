import { describe, expect, it } from 'vitest';
import { authorize, type GatewayRequest } from '../../../lambdas/core/authorization.js';
import { denyPolicy, routeResource } from '../../../lambdas/core/gateway-policy.js';
import { requiredScopeFor } from '../../../lambdas/core/gateway-scope.js';
import {
  encodeRouteScopes,
  InvalidRouteScopesError,
  lookupRouteScope,
  RouteScopeDecoder,
  type RouteScopeMap,
  routeOfTemplate,
} from '../../../lambdas/core/route-scopes.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { credentialRecord, evaluatePolicy, methodArn } from '../../support/authorizer-events.js';

const STAGE_ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test';

describe('routeOfTemplate', () => {
  it('strips the base path by whole segments; the base path itself is `/`', () => {
    expect(routeOfTemplate('/v1/reports/{id}', '/v1')).toBe('/reports/{id}');
    expect(routeOfTemplate('/v1', '/v1')).toBe('/');
    expect(routeOfTemplate('/v10/reports', '/v1')).toBeUndefined();
    expect(routeOfTemplate('/reports', '/v1')).toBeUndefined();
    expect(routeOfTemplate('/reports/{id}', '')).toBe('/reports/{id}');
    expect(routeOfTemplate('/', '')).toBe('/');
  });
});

describe('lookupRouteScope', () => {
  const map: RouteScopeMap = { 'GET /a/{id}': 'a:read', 'ANY /a/{id}': 'a:write', 'ANY /b': 'b:read' };

  it('METHOD first, then ANY; the method in any case; nothing else', () => {
    expect(lookupRouteScope(map, 'get', '/a/{id}')).toEqual({ key: 'GET /a/{id}', scope: 'a:read' });
    expect(lookupRouteScope(map, 'DELETE', '/a/{id}')).toEqual({ key: 'ANY /a/{id}', scope: 'a:write' });
    expect(lookupRouteScope(map, 'GET', '/b')).toEqual({ key: 'ANY /b', scope: 'b:read' });
    expect(lookupRouteScope(map, 'GET', '/a/1')).toBeUndefined();
    expect(lookupRouteScope(map, 'GET', '/a')).toBeUndefined();
  });

  it('never finds inherited properties', () => {
    expect(lookupRouteScope({}, 'GET', 'constructor')).toBeUndefined();
    expect(lookupRouteScope({}, 'ANY', '__proto__')).toBeUndefined();
  });
});

describe('RouteScopeDecoder', () => {
  it('decodes the stage variable and the env JSON, and memoizes per string (errors too)', () => {
    const decoder = new RouteScopeDecoder(2);
    const encoded = encodeRouteScopes({ 'GET /x': 'x:read' });
    const first = decoder.fromStageVariable(encoded);
    expect(first).toEqual({ 'GET /x': 'x:read' });
    expect(decoder.fromStageVariable(encoded)).toBe(first);
    expect(decoder.fromJson('{"ANY /y":"y:write"}')).toEqual({ 'ANY /y': 'y:write' });
    const broken = () => decoder.fromStageVariable('%%%');
    expect(broken).toThrow(InvalidRouteScopesError);
    expect(broken).toThrow(InvalidRouteScopesError);
    expect(() => decoder.fromJson('{')).toThrow(InvalidRouteScopesError);
    expect(() => decoder.fromJson('{"GET /x":"*"}')).toThrow(InvalidRouteScopesError);
    expect(() => decoder.fromJson('[]')).toThrow(InvalidRouteScopesError);
    // Bounded: past maxEntries it starts over and still answers.
    expect(decoder.fromStageVariable(encoded)).toEqual({ 'GET /x': 'x:read' });
  });
});

describe('requiredScopeFor', () => {
  const scopes: RouteScopeMap = { 'GET /reports/{id}': 'billing:read', 'ANY /jobs/{proxy+}': 'jobs:write' };

  it('the mapped scope when the template is mapped, with the key and the full template', () => {
    expect(requiredScopeFor('GET', '/v1/reports/7', '/v1', { template: '/v1/reports/{id}', scopes })).toEqual(
      {
        area: 'billing',
        action: 'read',
        scope: 'billing:read',
        route: { key: 'GET /reports/{id}', template: '/v1/reports/{id}' },
      },
    );
    expect(
      requiredScopeFor('HEAD', '/v1/jobs/a/b', '/v1', { template: '/v1/jobs/{proxy+}', scopes }).scope,
    ).toBe('jobs:write');
  });

  it('the area rule for an unmapped template, no template, no map, or a template outside the base path', () => {
    for (const route of [
      { template: '/v1/reports/{id}/x', scopes },
      { template: undefined, scopes },
      { template: '/v1/reports/{id}', scopes: undefined },
      undefined,
    ]) {
      expect(requiredScopeFor('POST', '/v1/reports/7', '/v1', route)).toEqual({
        area: 'reports',
        action: 'write',
        scope: 'reports:write',
      });
    }
    expect(
      requiredScopeFor('GET', '/reports/7', '/v1', { template: '/reports/{id}', scopes }).scope,
    ).toBeUndefined();
  });
});

describe('decide: the order of the reasons', () => {
  const request: GatewayRequest = { method: 'GET', path: '/content/x', basePath: '', sourceIp: '192.0.2.1' };
  const token = generateToken('atk').secret;
  const reasonFor = (overrides: Parameters<typeof credentialRecord>[0]) =>
    authorize({
      ...request,
      authorization: `Bearer ${token}`,
      credential: credentialRecord(overrides),
      nowMs: Date.now(),
      tokenPrefix: 'atk',
    }).reason;

  it('REVOKED, EXPIRED, DISABLED, IP_NOT_ALLOWED, INSUFFICIENT_SCOPE, VALID', () => {
    const fenced = { allowedIps: ['10.0.0.0/8'], scopes: [] };
    expect(reasonFor({ state: 'revoked', disabled: true, expiresAtMs: 1 })).toBe('REVOKED');
    expect(reasonFor({ disabled: true, expiresAtMs: 1 })).toBe('EXPIRED');
    expect(reasonFor({ disabled: true, notAfterMs: 1 })).toBe('EXPIRED');
    expect(reasonFor({ disabled: true, ...fenced })).toBe('DISABLED');
    expect(reasonFor(fenced)).toBe('IP_NOT_ALLOWED');
    expect(reasonFor({ scopes: ['content:write'] })).toBe('INSUFFICIENT_SCOPE');
    expect(reasonFor({})).toBe('VALID');
  });

  it('a mapped route decides by the map and names the route in the decision', () => {
    const decision = authorize({
      ...request,
      path: '/content/x',
      route: { template: '/content/{id}', scopes: { 'GET /content/{id}': 'reports:read' } },
      authorization: `Bearer ${token}`,
      credential: credentialRecord({ scopes: ['content:read'] }),
      nowMs: Date.now(),
      tokenPrefix: 'atk',
    });
    expect(decision).toMatchObject({
      reason: 'INSUFFICIENT_SCOPE',
      requiredScope: 'reports:read',
      route: { key: 'GET /content/{id}', template: '/content/{id}' },
    });
  });
});

describe('routeResource', () => {
  it('turns {x} and {x+} into `*` and keeps the method and the root', () => {
    expect(routeResource(STAGE_ARN, 'get', '/v1/reports/{id}')).toBe(`${STAGE_ARN}/GET/v1/reports/*`);
    expect(routeResource(STAGE_ARN, 'POST', '/v1/{area}/{proxy+}')).toBe(`${STAGE_ARN}/POST/v1/*/*`);
    expect(routeResource(STAGE_ARN, 'GET', '/')).toBe(`${STAGE_ARN}/GET/`);
  });

  it('matches every request of its method and template and no other method', () => {
    const policy = { policyDocument: denyPolicy([routeResource(STAGE_ARN, 'GET', '/v1/reports/{id}')]) };
    expect(evaluatePolicy(policy, methodArn('GET', '/v1/reports/7'))).toBe('explicit-deny');
    expect(evaluatePolicy(policy, methodArn('HEAD', '/v1/reports/7'))).toBe('implicit-deny');
    const root = { policyDocument: denyPolicy([routeResource(STAGE_ARN, 'GET', '/')]) };
    expect(evaluatePolicy(root, methodArn('GET', '/'))).toBe('explicit-deny');
    expect(evaluatePolicy(root, methodArn('GET', '/x'))).toBe('implicit-deny');
  });
});
