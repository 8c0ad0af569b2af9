import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../../lambdas/core/authorization.js';
import { requiredScopeFor } from '../../../lambdas/core/gateway-scope.js';
import { encodeRouteScopes } from '../../../lambdas/core/route-scopes.js';
import {
  type AuthorizerDefaults,
  httpResponse,
  readAuthorizerEvent,
  type TokenAuthorizerEvent,
} from '../../../lambdas/token-authorizer/gateway.js';
import {
  credentialRecord,
  httpEvent,
  restRequestEvent,
  restTokenEvent,
} from '../../support/authorizer-events.js';

// readAuthorizerEvent remembers what the last REST event's route, paths and stage variables gave
// (gateway.ts, RestShape; HttpShape for HTTP APIs), and requiredScopeFor its last answer (gateway-scope.ts): a request read
// right after another must come out exactly as if read after an unrelated one, whatever repeats.

const DEFAULTS: AuthorizerDefaults = { basePath: '', routeScopesJson: undefined };
const OTHER_DEFAULTS: AuthorizerDefaults = {
  basePath: '/demo',
  routeScopesJson: '{"GET /content/{id}":"reports:read"}',
};
const ROUTES = encodeRouteScopes({
  'GET /content/{id}': 'reports:read',
  'ANY /admin/{proxy+}': 'admin:write',
});
const UNRELATED = restRequestEvent({
  path: '/unrelated/path',
  basePath: '/elsewhere',
}) as TokenAuthorizerEvent;
const UNRELATED_HTTP = httpEvent({ path: '/unrelated/path', basePath: '/elsewhere' }) as TokenAuthorizerEvent;

const eventArb: fc.Arbitrary<TokenAuthorizerEvent> = fc
  .record({
    kind: fc.constantFrom('request', 'token', 'http'),
    stage: fc.constantFrom(undefined, '$default', 'demo', 'prod'),
    authorization: fc.constantFrom('Bearer atk_one', 'Bearer atk_two', 'Basic x'),
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    path: fc.constantFrom(
      '/demo/content/1',
      '/demo/admin/x',
      '/demo/reports/%2e%2e/x',
      '/content/1',
      '/demo/content/../x',
    ),
    resource: fc.constantFrom(undefined, '/demo/content/{id}', '/demo/admin/{proxy+}'),
    basePath: fc.constantFrom(undefined, '/demo', 'demo/'),
    routes: fc.constantFrom(undefined, ROUTES),
    sourceIp: fc.constantFrom('198.51.100.7', '203.0.113.9'),
    keyed: fc.boolean(),
  })
  .map((o) => {
    if (o.kind === 'token') return restTokenEvent(o.authorization, o.method, o.path) as TokenAuthorizerEvent;
    if (o.kind === 'http') {
      return httpEvent({
        authorization: o.authorization,
        method: o.method,
        // Sometimes the stage's prefix (HTTP APIs put `/<stage>` in rawPath on a named stage), sometimes another's.
        path: o.keyed ? `/prod${o.path}` : o.path,
        sourceIp: o.sourceIp,
        ...(o.resource === undefined ? {} : { routeKey: `${o.method} ${o.resource}` }),
        ...(o.stage === undefined ? {} : { stage: o.stage }),
        ...(o.basePath === undefined ? {} : { basePath: o.basePath }),
        ...(o.routes === undefined ? {} : { stageVariables: { accessTokensRoutes: o.routes } }),
      }) as TokenAuthorizerEvent;
    }
    const event = restRequestEvent({
      authorization: o.authorization,
      method: o.method,
      path: o.path,
      sourceIp: o.sourceIp,
      ...(o.resource === undefined ? {} : { resource: o.resource }),
      ...(o.basePath === undefined ? {} : { basePath: o.basePath }),
      ...(o.routes === undefined ? {} : { stageVariables: { accessTokensRoutes: o.routes } }),
      ...(o.keyed ? { identitySource: `${o.authorization},${o.method},${o.resource ?? o.path}` } : {}),
    });
    return event as TokenAuthorizerEvent;
  });

