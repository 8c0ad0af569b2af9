import {
  APIGatewayClient,
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlansCommand,
  LimitExceededException,
  NotFoundException,
  TooManyRequestsException,
  UpdateUsagePlanCommand,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ApiGatewayUsagePlans,
  type ApiGatewayUsagePlansOptions,
  UsagePlanError,
} from '../../../lambdas/adapters/api-gateway-usage-plans.js';
import type { TokenLimits } from '../../../lambdas/core/rate-limits.js';

// Every API Gateway call site of the usage-plan adapter against a mocked client, with the error
// shapes the client package really throws: what it sends, what it treats as "already done", what
// it retries (throttling, with bounded backoff) and what it throws so the stream record is retried.

const PREFIX = 'access-tokens-prod';
const LIMITS: TokenLimits = {
  rateLimit: { requestsPerSecond: 5, burst: 10 },
  quota: { limit: 100, period: 'DAY' },
};
const KEY = 'usage-tok_0123456789abcdef';

const conflict = (message = 'Conflict') =>
  new ConflictException({ message, $metadata: { httpStatusCode: 409 } });
const notFound = (message = 'Invalid API Key identifier specified') =>
  new NotFoundException({ message, $metadata: { httpStatusCode: 404 } });
const throttled = (retryAfterSeconds?: string) =>
  new TooManyRequestsException({
    message: 'Too Many Requests',
    retryAfterSeconds,
    $metadata: { httpStatusCode: 429 },
  });
const badRequest = (message: string) =>
  new BadRequestException({ message, $metadata: { httpStatusCode: 400 } });

const typePlan = (type: string, id: string, stages: string[] = ['api1:prod']): UsagePlan => ({
  id,
  name: `${PREFIX}-type-${type}`,
  apiStages: stages.map((stage) => {
    const [apiId, name] = stage.split(':');
    return { apiId, stage: name };
  }),
});

