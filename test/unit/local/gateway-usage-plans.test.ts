import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiGatewayEmulator, type EmulatorClock } from '../../../local/api-gateway-emulator.js';
import { findFreePort } from '../../../local/emulators.js';
import { headerOf } from '../../../local/events.js';
import { type RouteTarget, type RunningGateway, startGateway } from '../../../local/gateway.js';
import { LambdaAuthorizer } from '../../../local/lambda-authorizer.js';
import type { LocalFunction } from '../../../local/lambda-runtime.js';

// The local gateway's usage plans (local/gateway.ts): on a route that requires an API key, the
// authorizer's usageIdentifierKey (fresh or from its result cache) is admitted by the emulated plans
// before the integration runs: 503 TOKEN_NOT_READY, 429 RATE_LIMITED or 429 QUOTA_EXCEEDED with
// Retry-After, in the contract's error shape. Routes without it are never limited.

const STAGE = { apiId: 'demo', stage: 'local' };
const API = { ...STAGE, stageVariables: null };

class FakeClock implements EmulatorClock {
  monotonic = 0;
  wall = Date.parse('2026-11-30T23:59:00Z');
  monotonicMs() {
    return this.monotonic;
  }
  wallMs() {
    return this.wall;
  }
}

const integration: LocalFunction = {
  name: 'integration',
  entry: 'integration.ts',
  invoke: vi.fn(async () => ({ statusCode: 200, body: 'ok' })),
};
// Answers Allow for `Bearer <name>` with usageIdentifierKey `usage-<name>`; `Bearer nokey` without one.
const authorizerFn: LocalFunction = {
  name: 'authorizer',
  entry: 'authorizer.ts',
  invoke: vi.fn(async (event) => {
    const token = String((event as { identitySource: string }).identitySource).slice('Bearer '.length);
    return {
      principalId: 'user-1',
      policyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: 'arn:aws:execute-api:*' }],
      },
      ...(token === 'nokey' ? {} : { usageIdentifierKey: `usage-${token.padEnd(20, '0')}` }),
    };
  }),
};

let clock: FakeClock;
let emulator: ApiGatewayEmulator;
let gateway: RunningGateway;

beforeAll(async () => {
  const authorizer = new LambdaAuthorizer({
    fn: authorizerFn,
    // The result cache on: enforcement must hold for cached answers too.
    cacheTtlSeconds: 300,
    identitySources: (request) => {
      const value = headerOf(request, 'authorization');
      return value === undefined ? undefined : [value];
    },
    log: () => undefined,
  });
  const usagePlans = { admit: (stage: typeof STAGE, key: string) => emulator.admit(stage, key) };
  const limited: RouteTarget = { kind: 'lambda', api: API, fn: integration, authorizer, usagePlans };
  const unlimited: RouteTarget = { kind: 'lambda', api: API, fn: integration, authorizer };
  gateway = await startGateway({
    port: await findFreePort(),
    routes: [
      { method: 'GET', path: '/limited', target: limited },
      { method: 'GET', path: '/unlimited', target: unlimited },
    ],
    log: () => undefined,
  });
});
afterAll(() => gateway.stop());

function call(method: string, path: string, body?: unknown): { id: string } {
  const response = emulator.handle({
    method,
    path,
    query: [],
    body: body === undefined ? null : JSON.stringify(body),
  });
  return JSON.parse(response.body) as { id: string };
}

/** A plan on the stage with a key per name in it. */
function plan(
  throttle: { rateLimit: number; burstLimit: number },
  quota: number | undefined,
  names: string[],
) {
  const created = call('POST', '/usageplans', {
    name: `plan-${names.join('-')}`,
    throttle,
    apiStages: [STAGE],
    ...(quota === undefined ? {} : { quota: { limit: quota, period: 'DAY' } }),
  });
  for (const name of names) {
    const key = call('POST', '/apikeys', { name, value: `usage-${name.padEnd(20, '0')}`, enabled: true });
    call('POST', `/usageplans/${created.id}/keys`, { keyId: key.id, keyType: 'API_KEY' });
  }
}

beforeEach(() => {
  clock = new FakeClock();
  emulator = new ApiGatewayEmulator({ stages: [STAGE], clock });
});

const get = (path: string, token: string) =>
  fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('usage plans at the local gateway', () => {
  it('429 RATE_LIMITED with Retry-After past the burst, per key; 200 again once the bucket refills', async () => {
    plan({ rateLimit: 5, burstLimit: 5 }, undefined, ['burst', 'bystander']);
    const statuses = [];
    for (let index = 0; index < 8; index += 1) statuses.push((await get('/limited', 'burst')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const refused = await get('/limited', 'burst');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: { code: 'RATE_LIMITED', message: 'Too many requests' } });
    expect((await get('/limited', 'bystander')).status).toBe(200);
    clock.monotonic += 200;
    expect((await get('/limited', 'burst')).status).toBe(200);
    expect((await get('/limited', 'burst')).status).toBe(429);
  });

  it('429 QUOTA_EXCEEDED on the call after the quota, Retry-After to midnight UTC', async () => {
    plan({ rateLimit: 1000, burstLimit: 1000 }, 3, ['quota']);
    for (let index = 0; index < 3; index += 1) expect((await get('/limited', 'quota')).status).toBe(200);
    const refused = await get('/limited', 'quota');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('QUOTA_EXCEEDED');
  });

  it('503 TOKEN_NOT_READY with Retry-After for a key that is missing or in no plan, and for no key', async () => {
    for (const token of ['unknown', 'nokey']) {
      const response = await get('/limited', token);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('TOKEN_NOT_READY');
    }
    // The key appears (the stream consumer caught up): the cached authorizer answer now passes.
    plan({ rateLimit: 5, burstLimit: 5 }, undefined, ['unknown']);
    expect((await get('/limited', 'unknown')).status).toBe(200);
  });

  it('a route without usage plans is never limited', async () => {
    plan({ rateLimit: 1, burstLimit: 1 }, 1, ['free']);
    for (let index = 0; index < 5; index += 1) expect((await get('/unlimited', 'free')).status).toBe(200);
  });

  it('the integration does not run for a refused request', async () => {
    plan({ rateLimit: 1, burstLimit: 1 }, undefined, ['counted']);
    const calls = vi.mocked(integration.invoke).mock.calls.length;
    expect((await get('/limited', 'counted')).status).toBe(200);
    expect((await get('/limited', 'counted')).status).toBe(429);
    expect(vi.mocked(integration.invoke).mock.calls.length).toBe(calls + 1);
  });
});
