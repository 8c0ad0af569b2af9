import {
  APIGatewayClient,
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlanCommand,
  GetUsagePlanKeysCommand,
  GetUsagePlansCommand,
  NotFoundException,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiGatewayUsagePlans } from '../../../lambdas/adapters/api-gateway-usage-plans.js';
import {
  API_GATEWAY_EMULATOR_PATH,
  ApiGatewayEmulator,
  apiGatewayEmulatorHandler,
  type EmulatorClock,
} from '../../../local/api-gateway-emulator.js';
import { findFreePort } from '../../../local/emulators.js';
import { type RouteTarget, type RunningGateway, startGateway } from '../../../local/gateway.js';

// The local API Gateway management emulator (local/api-gateway-emulator.ts), driven by the real
// @aws-sdk/client-api-gateway over HTTP through the local gateway's path prefix: what the SDK sends
// is understood, what it parses comes back (lists, values, dates), errors arrive as the SDK's own
// exception classes. Then the usage-plan adapter itself against it, and the enforcement.

const STAGE = { apiId: 'demo', stage: 'local' };

class FakeClock implements EmulatorClock {
  monotonic = 1_000;
  wall = Date.parse('2026-11-30T10:00:00Z');
  monotonicMs() {
    return this.monotonic;
  }
  wallMs() {
    return this.wall;
  }
  advance(ms: number) {
    this.monotonic += ms;
    this.wall += ms;
  }
}

