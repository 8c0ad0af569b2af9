import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiGatewayUsagePlans } from '../../lambdas/adapters/api-gateway-usage-plans.js';
import { DEFAULT_POLICY_SETTINGS } from '../../lambdas/contract/policy-settings.js';
import type { TokenRecord } from '../../lambdas/core/model.js';
import { usageKeyValue } from '../../lambdas/core/rate-limits.js';
import { syncUsageKey } from '../../lambdas/core/usage-keys/sync-usage-key.js';
import { createStreamUsageKeys } from '../../lambdas/usage-keys/stream-usage-keys.js';
import { FakeApiGateway, seededRandom } from '../support/fake-api-gateway.js';
import {
  batch,
  changed,
  insertOf,
  issueToken,
  modifyOf,
  revoked,
  ttlDeletion,
} from '../unit/notifications/support.js';

// The usage-key stream consumer end to end against a model of API Gateway's keys and plans with its
// real error shapes (test/support/fake-api-gateway.ts): every token's key created, moved and deleted
// exactly once in effect under redelivery, throttling (TooManyRequestsException), lost responses,
// concurrent processing of one token's change, two containers creating the same override plan, and a
// create route's synchronous sync racing the token's revocation. Delivery follows Lambda's rules for
// a shard: the batch again from the first reported record, until nothing is reported.

const PREFIX = 'atk-test';
const STAGES = ['api1:prod', 'api2:v1'];
const SETTINGS = { tokenTypes: DEFAULT_POLICY_SETTINGS.tokenTypes };
const SEEDS = Array.from({ length: 25 }, (_, index) => index + 1);
const OVERRIDE = { rateLimit: { requestsPerSecond: 5, burst: 10 }, quota: null };
const OVERRIDE_PLAN = `${PREFIX}-limit-r5-b10-qnone`;
const silent = { info() {}, warn() {}, error() {} };

