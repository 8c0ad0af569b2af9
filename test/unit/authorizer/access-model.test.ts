import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { encodeRouteScopes, type RouteScopeMap } from '../../../lambdas/core/route-scopes.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import type { TokenAuthorizerResult } from '../../../lambdas/token-authorizer/gateway.js';
import { type OracleCase, oracle, type Reason } from '../../support/access-oracle.js';
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

// Acceptance tests for the access model at the token authorizer (issue #4), through the handler on
// events built from AWS's samples (REST REQUEST and HTTP API 2.0), with DynamoDB and KMS mocked:
// the read/write × area matrix, route→scope maps, IPv4 and IPv6 allowlists, DISABLED, and the
// safety of the REST policy under API Gateway's result cache in both modes. Last, a property: the
// decision for random tokens, maps and requests equals an oracle written here from the spec alone.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;
type Json = Record<string, unknown>;

const KEY_MATERIAL = Buffer.alloc(32, 9);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const READ = ['GET', 'HEAD', 'OPTIONS'] as const;
const WRITE = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
const METHODS = [...READ, ...WRITE];
const AREAS = ['content', 'reports', 'bulk-data'];

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const table = new Map<string, Record<string, unknown>>();
let handler: Handler;
let logs: StdoutCapture;
let serial = 0;

function issue(overrides: Partial<CredentialRecord> = {}): { secret: string; credential: CredentialRecord } {
  const { secret } = generateToken('atk');
  serial += 1;
  const credential = credentialRecord({
    secretHash: hashToken(HMAC_KEY, secret),
    tokenId: `tok_${String(serial).padStart(22, '0')}`,
    ...overrides,
  });
  table.set(KEYS.credential(credential.secretHash).pk, credentialToItem(credential));
  return { secret, credential };
}

function mockAws(): void {
  kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
  ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({ Item: table.get(String(input.Key?.pk)) }));
}