describe('ApiGatewayUsagePlans', () => {
  const api = mockClient(APIGatewayClient);
  let sleeps: number[];
  let clock: number;

  const adapter = (options: Partial<ApiGatewayUsagePlansOptions> = {}) =>
    new ApiGatewayUsagePlans(new APIGatewayClient({ region: 'eu-west-1' }), {
      planPrefix: PREFIX,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 1,
      now: () => clock,
      ...options,
    });
  const calls = (command: Parameters<typeof api.commandCalls>[0]) =>
    api.commandCalls(command).map((c) => c.args[0].input);

  beforeEach(() => {
    api.reset();
    sleeps = [];
    clock = 1_000_000;
  });

  describe('ensurePlan', () => {
    it("finds a type's plan by its name across pages, and remembers it until the cache ends", async () => {
      api
        .on(GetUsagePlansCommand, { position: undefined })
        .resolves({ items: [{ id: 'other', name: 'someone-else-type-standard' }], position: 'p2' })
        .on(GetUsagePlansCommand, { position: 'p2' })
        .resolves({ items: [typePlan('standard', 'plan1')] });
      const plans = adapter({ planCacheMs: 60_000 });

      await expect(plans.ensurePlan('type-standard', LIMITS)).resolves.toBe('plan1');
      await expect(plans.ensurePlan('type-standard', LIMITS)).resolves.toBe('plan1');
      expect(calls(GetUsagePlansCommand)).toHaveLength(2);

      clock += 60_001;
      await expect(plans.ensurePlan('type-standard', LIMITS)).resolves.toBe('plan1');
      expect(calls(GetUsagePlansCommand)).toHaveLength(4);
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
    });

    it("never creates a type's plan: a missing one is a deployment error", async () => {
      api.on(GetUsagePlansCommand).resolves({ items: [] });
      await expect(adapter().ensurePlan('type-standard', LIMITS)).rejects.toThrow(UsagePlanError);
      await expect(adapter().ensurePlan('type-standard', LIMITS)).rejects.toThrow(
        `Usage plan ${PREFIX}-type-standard does not exist`,
      );
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
    });

    const OVERRIDE_NAME = `${PREFIX}-limit-r5-b10-q100-day`;
    const LOCK = `plan-lock-${OVERRIDE_NAME}`;

    it("creates an override class's plan with its limits on the type plans' stages, under a lock key", async () => {
      const created: UsagePlan = {
        id: 'newplan',
        name: OVERRIDE_NAME,
        apiStages: [
          { apiId: 'api1', stage: 'prod' },
          { apiId: 'api2', stage: 'v1' },
        ],
      };
      api
        .on(GetUsagePlansCommand)
        .resolves({
          items: [typePlan('standard', 'p1', ['api1:prod']), typePlan('batch', 'p2', ['api2:v1'])],
        })
        .on(CreateApiKeyCommand)
        .resolves({ id: 'lock1', name: LOCK, value: LOCK, enabled: false })
        .on(CreateUsagePlanCommand)
        .resolves(created)
        .on(DeleteApiKeyCommand)
        .resolves({});

      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('newplan');
      expect(calls(CreateApiKeyCommand)).toEqual([
        expect.objectContaining({ name: LOCK, value: LOCK, enabled: false }),
      ]);
      expect(calls(CreateUsagePlanCommand)).toEqual([
        expect.objectContaining({
          name: OVERRIDE_NAME,
          throttle: { rateLimit: 5, burstLimit: 10 },
          quota: { limit: 100, period: 'DAY' },
          apiStages: [
            { apiId: 'api1', stage: 'prod' },
            { apiId: 'api2', stage: 'v1' },
          ],
        }),
      ]);
      // Listed again once it holds the lock (another holder may have created the plan meanwhile).
      expect(calls(GetUsagePlansCommand)).toHaveLength(2);
      expect(calls(DeleteApiKeyCommand)).toEqual([{ apiKey: 'lock1' }]);
      const order = api.calls().map((call) => call.args[0].constructor.name);
      expect(order.indexOf('DeleteApiKeyCommand')).toBeGreaterThan(order.indexOf('CreateUsagePlanCommand'));
      expect(api.commandCalls(UpdateUsagePlanCommand)).toHaveLength(0);
    });

    it('creates a plan without a quota for a class without one', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1', [])] })
        .on(CreateApiKeyCommand)
        .resolves({ id: 'lock1' })
        .on(CreateUsagePlanCommand)
        .resolves({ id: 'q0', name: `${PREFIX}-limit-r5-b10-qnone`, apiStages: [] })
        .on(DeleteApiKeyCommand)
        .resolves({});
      await expect(adapter().ensurePlan('limit-r5-b10-qnone', { ...LIMITS, quota: null })).resolves.toBe(
        'q0',
      );
      expect(calls(CreateUsagePlanCommand)[0]?.quota).toBeUndefined();
    });

    it('creates nothing when the plan appeared between its listing and taking the lock', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolvesOnce({ items: [typePlan('standard', 'p1')] })
        .resolves({
          items: [typePlan('standard', 'p1'), { ...typePlan('x', 'theirs'), name: OVERRIDE_NAME }],
        })
        .on(CreateApiKeyCommand)
        .resolves({ id: 'lock1' })
        .on(DeleteApiKeyCommand)
        .resolves({});
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('theirs');
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
      expect(calls(DeleteApiKeyCommand)).toEqual([{ apiKey: 'lock1' }]);
    });

    it("waits for the lock holder's plan (CreateApiKey ConflictException) instead of creating a second", async () => {
      api
        .on(GetUsagePlansCommand)
        .resolvesOnce({ items: [typePlan('standard', 'p1')] })
        .resolvesOnce({ items: [typePlan('standard', 'p1')] })
        .resolves({
          items: [typePlan('standard', 'p1'), { ...typePlan('x', 'theirs'), name: OVERRIDE_NAME }],
        })
        .on(CreateApiKeyCommand)
        .rejects(conflict('API Key already exists'))
        .on(GetApiKeysCommand)
        .resolves({
          items: [{ id: 'lockX', name: LOCK, value: LOCK, createdDate: new Date(clock - 1_000) }],
        });
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('theirs');
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
      expect(api.commandCalls(DeleteApiKeyCommand)).toHaveLength(0);
      expect(api.commandCalls(CreateApiKeyCommand)).toHaveLength(2);
      expect(sleeps).toEqual([200, 400]);
    });

    it('deletes a lock whose holder died (older than 2 minutes), then takes it', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1')] })
        .on(CreateApiKeyCommand)
        .rejectsOnce(conflict('API Key already exists'))
        .resolves({ id: 'lock-mine' })
        .on(GetApiKeysCommand)
        .resolves({
          items: [{ id: 'lock-dead', name: LOCK, value: LOCK, createdDate: new Date(clock - 120_001) }],
        })
        .on(DeleteApiKeyCommand)
        .resolves({})
        .on(CreateUsagePlanCommand)
        .resolves({ id: 'newplan', name: OVERRIDE_NAME, apiStages: [{ apiId: 'api1', stage: 'prod' }] });
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('newplan');
      expect(calls(DeleteApiKeyCommand)).toEqual([{ apiKey: 'lock-dead' }, { apiKey: 'lock-mine' }]);
    });

    it('gives up after its attempts while another container holds a live lock (the record is retried)', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1')] })
        .on(CreateApiKeyCommand)
        .rejects(conflict('API Key already exists'))
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'lockX', name: LOCK, value: LOCK, createdDate: new Date(clock) }] });
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).rejects.toThrow(
        `Usage plan ${OVERRIDE_NAME} is being created by another container`,
      );
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
      expect(api.commandCalls(DeleteApiKeyCommand)).toHaveLength(0);
      expect(Math.max(...sleeps)).toBeLessThanOrEqual(5_000);
    });

    it('releases the lock when CreateUsagePlan fails (e.g. the 300-plan limit), and throws at once', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1')] })
        .on(CreateApiKeyCommand)
        .resolves({ id: 'lock1' })
        .on(CreateUsagePlanCommand)
        .rejects(new LimitExceededException({ message: 'Usage plans limit exceeded', $metadata: {} }))
        .on(DeleteApiKeyCommand)
        .resolves({});
      await expect(adapter().ensurePlan('limit-a', LIMITS)).rejects.toBeInstanceOf(LimitExceededException);
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(1);
      expect(calls(DeleteApiKeyCommand)).toEqual([{ apiKey: 'lock1' }]);
      expect(sleeps).toEqual([]);
    });

    it('settles on the oldest plan of a name when duplicates exist (made by hand or a broken lock)', async () => {
      const name = `${PREFIX}-limit-r5-b10-q100-day`;
      api.on(GetUsagePlansCommand).resolves({
        items: [
          typePlan('standard', 'p1'),
          {
            ...typePlan('x', 'aaa000'),
            name,
            description: 'created 2026-11-30T10:00:00.900Z by the usage-key consumer',
          },
          {
            ...typePlan('x', 'zzz999'),
            name,
            description: 'created 2026-11-30T10:00:00.100Z by the usage-key consumer',
          },
        ],
      });
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('zzz999');
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
    });

    it('adds the stages added to the type plans since to an existing override plan, and only those', async () => {
      const existing: UsagePlan = {
        id: 'ov1',
        name: `${PREFIX}-limit-r5-b10-q100-day`,
        apiStages: [{ apiId: 'api1', stage: 'prod' }],
      };
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1', ['api1:prod', 'api3:beta']), existing] })
        .on(UpdateUsagePlanCommand)
        .resolves({});
      await expect(adapter().ensurePlan('limit-r5-b10-q100-day', LIMITS)).resolves.toBe('ov1');
      expect(calls(UpdateUsagePlanCommand)).toEqual([
        { usagePlanId: 'ov1', patchOperations: [{ op: 'add', path: '/apiStages', value: 'api3:beta' }] },
      ]);
      expect(api.commandCalls(CreateUsagePlanCommand)).toHaveLength(0);
    });

    it('calls no UpdateUsagePlan when the override plan has every stage already', async () => {
      api.on(GetUsagePlansCommand).resolves({
        items: [
          typePlan('standard', 'p1'),
          { ...typePlan('x', 'ov1'), name: `${PREFIX}-limit-r5-b10-qnone` },
        ],
      });
      await expect(adapter().ensurePlan('limit-r5-b10-qnone', LIMITS)).resolves.toBe('ov1');
      expect(api.commandCalls(UpdateUsagePlanCommand)).toHaveLength(0);
    });

    it('waits out UpdateUsagePlan throttling (1 call per 20 s) with growing, bounded pauses', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({
          items: [
            typePlan('standard', 'p1', ['api1:prod', 'api3:beta']),
            { id: 'ov1', name: `${PREFIX}-limit-a` },
          ],
        })
        .on(UpdateUsagePlanCommand)
        .rejectsOnce(throttled())
        .rejectsOnce(throttled('20'))
        .resolves({});
      await expect(adapter().ensurePlan('limit-a', LIMITS)).resolves.toBe('ov1');
      expect(api.commandCalls(UpdateUsagePlanCommand)).toHaveLength(3);
      // Full jitter (random = 1 here: the ceiling): 5 s, then the service's Retry-After of 20 s.
      expect(sleeps).toEqual([5_000, 20_000]);
    });

    it('throws the throttling error after its attempts, so the stream record is retried later', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1'), { id: 'ov1', name: `${PREFIX}-limit-a` }] })
        .on(UpdateUsagePlanCommand)
        .rejects(throttled());
      await expect(adapter().ensurePlan('limit-a', LIMITS)).rejects.toBeInstanceOf(TooManyRequestsException);
      expect(api.commandCalls(UpdateUsagePlanCommand)).toHaveLength(4);
      expect(sleeps).toEqual([5_000, 10_000, 20_000]);
    });

    it('treats a stage added meanwhile by another container (ConflictException) as done', async () => {
      api
        .on(GetUsagePlansCommand)
        .resolves({ items: [typePlan('standard', 'p1'), { id: 'ov1', name: `${PREFIX}-limit-a` }] })
        .on(UpdateUsagePlanCommand)
        .rejects(conflict('Usage Plan ov1 already contains api1:prod'));
      await expect(adapter().ensurePlan('limit-a', LIMITS)).resolves.toBe('ov1');
    });
  });

  describe('assignKey', () => {
    it('creates the key (name = value = the usage key value, enabled) and puts it in the plan', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [] })
        .on(CreateApiKeyCommand)
        .resolves({ id: 'k1', name: KEY, value: KEY, enabled: true })
        .on(GetUsagePlansCommand, { keyId: 'k1' })
        .resolves({ items: [] })
        .on(CreateUsagePlanKeyCommand)
        .resolves({ id: 'k1' });

      await adapter().assignKey(KEY, 'tok_1', 'plan1');
      expect(calls(GetApiKeysCommand)).toEqual([
        { nameQuery: KEY, includeValues: true, limit: 500, position: undefined },
      ]);
      expect(calls(CreateApiKeyCommand)).toEqual([
        expect.objectContaining({ name: KEY, value: KEY, enabled: true }),
      ]);
      expect(calls(CreateUsagePlanKeyCommand)).toEqual([
        { usagePlanId: 'plan1', keyId: 'k1', keyType: 'API_KEY' },
      ]);
    });

    it('uses the key a concurrent sync created (CreateApiKey ConflictException): no second key', async () => {
      api
        .on(GetApiKeysCommand)
        .resolvesOnce({ items: [] })
        .resolves({ items: [{ id: 'k-theirs', name: KEY, value: KEY }] })
        .on(CreateApiKeyCommand)
        .rejects(conflict('API Key already exists'))
        .on(GetUsagePlansCommand)
        .resolves({ items: [] })
        .on(CreateUsagePlanKeyCommand)
        .resolves({});
      await adapter().assignKey(KEY, 'tok_1', 'plan1');
      expect(calls(CreateUsagePlanKeyCommand)).toEqual([
        { usagePlanId: 'plan1', keyId: 'k-theirs', keyType: 'API_KEY' },
      ]);
    });

    it('keeps only the exact key of a nameQuery prefix match', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({
          items: [
            { id: 'longer', name: `${KEY}0`, value: `${KEY}0` },
            { id: 'exact', name: KEY, value: KEY },
          ],
        })
        .on(GetUsagePlansCommand)
        .resolves({ items: [] })
        .on(CreateUsagePlanKeyCommand)
        .resolves({});
      await adapter().assignKey(KEY, 'tok_1', 'plan1');
      expect(api.commandCalls(CreateApiKeyCommand)).toHaveLength(0);
      expect(calls(CreateUsagePlanKeyCommand)[0]?.keyId).toBe('exact');
    });

    it("moves the key: out of this deployment's other plans first, never out of anyone else's", async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand, { keyId: 'k1' })
        .resolves({
          items: [
            { id: 'old', name: `${PREFIX}-type-standard` },
            { id: 'foreign', name: 'another-stack-type-standard' },
          ],
        })
        .on(DeleteUsagePlanKeyCommand)
        .resolves({})
        .on(CreateUsagePlanKeyCommand)
        .resolves({});
      await adapter().assignKey(KEY, 'tok_1', 'new');
      expect(calls(DeleteUsagePlanKeyCommand)).toEqual([{ usagePlanId: 'old', keyId: 'k1' }]);
      expect(calls(CreateUsagePlanKeyCommand)).toEqual([
        { usagePlanId: 'new', keyId: 'k1', keyType: 'API_KEY' },
      ]);
      const order = api.calls().map((call) => call.args[0].constructor.name);
      expect(order.indexOf('DeleteUsagePlanKeyCommand')).toBeLessThan(
        order.indexOf('CreateUsagePlanKeyCommand'),
      );
    });

    it('calls nothing more when the key is in its plan already', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolves({ items: [{ id: 'plan1', name: `${PREFIX}-type-standard` }] });
      await adapter().assignKey(KEY, 'tok_1', 'plan1');
      expect(api.calls()).toHaveLength(2);
    });

    it('takes ConflictException (in the plan already) and NotFoundException (out of it already) as done', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolvesOnce({ items: [{ id: 'old', name: `${PREFIX}-limit-x` }] })
        .resolves({ items: [{ id: 'plan1', name: `${PREFIX}-type-standard` }] })
        .on(DeleteUsagePlanKeyCommand)
        .rejects(notFound('Invalid Usage Plan Key identifier specified'))
        .on(CreateUsagePlanKeyCommand)
        .rejects(conflict('Usage Plan Key already exists'));
      await expect(adapter().assignKey(KEY, 'tok_1', 'plan1')).resolves.toBeUndefined();
      expect(calls(DeleteUsagePlanKeyCommand)).toEqual([{ usagePlanId: 'old', keyId: 'k1' }]);
    });

    it('throws when a ConflictException means the key is still in another plan on the stage (a concurrent move)', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolvesOnce({ items: [] })
        .resolves({ items: [{ id: 'other', name: `${PREFIX}-limit-x` }] })
        .on(CreateUsagePlanKeyCommand)
        .rejects(conflict('API Key k1 is already associated with a usage plan for stage api1:prod'));
      await expect(adapter().assignKey(KEY, 'tok_1', 'plan1')).rejects.toThrow(UsagePlanError);
    });

    it('retries a throttled call with backoff and jitter, within its bound', async () => {
      api
        .on(GetApiKeysCommand)
        .rejectsOnce(throttled())
        .rejectsOnce(throttled())
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolves({ items: [] })
        .on(CreateUsagePlanKeyCommand)
        .resolves({});
      await adapter({ random: () => 0.5 }).assignKey(KEY, 'tok_1', 'plan1');
      expect(sleeps).toEqual([100, 200]);
    });

    it('retries a throttled CreateApiKey (5 calls/s) within its bound; throws other failures (e.g. the 10,000-key limit) at once', async () => {
      api.on(GetApiKeysCommand).resolves({ items: [] }).on(CreateApiKeyCommand).rejects(throttled());
      await expect(adapter().assignKey(KEY, 'tok_1', 'plan1')).rejects.toBeInstanceOf(
        TooManyRequestsException,
      );
      expect(api.commandCalls(CreateApiKeyCommand)).toHaveLength(4);

      api.reset();
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [] })
        .on(CreateApiKeyCommand)
        .rejects(badRequest('API key limit exceeded'));
      await expect(adapter().assignKey(KEY, 'tok_1', 'plan1')).rejects.toBeInstanceOf(BadRequestException);
      expect(api.commandCalls(CreateApiKeyCommand)).toHaveLength(1);
      expect(api.commandCalls(CreateUsagePlanKeyCommand)).toHaveLength(0);
    });

    it('throws CreateUsagePlanKey failures that are not conflicts', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolves({ items: [] })
        .on(CreateUsagePlanKeyCommand)
        .rejects(notFound('Invalid Usage Plan ID specified'));
      await expect(adapter().assignKey(KEY, 'tok_1', 'plan1')).rejects.toBeInstanceOf(NotFoundException);
    });
  });

  describe('deleteKey', () => {
    it('deletes the key with that exact value', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({
          items: [
            { id: 'k1', name: KEY, value: KEY },
            { id: 'k2', name: `${KEY}x`, value: `${KEY}x` },
          ],
        })
        .on(DeleteApiKeyCommand)
        .resolves({});
      await adapter().deleteKey(KEY);
      expect(calls(DeleteApiKeyCommand)).toEqual([{ apiKey: 'k1' }]);
    });

    it('does nothing for a key that does not exist, and takes NotFoundException as deleted', async () => {
      api.on(GetApiKeysCommand).resolves({ items: [] });
      await adapter().deleteKey(KEY);
      expect(api.commandCalls(DeleteApiKeyCommand)).toHaveLength(0);

      api.reset();
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(DeleteApiKeyCommand)
        .rejects(notFound());
      await expect(adapter().deleteKey(KEY)).resolves.toBeUndefined();
    });

    it('retries a throttled delete, then throws', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(DeleteApiKeyCommand)
        .rejects(throttled());
      await expect(adapter().deleteKey(KEY)).rejects.toBeInstanceOf(TooManyRequestsException);
      expect(api.commandCalls(DeleteApiKeyCommand)).toHaveLength(4);
      expect(sleeps).toEqual([200, 400, 800]);
    });
  });

  describe('quotaUsage', () => {
    const now = new Date('2026-11-26T15:00:00Z'); // a Thursday

    it('sums the days of the current period from GetUsage of the plan the key is in', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand, { keyId: 'k1' })
        .resolves({
          items: [
            { id: 'foreign', name: 'x-type-a' },
            { id: 'plan1', name: `${PREFIX}-type-standard` },
          ],
        })
        .on(GetUsageCommand)
        .resolves({
          items: {
            k1: [
              [10, 990],
              [5, 985],
              [7, 978],
              [0, 978],
            ],
          },
        });
      const usage = await adapter().quotaUsage(
        KEY,
        { ...LIMITS, quota: { limit: 1000, period: 'WEEK' } },
        now,
      );
      expect(calls(GetUsageCommand)).toEqual([
        {
          usagePlanId: 'plan1',
          keyId: 'k1',
          startDate: '2026-11-23',
          endDate: '2026-11-26',
          position: undefined,
        },
      ]);
      expect(usage).toEqual({
        used: 22,
        limit: 1000,
        remaining: 978,
        period: 'WEEK',
        periodStart: '2026-11-23T00:00:00.000Z',
        resetsAt: '2026-11-30T00:00:00.000Z',
      });
    });

    it('asks for today only with a daily quota, and never shows a negative remainder', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolves({ items: [{ id: 'plan1', name: `${PREFIX}-limit-x` }] })
        .on(GetUsageCommand)
        .resolves({ items: { k1: [[103, 0]] } });
      const usage = await adapter().quotaUsage(KEY, LIMITS, now);
      expect(calls(GetUsageCommand)[0]).toMatchObject({ startDate: '2026-11-26', endDate: '2026-11-26' });
      expect(usage).toMatchObject({ used: 103, remaining: 0, resetsAt: '2026-11-27T00:00:00.000Z' });
    });

    it('is undefined without a quota (no call), without a key, or with the key in none of our plans', async () => {
      await expect(adapter().quotaUsage(KEY, { ...LIMITS, quota: null }, now)).resolves.toBeUndefined();
      expect(api.calls()).toHaveLength(0);

      api.on(GetApiKeysCommand).resolves({ items: [] });
      await expect(adapter().quotaUsage(KEY, LIMITS, now)).resolves.toBeUndefined();

      api.on(GetApiKeysCommand).resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] });
      api.on(GetUsagePlansCommand).resolves({ items: [] });
      await expect(adapter().quotaUsage(KEY, LIMITS, now)).resolves.toBeUndefined();
      expect(api.commandCalls(GetUsageCommand)).toHaveLength(0);
    });

    it('counts no usage as zero and throws GetUsage failures', async () => {
      api
        .on(GetApiKeysCommand)
        .resolves({ items: [{ id: 'k1', name: KEY, value: KEY }] })
        .on(GetUsagePlansCommand)
        .resolves({ items: [{ id: 'plan1', name: `${PREFIX}-limit-x` }] })
        .on(GetUsageCommand)
        .resolves({ items: {} });
      await expect(adapter().quotaUsage(KEY, LIMITS, now)).resolves.toMatchObject({
        used: 0,
        remaining: 100,
      });

      api.on(GetUsageCommand).rejects(badRequest('Invalid date'));
      await expect(adapter().quotaUsage(KEY, LIMITS, now)).rejects.toBeInstanceOf(BadRequestException);
    });
  });
});
