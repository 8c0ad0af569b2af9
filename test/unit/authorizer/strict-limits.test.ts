import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import type { TokenAuthorizerResult } from '../../../lambdas/token-authorizer/gateway.js';
import {
  captureStdout,
  credentialRecord,
  httpEvent,
  lambdaContext,
  restRequestEvent,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';

// The strict mode of HTTP APIs through the real handler (DynamoDB and KMS mocked; the counters an
// in-memory table behind UpdateItem): what a client of a strict HTTP API sees (403 past a limit)
// and what the decision log says (RATE_LIMITED / QUOTA_EXCEEDED), and that nothing else is counted.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const NOON = Date.UTC(2026, 10, 30, 12, 0, 0);

const POLICY = {
  defaultTokenType: 'standard',
  tokenTypes: {
    standard: { description: 'Five a second.', rateLimit: { requestsPerSecond: 5, burst: 5 } },
    metered: {
      description: 'Twenty a day.',
      rateLimit: { requestsPerSecond: 50, burst: 100 },
      quota: { limit: 20, period: 'DAY' as const },
    },
  },
};

const STRICT = { accessTokensRateLimits: 'strict' };

describe('strict mode of HTTP APIs in the token authorizer', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const kms = mockClient(KMSClient);
  const credentials = new Map<string, Record<string, unknown>>();
  const counters = new Map<string, number>();
  let handler: Handler;
  let logs: StdoutCapture;

  function issue(overrides: Partial<CredentialRecord> = {}): {
    secret: string;
    credential: CredentialRecord;
  } {
    const { secret } = generateToken('atk');
    const credential = credentialRecord({
      secretHash: hashToken(HMAC_KEY, secret),
      tokenId: `tok_${Math.random().toString(36).slice(2, 12)}`,
      expiresAtMs: NOON + 86_400_000,
      ...overrides,
    });
    credentials.set(KEYS.credential(credential.secretHash).pk, credentialToItem(credential));
    return { secret, credential };
  }

  function mockAws(): void {
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
    ddb
      .on(GetCommand)
      .callsFake((input: GetCommandInput) => ({ Item: credentials.get(String(input.Key?.pk)) }));
    ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => {
      const key = String(input.Key?.pk);
      const total = (counters.get(key) ?? 0) + Number(input.ExpressionAttributeValues?.[':delta']);
      counters.set(key, total);
      return { Attributes: { count: total } };
    });
  }

  const invoke = (event: unknown) => handler(event, lambdaContext());
  const strictEvent = (secret: string, stageVariables: Record<string, string> = STRICT) =>
    httpEvent({ authorization: `Bearer ${secret}`, method: 'GET', path: '/content/1', stageVariables });
  const decisions = () => logs.records().filter((record) => record.message === 'token authorizer decision');

  async function send(event: unknown, times: number): Promise<boolean[]> {
    const results: boolean[] = [];
    for (let i = 0; i < times; i++) {
      const result = (await invoke(event)) as { readonly isAuthorized?: unknown };
      results.push(result.isAuthorized === true);
    }
    return results;
  }

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOON);
    mockAws();
    vi.resetModules();
    stubHandlerEnv({ keySource: 'kms', policy: POLICY });
    handler = (await import('../../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
  });

  beforeEach(() => {
    vi.setSystemTime(NOON);
    mockAws();
    logs = captureStdout();
  });

  afterEach(() => {
    logs.restore();
    ddb.reset();
    kms.reset();
  });

  afterAll(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  it('5 req/s, burst 5: 5 of a burst of 50 pass, the rest get a 403 logged as RATE_LIMITED; after a second 200s again', async () => {
    const { secret, credential } = issue();
    const results = await send(strictEvent(secret), 50);
    expect(results.filter(Boolean)).toHaveLength(5);
    expect(results.slice(5).every((authorized) => !authorized)).toBe(true);
    const refused = decisions().filter((line) => line.reason === 'RATE_LIMITED');
    expect(refused).toHaveLength(45);
    expect(refused[0]).toMatchObject({ level: 'WARN', gateway: 'http', tokenId: credential.tokenId });
    // The secret never reaches a line.
    expect(JSON.stringify(logs.records())).not.toContain(secret);
    vi.setSystemTime(NOON + 1_000);
    expect(await send(strictEvent(secret), 1)).toEqual([true]);
  });

  it('a daily quota of 20: the 21st call is refused and logged as QUOTA_EXCEEDED; another token is unaffected', async () => {
    const { secret } = issue({ type: 'metered' });
    const results: boolean[] = [];
    for (let i = 0; i < 21; i++) {
      vi.setSystemTime(NOON + i * 1_000);
      results.push(...(await send(strictEvent(secret), 1)));
    }
    expect(results).toEqual([...Array(20).fill(true), false]);
    expect(decisions().at(-1)?.reason).toBe('QUOTA_EXCEEDED');
    const other = issue({ type: 'metered' });
    expect(await send(strictEvent(other.secret), 1)).toEqual([true]);
  });

  it("a token's own lower limits from its credential apply", async () => {
    const { secret } = issue({ limits: { rateLimit: { requestsPerSecond: 2, burst: 2 }, quota: null } });
    expect(await send(strictEvent(secret), 5)).toEqual([true, true, false, false, false]);
  });

  it('an HTTP API without the stage variable, a REST API with it, and refused tokens are not counted', async () => {
    const { secret } = issue();
    expect((await send(strictEvent(secret, {}), 20)).every(Boolean)).toBe(true);
    const rest = await invoke(
      restRequestEvent({ authorization: `Bearer ${secret}`, stageVariables: STRICT }),
    );
    expect(rest).toHaveProperty('policyDocument');
    expect(await send(strictEvent('Bearer nonsense'), 3)).toEqual([false, false, false]);
    const revoked = issue({ state: 'revoked' });
    expect(await send(strictEvent(revoked.secret), 3)).toEqual([false, false, false]);
    // (lastUsedAt is an UpdateItem too, on the token item.)
    const counted = ddb
      .commandCalls(UpdateCommand)
      .filter((call) => String(call.args[0].input.Key?.pk).startsWith('RATE#'));
    expect(counted).toHaveLength(0);
    expect(decisions().some((line) => line.reason === 'RATE_LIMITED')).toBe(false);
  });

  it('counters that cannot be written: requests are still answered and still limited per container, one warning per interval', async () => {
    ddb.on(UpdateCommand).rejects(
      new ProvisionedThroughputExceededException({
        message: 'exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const { secret } = issue();
    const results = await send(strictEvent(secret), 10);
    expect(results).toEqual([...Array(5).fill(true), ...Array(5).fill(false)]);
    const warnings = logs.records().filter((record) => record.message === 'rate counter not flushed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'WARN', errorName: 'ProvisionedThroughputExceededException' });
  });
});