describe('usage-key consumer (API Gateway model)', () => {
  const api = mockClient(APIGatewayClient);
  let fake: FakeApiGateway;
  let random: () => number;

  const adapter = () =>
    new ApiGatewayUsagePlans(new APIGatewayClient({ region: 'eu-west-1' }), {
      planPrefix: PREFIX,
      sleep: async () => {},
      random,
    });
  const consumer = (plans = adapter()) =>
    createStreamUsageKeys({ plans, settings: SETTINGS, logger: silent });

  /** Lambda's delivery: the batch, then again from the first reported record, until none is. */
  async function deliver(handle: ReturnType<typeof consumer>, records: DynamoDBRecord[]) {
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 500)
        throw new Error(`records never succeeded; calls: ${fake.calls.slice(-12).join(', ')}`);
      const { batchItemFailures } = await handle(batch(...pending));
      const first = batchItemFailures[0]?.itemIdentifier;
      pending =
        first === undefined
          ? []
          : pending.slice(pending.findIndex((r) => r.dynamodb?.SequenceNumber === first));
    }
  }

  function start(seed: number) {
    random = seededRandom(seed);
    fake = new FakeApiGateway(seededRandom(seed * 7919));
    fake.install(api);
    fake.addTypePlan(`${PREFIX}-type-standard`, STAGES);
    fake.addTypePlan(`${PREFIX}-type-restricted`, STAGES, { rateLimit: 10, burstLimit: 20 });
  }

  /** The token's key: exactly one, in exactly this plan (or none at all). */
  function expectKey(token: TokenRecord, plan: string | null) {
    const value = usageKeyValue(token.id);
    expect(fake.keysWithValue(value)).toHaveLength(plan === null ? 0 : 1);
    expect(fake.plansOfValue(value)).toEqual(plan === null ? [] : [plan]);
  }

  function expectNoDuplicatePlans() {
    const names = [...fake.plans.values()].map((plan) => plan.name);
    expect(names.length).toBe(new Set(names).size);
  }

  beforeEach(() => {
    api.reset();
    start(1);
  });
  afterEach(() => api.reset());

  it("follows a token's life: type plan, override plan, same key across rotation, gone when revoked", async () => {
    const handle = consumer();
    const { token } = issueToken();
    await deliver(handle, [insertOf(token)]);
    expectKey(token, `${PREFIX}-type-standard`);
    const keyId = fake.keysWithValue(usageKeyValue(token.id))[0]?.id;

    const limited = { ...changed(token, { action: 'updated' }), limits: OVERRIDE, version: 2 };
    await deliver(handle, [modifyOf(token, limited)]);
    expectKey(limited, OVERRIDE_PLAN);
    const plan = fake.plansNamed(OVERRIDE_PLAN)[0];
    expect(plan?.throttle).toEqual({ rateLimit: 5, burstLimit: 10 });
    expect(plan?.quota).toBeUndefined();
    expect([...(plan?.stages ?? [])].sort()).toEqual(STAGES);
    // The same key moved: a rotation or a move never resets the quota's count.
    expect(fake.keysWithValue(usageKeyValue(token.id))[0]?.id).toBe(keyId);

    // The authorizer's lastUsedAt write costs no API Gateway call; a rotation (a new version) checks
    // the key again and changes nothing.
    const used = { ...limited, lastUsedAt: new Date().toISOString() };
    const callsBefore = fake.calls.length;
    await deliver(handle, [modifyOf(limited, used)]);
    expect(fake.calls.length).toBe(callsBefore);
    const rotated = { ...changed(used, { action: 'rotated' }), secretHash: 'new-hash', version: 3 };
    await deliver(handle, [modifyOf(used, rotated)]);
    expect(fake.calls.slice(callsBefore).filter((call) => !call.startsWith('Get'))).toEqual([]);
    expectKey(rotated, OVERRIDE_PLAN);
    expect(fake.keysWithValue(usageKeyValue(token.id))[0]?.id).toBe(keyId);

    const gone = revoked(rotated);
    await deliver(handle, [modifyOf(rotated, gone), ttlDeletion(gone)]);
    expectKey(gone, null);
    expect(fake.keys.size).toBe(0);
  });

  it('creates the key of a token made before usage keys existed at its next edit or rotation', async () => {
    const handle = consumer();
    const { token } = issueToken();
    const rotated = { ...changed(token, { action: 'rotated' }), version: token.version + 1 };
    await expect(handle(batch(modifyOf(token, rotated)))).resolves.toEqual({ batchItemFailures: [] });
    expectKey(rotated, `${PREFIX}-type-standard`);
  });

  it('deletes the key of a token that expires (TTL deletion of an active token)', async () => {
    const handle = consumer();
    const { token } = issueToken({ type: 'restricted', allowedIps: ['198.51.100.0/24'] });
    await deliver(handle, [insertOf(token)]);
    expectKey(token, `${PREFIX}-type-restricted`);
    await deliver(handle, [ttlDeletion(token)]);
    expectKey(token, null);
  });

  it('does everything once in effect when records are redelivered and the stream is replayed', async () => {
    const handle = consumer();
    const { token: a } = issueToken();
    const { token: b } = issueToken();
    const aLimited = { ...changed(a, { action: 'updated' }), limits: OVERRIDE, version: 2 };
    const bGone = revoked(b);
    const records = [insertOf(a), insertOf(b), modifyOf(a, aLimited), modifyOf(b, bGone)];
    // Every record twice in a row (a retried batch), then the whole stream again (a replay).
    await deliver(
      handle,
      records.flatMap((record) => [record, record]),
    );
    const keyOfA = fake.keysWithValue(usageKeyValue(a.id))[0]?.id;
    await deliver(handle, records);
    expectKey(aLimited, OVERRIDE_PLAN);
    expectKey(bGone, null);
    expect(fake.keys.size).toBe(1);
    expect(fake.keysWithValue(usageKeyValue(a.id))[0]?.id).toBe(keyOfA);
    expectNoDuplicatePlans();
  });

  it.each(SEEDS)('converges under throttling and lost responses (seed %i)', async (seed) => {
    start(seed);
    fake.faults = { throttle: 0.3, lostResponse: 0.15 };
    const handle = consumer();
    const { token: a } = issueToken();
    const { token: b } = issueToken({ limits: OVERRIDE });
    const { token: c } = issueToken();
    const aMoved = { ...changed(a, { action: 'updated' }), limits: OVERRIDE, version: 2 };
    const cGone = revoked(c);
    await deliver(handle, [
      insertOf(a),
      insertOf(b),
      insertOf(c),
      modifyOf(a, aMoved),
      modifyOf(c, cGone),
      ttlDeletion(cGone),
    ]);
    expectKey(aMoved, OVERRIDE_PLAN);
    expectKey(b, OVERRIDE_PLAN);
    expectKey(cGone, null);
    expect(fake.keys.size).toBe(2);
    expectNoDuplicatePlans();
    expect(fake.calls).toContain('CreateApiKey');
  });

  it.each(SEEDS)('creates one key when the same change is synced twice at once (seed %i)', async (seed) => {
    start(seed);
    fake.faults = { throttle: 0.2 };
    const { token } = issueToken({ limits: OVERRIDE });
    const record = insertOf(token);
    // The create route's synchronous sync and the stream consumer, in two containers.
    await Promise.all([deliver(consumer(), [record]), deliver(consumer(), [record])]);
    expectKey(token, OVERRIDE_PLAN);
    expectNoDuplicatePlans();
  });

  it.each(SEEDS)(
    'settles on one plan when two containers create the same override class (seed %i)',
    async (seed) => {
      start(seed);
      const tokens = [0, 1, 2].map(() => issueToken({ limits: OVERRIDE }).token);
      await Promise.all(tokens.map((token) => deliver(consumer(), [insertOf(token)])));
      expect(fake.plansNamed(OVERRIDE_PLAN)).toHaveLength(1);
      for (const token of tokens) expectKey(token, OVERRIDE_PLAN);
      expect([...(fake.plansNamed(OVERRIDE_PLAN)[0]?.stages ?? [])].sort()).toEqual(STAGES);
    },
  );

  /**
   * The create route syncs right after its write while the token is revoked meanwhile: the stream
   * consumer applies the INSERT, then the revocation once it is written; the route's sync runs
   * alongside, reading the token again after assigning (readToken).
   */
  async function createRacingRevoke(seed: number, withReread: boolean) {
    start(seed);
    const { token } = issueToken();
    const gone = revoked(token);
    let current: TokenRecord = token;
    const timing = seededRandom(seed * 31);
    const ticks = async (count: number) => {
      for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
    };
    const revocation = (async () => {
      await ticks(Math.floor(timing() * 60));
      current = gone;
    })();
    const stream = (async () => {
      const handle = consumer();
      await deliver(handle, [insertOf(token)]);
      await revocation;
      await deliver(handle, [modifyOf(token, gone)]);
    })();
    // The route's sync may start late (a slow container) and may fail (a key deleted under it): it
    // is best effort, the route logs the failure and answers anyway.
    const route = (async () => {
      await ticks(Math.floor(timing() * 60));
      await syncUsageKey(
        {
          plans: adapter(),
          settings: SETTINGS,
          ...(withReread ? { readToken: async () => current } : {}),
        },
        { before: undefined, after: token },
      );
    })().catch(() => 'failed, logged by the route');
    await Promise.all([stream, route, revocation]);
    return fake.keysWithValue(usageKeyValue(token.id)).length;
  }

  it.each(SEEDS)('leaves no key when a create races the revocation (seed %i)', async (seed) => {
    await expect(createRacingRevoke(seed, true)).resolves.toBe(0);
  });

  it('would leave a key behind in some interleaving without the re-read (why readToken exists)', async () => {
    const leftovers = [];
    for (const seed of SEEDS) leftovers.push(await createRacingRevoke(seed, false));
    expect(leftovers.some((count) => count > 0)).toBe(true);
  });
});