describe('API Gateway management emulator', () => {
  let clock: FakeClock;
  let emulator: ApiGatewayEmulator;
  let gateway: RunningGateway;
  let client: APIGatewayClient;

  beforeAll(async () => {
    const route = {
      method: 'ANY',
      path: `${API_GATEWAY_EMULATOR_PATH}/{proxy+}`,
      target: {
        kind: 'local',
        // The emulator of the current test (beforeEach makes a fresh one).
        handle: (request) => apiGatewayEmulatorHandler(emulator)(request),
      } satisfies RouteTarget,
    };
    gateway = await startGateway({ port: await findFreePort(), routes: [route], log: () => undefined });
    client = new APIGatewayClient({
      endpoint: `${gateway.url}${API_GATEWAY_EMULATOR_PATH}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await gateway.stop();
  });

  beforeEach(() => {
    clock = new FakeClock();
    emulator = new ApiGatewayEmulator({ stages: [STAGE], clock });
  });

  const createPlan = async (name: string, rate = 5, burst = 5, quota?: number) =>
    client.send(
      new CreateUsagePlanCommand({
        name,
        throttle: { rateLimit: rate, burstLimit: burst },
        quota: quota === undefined ? undefined : { limit: quota, period: 'DAY' },
        apiStages: [STAGE],
      }),
    );

  it('creates, reads, lists (by name prefix, with values, paginated) and deletes API keys', async () => {
    const created = await client.send(
      new CreateApiKeyCommand({ name: 'usage-tok_a', value: 'usage-tok_aaaaaaaaaaaaaaaa', enabled: true }),
    );
    expect(created).toMatchObject({
      name: 'usage-tok_a',
      value: 'usage-tok_aaaaaaaaaaaaaaaa',
      enabled: true,
    });
    expect(created.createdDate).toBeInstanceOf(Date);
    expect(created.createdDate?.getTime()).toBe(clock.wall);
    for (const suffix of ['b', 'c', 'd']) {
      await client.send(
        new CreateApiKeyCommand({ name: `usage-tok_${suffix}`, value: `usage-tok_${suffix.repeat(16)}` }),
      );
    }
    await client.send(new CreateApiKeyCommand({ name: 'other', value: 'other-key-value-0123456789' }));

    const fetched = await client.send(new GetApiKeyCommand({ apiKey: created.id, includeValue: true }));
    expect(fetched).toMatchObject({ id: created.id, value: 'usage-tok_aaaaaaaaaaaaaaaa' });
    expect((await client.send(new GetApiKeyCommand({ apiKey: created.id }))).value).toBeUndefined();

    const first = await client.send(
      new GetApiKeysCommand({ nameQuery: 'usage-', includeValues: true, limit: 3 }),
    );
    expect(first.items?.map((key) => key.name)).toEqual(['usage-tok_a', 'usage-tok_b', 'usage-tok_c']);
    expect(first.items?.[0]?.value).toBe('usage-tok_aaaaaaaaaaaaaaaa');
    expect(first.position).toBeDefined();
    const second = await client.send(
      new GetApiKeysCommand({ nameQuery: 'usage-', limit: 3, position: first.position }),
    );
    expect(second.items?.map((key) => key.name)).toEqual(['usage-tok_d']);
    expect(second.items?.[0]?.value).toBeUndefined();
    expect(second.position).toBeUndefined();

    await client.send(new DeleteApiKeyCommand({ apiKey: created.id }));
    await expect(client.send(new GetApiKeyCommand({ apiKey: created.id }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
  });

  it('answers errors as API Gateway does, each the SDK exception of its status', async () => {
    await client.send(new CreateApiKeyCommand({ name: 'k', value: 'usage-tok_duplicate_value' }));
    const duplicate = client.send(
      new CreateApiKeyCommand({ name: 'k2', value: 'usage-tok_duplicate_value' }),
    );
    await expect(duplicate).rejects.toBeInstanceOf(ConflictException);
    await expect(duplicate).rejects.toMatchObject({ $metadata: { httpStatusCode: 409 } });
    await expect(client.send(new CreateApiKeyCommand({ value: 'short' }))).rejects.toBeInstanceOf(
      BadRequestException,
    );
    const missing = client.send(new DeleteApiKeyCommand({ apiKey: 'nope' }));
    await expect(missing).rejects.toBeInstanceOf(NotFoundException);
    await expect(missing).rejects.toMatchObject({ message: 'Invalid API Key identifier specified' });
    await expect(client.send(new GetUsagePlanCommand({ usagePlanId: 'nope' }))).rejects.toBeInstanceOf(
      NotFoundException,
    );
    await expect(
      client.send(new CreateUsagePlanCommand({ name: 'x', apiStages: [{ apiId: 'other', stage: 'prod' }] })),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('creates, lists (by key), updates and deletes usage plans', async () => {
    const plan = await createPlan('access-tokens-local-type-standard', 5, 10, 100);
    expect(plan).toMatchObject({
      name: 'access-tokens-local-type-standard',
      throttle: { rateLimit: 5, burstLimit: 10 },
      quota: { limit: 100, period: 'DAY' },
      apiStages: [STAGE],
    });
    const other = await client.send(new CreateUsagePlanCommand({ name: 'no-stages' }));
    emulator.addStage({ apiId: 'second', stage: 'prod' });
    const updated = await client.send(
      new UpdateUsagePlanCommand({
        usagePlanId: other.id,
        patchOperations: [
          { op: 'add', path: '/apiStages', value: 'second:prod' },
          { op: 'replace', path: '/throttle/rateLimit', value: '2' },
          { op: 'replace', path: '/throttle/burstLimit', value: '4' },
          { op: 'replace', path: '/quota/limit', value: '20' },
          { op: 'replace', path: '/quota/period', value: 'WEEK' },
        ],
      }),
    );
    expect(updated).toMatchObject({
      apiStages: [{ apiId: 'second', stage: 'prod' }],
      throttle: { rateLimit: 2, burstLimit: 4 },
      quota: { limit: 20, period: 'WEEK' },
    });
    await expect(
      client.send(
        new UpdateUsagePlanCommand({
          usagePlanId: other.id,
          patchOperations: [{ op: 'add', path: '/apiStages', value: 'second:prod' }],
        }),
      ),
    ).rejects.toBeInstanceOf(ConflictException);
    await client.send(
      new UpdateUsagePlanCommand({
        usagePlanId: other.id,
        patchOperations: [{ op: 'remove', path: '/apiStages', value: 'second:prod' }],
      }),
    );
    expect((await client.send(new GetUsagePlanCommand({ usagePlanId: other.id }))).apiStages).toEqual([]);

    const key = await client.send(new CreateApiKeyCommand({ name: 'k', value: 'usage-tok_in_a_plan_000' }));
    await client.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );
    const all = await client.send(new GetUsagePlansCommand({}));
    expect(all.items?.map((item) => item.name)).toEqual(['access-tokens-local-type-standard', 'no-stages']);
    const ofKey = await client.send(new GetUsagePlansCommand({ keyId: key.id }));
    expect(ofKey.items?.map((item) => item.id)).toEqual([plan.id]);

    // API Gateway refuses to delete a plan that is still on a stage.
    await expect(client.send(new DeleteUsagePlanCommand({ usagePlanId: plan.id }))).rejects.toBeInstanceOf(
      BadRequestException,
    );
    await client.send(new DeleteUsagePlanCommand({ usagePlanId: other.id }));
    expect((await client.send(new GetUsagePlansCommand({}))).items).toHaveLength(1);
  });

  it('adds, lists and removes plan keys; a duplicate, or a second plan on the same stage, is a conflict', async () => {
    const plan = await createPlan('type-a');
    const second = await createPlan('type-b');
    const key = await client.send(new CreateApiKeyCommand({ name: 'k', value: 'usage-tok_plan_keys_000' }));
    const added = await client.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );
    expect(added).toMatchObject({ id: key.id, type: 'API_KEY', value: 'usage-tok_plan_keys_000', name: 'k' });
    await expect(
      client.send(new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' })),
    ).rejects.toBeInstanceOf(ConflictException);
    await expect(
      client.send(
        new CreateUsagePlanKeyCommand({ usagePlanId: second.id, keyId: key.id, keyType: 'API_KEY' }),
      ),
    ).rejects.toBeInstanceOf(ConflictException);
    const keys = await client.send(new GetUsagePlanKeysCommand({ usagePlanId: plan.id }));
    expect(keys.items?.map((item) => item.id)).toEqual([key.id]);
    await client.send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id }));
    await expect(
      client.send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id })),
    ).rejects.toBeInstanceOf(NotFoundException);
    expect((await client.send(new GetUsagePlanKeysCommand({ usagePlanId: plan.id }))).items).toEqual([]);
  });

  it('GetUsage returns the counts of the requests let through, per day, with the quota remaining', async () => {
    const plan = await createPlan('type-q', 100, 100, 20);
    const key = await client.send(
      new CreateApiKeyCommand({ name: 'k', value: 'usage-tok_usage_count_0', enabled: true }),
    );
    await client.send(
      new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }),
    );
    for (let index = 0; index < 3; index += 1)
      expect(emulator.admit(STAGE, 'usage-tok_usage_count_0').kind).toBe('allowed');
    clock.advance(86_400_000);
    for (let index = 0; index < 2; index += 1)
      expect(emulator.admit(STAGE, 'usage-tok_usage_count_0').kind).toBe('allowed');
    const usage = await client.send(
      new GetUsageCommand({
        usagePlanId: plan.id,
        keyId: key.id,
        startDate: '2026-11-30',
        endDate: '2026-12-01',
      }),
    );
    expect(usage.items).toEqual({
      [String(key.id)]: [
        [3, 17],
        [2, 18],
      ],
    });
    await expect(
      client.send(
        new GetUsageCommand({ usagePlanId: plan.id, startDate: '2026-12-01', endDate: '2026-11-30' }),
      ),
    ).rejects.toBeInstanceOf(BadRequestException);
  });

  it('serves ApiGatewayUsagePlans (the one adapter, deployed and local): plans, keys, usage', async () => {
    await createPlan('access-tokens-local-type-standard', 50, 100, 1000);
    const adapter = new ApiGatewayUsagePlans(client, { planPrefix: 'access-tokens-local' });
    const limits = {
      rateLimit: { requestsPerSecond: 5, burst: 5 },
      quota: { limit: 20, period: 'DAY' as const },
    };
    const typePlan = await adapter.ensurePlan('type-standard', limits);
    const overridePlan = await adapter.ensurePlan('limit-r5-b5-q20-day', limits);
    expect(overridePlan).not.toBe(typePlan);
    await adapter.assignKey('usage-tok_adapter_000001', 'tok_adapter_000001', typePlan);
    await adapter.assignKey('usage-tok_adapter_000001', 'tok_adapter_000001', overridePlan);
    await adapter.assignKey('usage-tok_adapter_000001', 'tok_adapter_000001', overridePlan);
    for (let index = 0; index < 5; index += 1) emulator.admit(STAGE, 'usage-tok_adapter_000001');
    expect(emulator.admit(STAGE, 'usage-tok_adapter_000001')).toEqual({
      kind: 'throttled',
      retryAfterSeconds: 1,
    });
    const usage = await adapter.quotaUsage('usage-tok_adapter_000001', limits, new Date(clock.wall));
    expect(usage).toMatchObject({ used: 5, limit: 20, remaining: 15, period: 'DAY' });
    await adapter.deleteKey('usage-tok_adapter_000001');
    await adapter.deleteKey('usage-tok_adapter_000001');
    expect(emulator.admit(STAGE, 'usage-tok_adapter_000001')).toEqual({ kind: 'keyNotReady' });
  });
});

describe('enforcement (admit)', () => {
  function setup(throttle: { rateLimit: number; burstLimit: number }, quota?: number) {
    const clock = new FakeClock();
    const emulator = new ApiGatewayEmulator({ stages: [STAGE], clock });
    const call = (method: string, path: string, body?: unknown) =>
      JSON.parse(
        emulator.handle({ method, path, query: [], body: body === undefined ? null : JSON.stringify(body) })
          .body || '{}',
      ) as { id: string };
    const plan = call('POST', '/usageplans', {
      name: 'p',
      throttle,
      apiStages: [STAGE],
      ...(quota === undefined ? {} : { quota: { limit: quota, period: 'DAY' } }),
    });
    const key = call('POST', '/apikeys', { name: 'k', value: 'usage-tok_enforced_0001', enabled: true });
    call('POST', `/usageplans/${plan.id}/keys`, { keyId: key.id, keyType: 'API_KEY' });
    return { clock, emulator, admit: () => emulator.admit(STAGE, 'usage-tok_enforced_0001') };
  }

  it('a bucket of `burst` refilled at the rate: 5 of 50 at once, the next after 1/rate seconds', () => {
    const { clock, admit } = setup({ rateLimit: 5, burstLimit: 5 });
    const kinds = Array.from({ length: 50 }, () => admit().kind);
    expect(kinds.filter((kind) => kind === 'allowed')).toHaveLength(5);
    expect(admit()).toEqual({ kind: 'throttled', retryAfterSeconds: 1 });
    clock.advance(199);
    expect(admit().kind).toBe('throttled');
    clock.advance(1);
    expect(admit().kind).toBe('allowed');
    clock.advance(1_000);
    expect(Array.from({ length: 6 }, () => admit().kind).filter((kind) => kind === 'allowed')).toHaveLength(
      5,
    );
  });

  it('Retry-After is the whole seconds until a token is back, at least 1', () => {
    const { admit } = setup({ rateLimit: 0.25, burstLimit: 1 });
    expect(admit().kind).toBe('allowed');
    expect(admit()).toEqual({ kind: 'throttled', retryAfterSeconds: 4 });
  });

  it('the quota: the 21st call of the day is refused until midnight UTC, then counts start again', () => {
    const { clock, admit } = setup({ rateLimit: 1000, burstLimit: 1000 }, 20);
    expect(Array.from({ length: 20 }, () => admit().kind)).toEqual(Array(20).fill('allowed'));
    // 10:00 UTC: 14 hours to the next day.
    expect(admit()).toEqual({ kind: 'quotaExceeded', retryAfterSeconds: 14 * 3600 });
    clock.advance(14 * 3600 * 1000);
    expect(admit().kind).toBe('allowed');
  });

  it('a missing, disabled or plan-less key, or a stage no plan covers, is not ready', () => {
    const { emulator, admit } = setup({ rateLimit: 5, burstLimit: 5 });
    expect(admit().kind).toBe('allowed');
    expect(emulator.admit({ apiId: 'demo', stage: 'other' }, 'usage-tok_enforced_0001')).toEqual({
      kind: 'keyNotReady',
    });
    expect(emulator.admit(STAGE, 'usage-tok_unknown_00001')).toEqual({ kind: 'keyNotReady' });
    const disabled = JSON.parse(
      emulator.handle({
        method: 'POST',
        path: '/apikeys',
        query: [],
        body: JSON.stringify({ value: 'usage-tok_disabled_0001' }),
      }).body,
    ) as { enabled: boolean };
    expect(disabled.enabled).toBe(false);
    expect(emulator.admit(STAGE, 'usage-tok_disabled_0001')).toEqual({ kind: 'keyNotReady' });
  });

  it('answers an operation it does not serve with a NotFoundException', () => {
    const response = new ApiGatewayEmulator().handle({
      method: 'GET',
      path: '/restapis',
      query: [],
      body: null,
    });
    expect(response.statusCode).toBe(404);
    expect(response.headers['x-amzn-errortype']).toBe('NotFoundException');
  });
});