/** What reading gives, or the error's name: compared as plain data. */
function read(event: TokenAuthorizerEvent, defaults: AuthorizerDefaults): unknown {
  try {
    const request = readAuthorizerEvent(event, defaults);
    return {
      request,
      required: requiredScopeFor(request.method, request.path, request.basePath, request.route),
    };
  } catch (error) {
    return { error: error instanceof Error ? error.name : String(error) };
  }
}

function fresh(event: TokenAuthorizerEvent, defaults: AuthorizerDefaults): unknown {
  read(UNRELATED, DEFAULTS);
  read(UNRELATED_HTTP, DEFAULTS);
  requiredScopeFor('PATCH', '/nowhere', '/elsewhere', undefined);
  return read(structuredClone(event), defaults);
}

describe('the remembered event shape and required scope', () => {
  it('every read in a sequence with repeats equals a read after an unrelated event', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(eventArb, fc.constantFrom(DEFAULTS, OTHER_DEFAULTS)), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (pool, picks) => {
          const sequence = [...pool, ...picks.map((pick) => pool[pick % pool.length] ?? pool[0])];
          for (const entry of sequence) {
            if (entry === undefined) continue;
            const [event, defaults] = entry;
            // The same event object again, and an equal copy, both read as a fresh one would be.
            expect(read(event, defaults)).toEqual(fresh(event, defaults));
            expect(read(structuredClone(event), defaults)).toEqual(fresh(event, defaults));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  // One field changed after an event read: every field the remembered shape depends on.
  type Mutable = Record<string, unknown> & { requestContext: Record<string, unknown> };
  const http = (event: Mutable) => event.requestContext.http as Record<string, unknown>;
  const stageVariables = (event: Mutable) => event.stageVariables as Record<string, unknown>;
  const restBase = (): Mutable => {
    const event = restRequestEvent({
      authorization: 'Bearer atk_x',
      path: '/demo/content/1',
      resource: '/demo/content/{id}',
      basePath: '/demo',
      stageVariables: { accessTokensRoutes: ROUTES },
      identitySource: 'Bearer atk_x,GET,/demo/content/{id},/demo/admin/{proxy+}',
    }) as Mutable;
    return event;
  };
  const restBaseByContext = (): Mutable => {
    const event = restBase();
    delete event.resource;
    return event;
  };
  const httpBase = (): Mutable =>
    httpEvent({
      authorization: 'Bearer atk_x',
      method: 'GET',
      path: '/prod/demo/content/1',
      routeKey: 'GET /demo/content/{id}',
      stage: 'prod',
      basePath: '/demo',
      stageVariables: { accessTokensRoutes: ROUTES },
    }) as Mutable;
  const httpBaseByContext = (): Mutable => {
    const event = httpBase();
    delete event.routeKey;
    return event;
  };
  const OTHER_ROUTES = encodeRouteScopes({ 'GET /content/{id}': 'admin:read' });
  it.each<[string, () => Mutable, (event: Mutable) => void]>([
    [
      'REST methodArn',
      restBase,
      (e) => {
        e.methodArn = String(e.methodArn).replace('/GET/', '/POST/');
      },
    ],
    [
      'REST type',
      restBase,
      (e) => {
        e.type = 'TOKEN';
      },
    ],
    [
      'REST path',
      restBase,
      (e) => {
        e.path = '/demo/content/%2e%2e';
      },
    ],
    [
      'REST requestContext.path',
      restBase,
      (e) => {
        e.requestContext.path = '/stage/demo/content/..';
      },
    ],
    [
      'REST resource',
      restBase,
      (e) => {
        e.resource = '/demo/admin/{proxy+}';
      },
    ],
    [
      'REST requestContext.resourcePath',
      restBaseByContext,
      (e) => {
        e.requestContext.resourcePath = '/demo/admin/{proxy+}';
      },
    ],
    [
      'REST base path',
      restBase,
      (e) => {
        stageVariables(e).accessTokensBasePath = '/other';
      },
    ],
    [
      'REST route map',
      restBase,
      (e) => {
        stageVariables(e).accessTokensRoutes = OTHER_ROUTES;
      },
    ],
    [
      'HTTP method',
      httpBase,
      (e) => {
        http(e).method = 'DELETE';
      },
    ],
    [
      'HTTP rawPath',
      httpBase,
      (e) => {
        e.rawPath = '/prod/demo/reports/1';
      },
    ],
    [
      'HTTP http.path',
      httpBase,
      (e) => {
        http(e).path = '/prod/demo/%2fx';
      },
    ],
    [
      'HTTP stage',
      httpBase,
      (e) => {
        e.requestContext.stage = '$default';
      },
    ],
    [
      'HTTP routeKey',
      httpBase,
      (e) => {
        e.routeKey = 'GET /demo/admin/{proxy+}';
      },
    ],
    [
      'HTTP requestContext.routeKey',
      httpBaseByContext,
      (e) => {
        e.requestContext.routeKey = 'GET /demo/admin/{proxy+}';
      },
    ],
    [
      'HTTP base path',
      httpBase,
      (e) => {
        stageVariables(e).accessTokensBasePath = '/';
      },
    ],
    [
      'HTTP route map',
      httpBase,
      (e) => {
        stageVariables(e).accessTokensRoutes = OTHER_ROUTES;
      },
    ],
  ])('%s changed after a read: read as a fresh event', (_field, base, mutate) => {
    const first = base() as TokenAuthorizerEvent;
    const second = base();
    mutate(second);
    const changed = second as TokenAuthorizerEvent;
    const expected = fresh(changed, DEFAULTS);
    expect(expected).not.toEqual(fresh(first, DEFAULTS));
    read(first, DEFAULTS);
    expect(read(changed, DEFAULTS)).toEqual(expected);
  });

  it('requiredScopeFor with the same route object answers for each method, path and base path', () => {
    const route = { template: '/demo/{area}/{proxy+}', scopes: undefined };
    const calls = [
      ['GET', '/demo/content/1', '/demo', 'content:read'],
      ['GET', '/demo/reports/1', '/demo', 'reports:read'],
      ['POST', '/demo/reports/1', '/demo', 'reports:write'],
      ['POST', '/demo/reports/1', '', 'demo:write'],
      ['POST', '/demo/reports/1', '/other', undefined],
      ['POST', '/demo/reports/1', '/demo', 'reports:write'],
    ] as const;
    for (const [method, path, basePath, scope] of calls) {
      expect(requiredScopeFor(method, path, basePath, route).scope).toBe(scope);
    }
  });

  it('a repeated event gets its own Authorization value and source address', () => {
    const first = restRequestEvent({ authorization: 'Bearer atk_first', sourceIp: '198.51.100.7' });
    const second = restRequestEvent({ authorization: 'Bearer atk_second', sourceIp: '203.0.113.9' });
    readAuthorizerEvent(first as TokenAuthorizerEvent, DEFAULTS);
    const request = readAuthorizerEvent(second as TokenAuthorizerEvent, DEFAULTS);
    expect(request.authorization).toBe('Bearer atk_second');
    expect(request.sourceIp).toBe('203.0.113.9');
  });

  it("an HTTP API's allowed answer is kept per credential object: a re-read credential gets its own", () => {
    const request = { method: 'GET', path: '/demo/content/1', basePath: '/demo', sourceIp: undefined };
    const first = credentialRecord({ scopes: ['content:read'] });
    const reread = credentialRecord({ scopes: ['content:read', 'reports:read'], userId: 'user-2' });
    const answer = httpResponse(decide(first, Date.now(), request));
    expect(answer).toEqual({
      isAuthorized: true,
      context: {
        tokenId: first.tokenId,
        userId: 'user-1',
        accountId: first.accountId,
        scopes: 'content:read',
        type: 'standard',
      },
    });
    expect(httpResponse(decide(first, Date.now(), request))).toBe(answer);
    expect(Object.isFrozen(answer) && 'context' in answer && Object.isFrozen(answer.context)).toBe(true);
    expect(httpResponse(decide(reread, Date.now(), request))).toMatchObject({
      isAuthorized: true,
      context: { userId: 'user-2', scopes: 'content:read reports:read' },
    });
    expect(httpResponse(decide(first, Date.now(), { ...request, method: 'POST' }))).toEqual({
      isAuthorized: false,
    });
  });
});