async function loadContainer(extra: Record<string, string> = {}): Promise<Handler> {
  vi.resetModules();
  stubHandlerEnv({ keySource: 'kms', extra });
  return (await import('../../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
}

const invoke = (event: unknown, fn: Handler = handler) => fn(event, lambdaContext());
const asRest = (result: TokenAuthorizerResult) => result as APIGatewayAuthorizerResult;

function decisionReasons(): unknown[] {
  const reasons = logs
    .records()
    .filter((record) => record.message === 'token authorizer decision')
    .map((record) => record.reason);
  logs.clear();
  return reasons;
}

/** What API Gateway answers for a REST request, given the authorizer's (fresh or cached) output. */
async function restStatus(
  event: Json,
  fn: Handler = handler,
): Promise<{ status: 200 | 401 | 403; result?: APIGatewayAuthorizerResult }> {
  let result: APIGatewayAuthorizerResult;
  try {
    result = asRest(await invoke(event, fn));
  } catch (error) {
    if (error instanceof Error && error.message === 'Unauthorized') return { status: 401 };
    throw error;
  }
  const verdict = evaluatePolicy(result, String(event.methodArn));
  return { status: verdict === 'allow' ? 200 : 403, result };
}

const routes = (map: RouteScopeMap) => ({ accessTokensRoutes: encodeRouteScopes(map) });

beforeAll(async () => {
  mockAws();
  handler = await loadContainer();
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

describe('the read/write × area matrix (no route map)', () => {
  it('REST and HTTP API: a method needs <area>:read or <area>:write of the first segment after the base path', async () => {
    const { secret } = issue({
      scopes: ['content:read', 'reports:write', 'bulk-data:read', 'bulk-data:write'],
    });
    const held = new Set(['content:read', 'reports:write', 'bulk-data:read', 'bulk-data:write']);
    for (const area of AREAS) {
      for (const method of METHODS) {
        const scope = `${area}:${(READ as readonly string[]).includes(method) ? 'read' : 'write'}`;
        const expected = held.has(scope) ? 200 : 403;
        const path = `/v1/${area}/items/42`;
        const rest = await restStatus(
          restRequestEvent({ authorization: `Bearer ${secret}`, method, path, basePath: '/v1' }),
        );
        expect(rest.status, `REST ${method} ${path}`).toBe(expected);
        const http = await invoke(
          httpEvent({
            authorization: `Bearer ${secret}`,
            method,
            path,
            basePath: '/v1',
            routeKey: '$default',
          }),
        );
        expect(http, `HTTP ${method} ${path}`).toMatchObject({ isAuthorized: expected === 200 });
        expect(decisionReasons()).toEqual(
          expected === 200 ? ['VALID', 'VALID'] : ['INSUFFICIENT_SCOPE', 'INSUFFICIENT_SCOPE'],
        );
      }
    }
  });
});

describe('route→scope maps', () => {
  const map: RouteScopeMap = {
    'GET /reports/{id}': 'reports:read',
    'DELETE /reports/{id}': 'admin:write',
    'ANY /reports/{id}/export': 'bulk-data:read',
    'GET /': 'content:read',
  };

  it('REST: the mapped scope for the matched template, METHOD before ANY, unmapped → area rule', async () => {
    const { secret } = issue({ scopes: ['reports:read', 'bulk-data:read'] });
    const cases: [string, string, string, 200 | 403, string][] = [
      ['GET', '/v1/reports/{id}', '/v1/reports/7', 200, 'mapped GET'],
      ['DELETE', '/v1/reports/{id}', '/v1/reports/7', 403, 'mapped DELETE needs admin:write'],
      ['POST', '/v1/reports/{id}/export', '/v1/reports/7/export', 200, 'ANY fallback: bulk-data:read'],
      ['GET', '/v1/reports/{id}/export', '/v1/reports/7/export', 200, 'ANY fallback for GET too'],
      ['PUT', '/v1/reports/{id}', '/v1/reports/7', 403, 'unmapped PUT → area rule reports:write'],
      ['HEAD', '/v1/reports/{proxy+}', '/v1/reports/a/b', 200, 'unmapped → area rule reports:read'],
      ['GET', '/v1', '/v1', 403, 'the base path itself is the route `/`: content:read not held'],
    ];
    for (const [method, resource, path, expected, label] of cases) {
      const event = restRequestEvent({
        authorization: `Bearer ${secret}`,
        method,
        path,
        resource,
        basePath: '/v1',
        stageVariables: routes(map),
      });
      expect((await restStatus(event)).status, label).toBe(expected);
    }
  });

  it('HTTP API: the routeKey names the template; $default and unmapped keys use the area rule', async () => {
    const { secret } = issue({ scopes: ['bulk-data:read'] });
    const at = (method: string, path: string, routeKey: string) =>
      invoke(
        httpEvent({
          authorization: `Bearer ${secret}`,
          method,
          path,
          routeKey,
          basePath: '/v1',
          stageVariables: routes(map),
        }),
      );
    expect(await at('PATCH', '/v1/reports/1/export', 'ANY /v1/reports/{id}/export')).toMatchObject({
      isAuthorized: true,
    });
    expect(await at('GET', '/v1/reports/1', 'GET /v1/reports/{id}')).toEqual({ isAuthorized: false });
    expect(await at('GET', '/v1/bulk-data/x', '$default')).toMatchObject({ isAuthorized: true });
    expect(await at('GET', '/v1/bulk-data/x', 'GET /v1/bulk-data/{proxy+}')).toMatchObject({
      isAuthorized: true,
    });
    expect(decisionReasons()).toEqual(['VALID', 'INSUFFICIENT_SCOPE', 'VALID', 'VALID']);
  });

  it('takes the map from the env (JSON) when the stage has none; the stage variable wins', async () => {
    const fromEnv = await loadContainer({
      AUTHORIZER_ROUTE_SCOPES: JSON.stringify({ 'GET /orders/{id}': 'reports:read' }),
    });
    const { secret } = issue({ scopes: ['reports:read'] });
    const event = (stageVariables?: Record<string, string>) =>
      restRequestEvent({
        authorization: `Bearer ${secret}`,
        path: '/orders/9',
        resource: '/orders/{id}',
        // An authorizer whose cache key names the route, as any authorizer using a map must have.
        identitySource: `Bearer ${secret},test-invoke-source-ip,GET,/orders/{id}`,
        ...(stageVariables === undefined ? {} : { stageVariables }),
      });
    expect((await restStatus(event(), fromEnv)).status).toBe(200);
    expect((await restStatus(event(routes({ 'GET /orders/{id}': 'orders:read' })), fromEnv)).status).toBe(
      403,
    );
    expect((await restStatus(event())).status).toBe(403); // no env map: the area rule, orders:read
  });

  it('an invalid map fails closed: a generic error (500, not cached), logged as INVALID_ROUTE_SCOPES without the value', async () => {
    const { secret } = issue({ scopes: ['reports:read'] });
    const broken = Buffer.from(JSON.stringify({ 'GET /reports/{id}': 'secret-value-*' })).toString(
      'base64url',
    );
    for (const stageVariables of [{ accessTokensRoutes: broken }, { accessTokensRoutes: '%%%' }]) {
      for (const event of [
        restRequestEvent({ authorization: `Bearer ${secret}`, path: '/reports/1', stageVariables }),
        httpEvent({ authorization: `Bearer ${secret}`, path: '/reports/1', stageVariables }),
      ]) {
        await expect(invoke(event)).rejects.toMatchObject({ message: 'Authorizer dependency failure' });
      }
    }
    const lines = logs.records().filter((record) => record.message === 'token authorizer decision');
    expect(lines.map((line) => line.reason)).toEqual(Array(4).fill('INVALID_ROUTE_SCOPES'));
    expect(logs.text()).not.toContain('secret-value');
    expect(logs.text()).not.toContain(broken);
    const envBroken = await loadContainer({ AUTHORIZER_ROUTE_SCOPES: '{"GET /x": 1}' });
    await expect(
      invoke(restRequestEvent({ authorization: `Bearer ${secret}` }), envBroken),
    ).rejects.toMatchObject({
      message: 'Authorizer dependency failure',
    });
  });
});

describe('IP allowlists', () => {
  it('IPv4 and IPv6, in and out, on both gateways (out: REST explicit Deny → 403, HTTP false)', async () => {
    const { secret } = issue({
      scopes: ['content:read'],
      allowedIps: ['203.0.113.0/24', '2001:db8:aa::/48'],
    });
    const cases: [string, boolean][] = [
      ['203.0.113.9', true],
      ['203.0.114.9', false],
      ['2001:db8:aa:1::5', true],
      ['2001:db8:ab::5', false],
      ['::ffff:203.0.113.9', true],
      ['test-invoke-source-ip', false],
    ];
    for (const [sourceIp, inside] of cases) {
      const rest = await restStatus(
        restRequestEvent({ authorization: `Bearer ${secret}`, path: '/content/a', sourceIp }),
      );
      expect(rest.status, sourceIp).toBe(inside ? 200 : 403);
      const http = await invoke(
        httpEvent({ authorization: `Bearer ${secret}`, method: 'GET', path: '/content/a', sourceIp }),
      );
      expect(http, sourceIp).toMatchObject({ isAuthorized: inside });
      expect(decisionReasons()).toEqual(inside ? ['VALID', 'VALID'] : ['IP_NOT_ALLOWED', 'IP_NOT_ALLOWED']);
    }
  });
});

describe('DISABLED', () => {
  it('is a 401 on REST (HTTP: false), and comes before the allowlist and the scope checks', async () => {
    const { secret } = issue({ disabled: true, allowedIps: ['192.0.2.0/24'], scopes: [] });
    expect((await restStatus(restRequestEvent({ authorization: `Bearer ${secret}` }))).status).toBe(401);
    expect(await invoke(httpEvent({ authorization: `Bearer ${secret}` }))).toEqual({ isAuthorized: false });
    expect(decisionReasons()).toEqual(['DISABLED', 'DISABLED']);
    const revokedAndDisabled = issue({ disabled: true, state: 'revoked' });
    await restStatus(restRequestEvent({ authorization: `Bearer ${revokedAndDisabled.secret}` }));
    expect(decisionReasons()).toEqual(['REVOKED']);
  });
});

// --- Cache safety -------------------------------------------------------------------------------

interface Probe {
  readonly method: string;
  readonly resource: string;
  readonly path: string;
}

/**
 * For every probe that fills the cache, every later probe sharing its cache key must get from the
 * cached output exactly what a fresh call gives it. `keyOf` is the cache key beyond token + source
 * IP (which are the same for all probes here).
 */
async function expectCacheSafe(
  secret: string,
  probes: readonly Probe[],
  keyOf: (probe: Probe) => string,
  stageVariables: Record<string, string>,
): Promise<number> {
  const event = (probe: Probe) =>
    restRequestEvent({ authorization: `Bearer ${secret}`, ...probe, basePath: '/v1', stageVariables });
  const fresh = new Map<Probe, 'allow' | 'deny'>();
  for (const probe of probes) {
    const { status } = await restStatus(event(probe));
    fresh.set(probe, status === 200 ? 'allow' : 'deny');
  }
  let compared = 0;
  for (const first of probes) {
    const cached = asRest(await invoke(event(first)));
    for (const later of probes) {
      if (keyOf(later) !== keyOf(first)) continue;
      const verdict = evaluatePolicy(cached, methodArn(later.method, later.path));
      expect(
        verdict === 'allow' ? 'allow' : 'deny',
        `${keyOf(first)} cached, then ${later.method} ${later.path}`,
      ).toBe(fresh.get(later));
      compared += 1;
    }
  }
  logs.clear();
  return compared;
}

describe('cache safety of the REST policy', () => {
  const scopes = ['reports:read', 'content:write', 'admin:read'];
  const concrete = (template: string) =>
    template.replace('{id}', '42').replace('{proxy+}', 'a/b/c').replace('{area}', 'reports');
  const templates = [
    '/v1/reports/{id}',
    '/v1/reports/{id}/secret',
    '/v1/reports/{proxy+}',
    '/v1/content/{id}',
    '/v1/admin/{id}',
    '/v1/{area}/{proxy+}',
  ];
  const probes: Probe[] = templates.flatMap((resource) =>
    METHODS.map((method) => ({ method, resource, path: concrete(resource) })),
  );

  it('no map: cache key token + ip; the area listing is right for every route and method', async () => {
    const { secret } = issue({ scopes });
    const compared = await expectCacheSafe(secret, probes, () => 'token+ip', {});
    expect(compared).toBe(probes.length ** 2);
  });

  it('with a map: cache key token + ip + method + resourcePath; mapped routes get a policy about themselves only', async () => {
    const { secret } = issue({ scopes });
    const map: RouteScopeMap = {
      'GET /reports/{id}': 'reports:read',
      'GET /reports/{id}/secret': 'admin:write', // deeper, and forbidden though `reports/*` is readable
      'ANY /content/{id}': 'content:write',
      'DELETE /admin/{id}': 'reports:read',
    };
    const compared = await expectCacheSafe(
      secret,
      probes,
      (probe) => `${probe.method} ${probe.resource}`,
      routes(map),
    );
    expect(compared).toBe(probes.length);
    // And the concrete answers follow the map, not the area rule.
    const at = (method: string, resource: string) =>
      restStatus(
        restRequestEvent({
          authorization: `Bearer ${secret}`,
          method,
          resource,
          path: concrete(resource),
          basePath: '/v1',
          stageVariables: routes(map),
        }),
      );
    expect((await at('GET', '/v1/reports/{id}/secret')).status).toBe(403);
    expect((await at('GET', '/v1/content/{id}')).status).toBe(200);
    expect((await at('DELETE', '/v1/admin/{id}')).status).toBe(200);
    expect((await at('GET', '/v1/admin/{id}')).status).toBe(200); // unmapped GET → admin:read
    // Why the extra identity sources are needed: the Allow for `GET /v1/reports/{id}` is a pattern
    // (`*` spans `/`) that would also match the forbidden deeper route under a token+ip-only key.
    const allowed = (await at('GET', '/v1/reports/{id}')).result;
    if (allowed === undefined) throw new Error('no policy');
    expect(evaluatePolicy(allowed, methodArn('GET', '/v1/reports/42/secret'))).toBe('allow');
    expect(evaluatePolicy(allowed, methodArn('POST', '/v1/reports/42'))).toBe('implicit-deny');
  });
});

// --- The oracle (test/support/access-oracle.ts) ---------------------------------------------------

describe('property: the authorizer agrees with the oracle', () => {
  const SCOPES = [
    'reports:read',
    'reports:write',
    'content:read',
    'content:write',
    'jobs:read',
    'jobs:write',
  ];
  // Templates relative to the base path, with how to fill them.
  const TEMPLATES = ['/', '/reports', '/reports/{id}', '/reports/{id}/export', '/jobs/{proxy+}', '/{proxy+}'];
  const segment = fc.constantFrom('reports', 'content', 'jobs', 'x1', 'Upper', '9lives', 'export');
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const v6 = fc
    .tuple(fc.constantFrom('2001:db8', '2001:db8:1', 'fd00'), fc.nat(0xffff), fc.nat(0xffff))
    .map(([prefix, a, b]) => `${prefix}::${a.toString(16)}:${b.toString(16)}`);
  const sourceIp = fc.oneof(
    v4,
    v6,
    v4.map((address) => `::ffff:${address}`),
    fc.constant('test-invoke-source-ip'),
    fc.constantFrom('10.0.0.1', '203.0.113.77', '2001:db8::1'),
  );
  const cidr = fc.oneof(
    fc.tuple(v4, fc.nat(32)).map(([address, prefix]) => `${address}/${prefix}`),
    fc.tuple(v6, fc.nat(128)).map(([address, prefix]) => `${address}/${prefix}`),
    fc.constantFrom('10.0.0.0/8', '203.0.113.0/24', '2001:db8::/32', '::ffff:10.0.0.0/104', '10.0.0.1'),
  );
  const NOW = Date.now();
  const instant = fc.oneof(fc.constant(null), fc.constant(NOW - 60_000), fc.constant(NOW + 3_600_000));
  const routeMap = fc.option(
    fc.dictionary(
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'ANY'), fc.constantFrom(...TEMPLATES))
        .map(([method, template]) => `${method} ${template}`),
      fc.constantFrom(...SCOPES),
      { maxKeys: 6 },
    ),
    { nil: undefined },
  );

  it('for random scopes, types, allowlists, maps and requests: same reason, same allow/deny, on REST and HTTP', async () => {
    const seen = new Set<Reason>();
    const mappedSeen = { mapped: 0, total: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          token: fc.constantFrom('issued', 'issued', 'issued', 'unknown', 'malformed'),
          scopes: fc.subarray(SCOPES),
          type: fc.constantFrom('standard', 'restricted', 'reporting'),
          allowedIps: fc.array(cidr, { maxLength: 3 }),
          state: fc.constantFrom('active', 'active', 'active', 'revoked'),
          expiresAtMs: instant,
          notAfterMs: instant,
          disabled: fc.constantFrom(false, false, false, false, true),
          map: routeMap,
          basePath: fc.constantFrom('', '/v1'),
          method: fc.constantFrom(...METHODS),
          template: fc.constantFrom(...TEMPLATES),
          id: segment,
          proxy: fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/')),
          sourceIp,
          rest: fc.boolean(),
        }),
        async (input) => {
          const credentialOverrides: Partial<CredentialRecord> = {
            scopes: input.scopes,
            type: input.type,
            allowedIps: input.allowedIps,
            state: input.state as CredentialRecord['state'],
            expiresAtMs: input.expiresAtMs,
            notAfterMs: input.notAfterMs,
            disabled: input.disabled,
          };
          const issued = issue(credentialOverrides);
          const secret =
            input.token === 'issued'
              ? issued.secret
              : input.token === 'unknown'
                ? generateToken('atk').secret
                : `${issued.secret.slice(0, -1)}!`;
          const relative = input.template.replace('{id}', input.id).replace('{proxy+}', input.proxy);
          const template =
            input.template === '/' && input.basePath !== ''
              ? input.basePath
              : `${input.basePath}${input.template}`;
          const path =
            relative === '/' && input.basePath !== '' ? input.basePath : `${input.basePath}${relative}`;
          const c: OracleCase = {
            token: input.token as OracleCase['token'],
            credential: issued.credential,
            map: input.map,
            basePath: input.basePath,
            method: input.method,
            template,
            path,
            sourceIp: input.sourceIp,
          };
          const expected = oracle(c, Date.now());
          seen.add(expected);
          mappedSeen.total += 1;
          const route = template === input.basePath ? '/' : template.slice(input.basePath.length);
          if (
            input.map?.[`${input.method} ${route}`] !== undefined ||
            input.map?.[`ANY ${route}`] !== undefined
          ) {
            mappedSeen.mapped += 1;
          }
          const stageVariables = input.map === undefined ? {} : routes(input.map);
          logs.clear();
          if (input.rest) {
            const { status } = await restStatus(
              restRequestEvent({
                authorization: `Bearer ${secret}`,
                method: input.method,
                path,
                resource: template,
                basePath: input.basePath === '' ? '/' : input.basePath,
                sourceIp: input.sourceIp,
                stageVariables,
              }),
            );
            const expectedStatus =
              expected === 'VALID'
                ? 200
                : ['IP_NOT_ALLOWED', 'INSUFFICIENT_SCOPE'].includes(expected)
                  ? 403
                  : 401;
            expect(status).toBe(expectedStatus);
          } else {
            const result = await invoke(
              httpEvent({
                authorization: `Bearer ${secret}`,
                method: input.method,
                path,
                routeKey: `${input.method} ${template}`,
                basePath: input.basePath === '' ? '/' : input.basePath,
                sourceIp: input.sourceIp,
                stageVariables,
              }),
            );
            expect(result).toMatchObject({ isAuthorized: expected === 'VALID' });
          }
          expect(decisionReasons()).toEqual([expected]);
        },
      ),
      { numRuns: 400 },
    );
    // Not vacuous: the runs reach every reason, and a fair share of them a mapped route.
    expect([...seen].sort()).toEqual(
      [
        'DISABLED',
        'EXPIRED',
        'INSUFFICIENT_SCOPE',
        'IP_NOT_ALLOWED',
        'MALFORMED',
        'NOT_FOUND',
        'REVOKED',
        'VALID',
      ].sort(),
    );
    expect(mappedSeen.mapped).toBeGreaterThan(mappedSeen.total / 20);
  });
});
