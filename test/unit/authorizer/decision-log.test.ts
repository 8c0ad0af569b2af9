import { Logger } from '@aws-lambda-powertools/logger';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { encodeRouteScopes } from '../../../lambdas/core/route-scopes.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import {
  captureStdout,
  credentialRecord,
  httpEvent,
  lambdaContext,
  restRequestEvent,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';

// The token authorizer's log lines through the handler, as deployed: one line per decision, with
// the fields it always had, in the same order, and exactly the line the Powertools Logger (which
// wrote them before, through its middy middleware) writes for that context and those fields. None
// holds the token, the Authorization header or the secret's hash.

type Json = Record<string, unknown>;
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const NOW = new Date('2026-03-01T12:34:56.789Z');

/** The keys Powertools puts before a line's own fields, for a Lambda context without tenant or trace. */
const BASE_KEYS = [
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
];

describe('token authorizer decision lines', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const kms = mockClient(KMSClient);
  const table = new Map<string, Record<string, unknown>>();
  let handler: Handler;
  let logs: StdoutCapture;
  const secrets: string[] = [];
  /** Every line any test here made the handler write. */
  const everything: string[] = [];

  function issue(overrides: Partial<CredentialRecord> = {}): {
    secret: string;
    credential: CredentialRecord;
  } {
    const { secret } = generateToken('atk');
    secrets.push(secret);
    const credential = credentialRecord({
      secretHash: hashToken(HMAC_KEY, secret),
      expiresAtMs: NOW.getTime() + 86_400_000,
      ...overrides,
    });
    table.set(KEYS.credential(credential.secretHash).pk, credentialToItem(credential));
    return { secret, credential };
  }

  function mockAws(): void {
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
    ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({ Item: table.get(String(input.Key?.pk)) }));
    ddb.on(UpdateCommand).resolves({});
  }

  /** The one line the invocation wrote, checked against Powertools for the same context and fields. */
  async function lineOf(event: Json): Promise<Json> {
    logs.clear();
    const context = lambdaContext();
    await handler(event, context).catch(() => undefined);
    // A lastUsedAt failure is reported after the response: let it land.
    await new Promise((resolve) => setImmediate(resolve));
    const written = logs.text().split('\n').filter(Boolean);
    everything.push(...written);
    expect(written).toHaveLength(1);
    const line = JSON.parse(written[0] ?? '') as Json;
    expect(Object.keys(line).slice(0, BASE_KEYS.length)).toEqual(BASE_KEYS);
    const own = Object.fromEntries(Object.entries(line).filter(([key]) => !BASE_KEYS.includes(key)));
    logs.clear();
    const powertools = new Logger({ serviceName: 'access-tokens' });
    powertools.addContext(context);
    const level = String(line.level).toLowerCase() as 'info' | 'warn' | 'error';
    powertools[level](String(line.message), own);
    expect(written[0]).toBe(logs.text().trimEnd());
    return own;
  }

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    mockAws();
    vi.resetModules();
    stubHandlerEnv({
      keySource: 'kms',
      policy: { verificationCacheSeconds: 0, verificationCacheNegativeSeconds: 0 },
    });
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'access-tokens');
    handler = (await import('../../../lambdas/token-authorizer/handler.js')).handler as unknown as Handler;
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
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  const rest = (secret: string, overrides: Parameters<typeof restRequestEvent>[0] = {}) =>
    restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo', ...overrides });

  it('VALID: INFO with the token and user ids', async () => {
    const { secret, credential } = issue();
    const own = await lineOf(rest(secret));
    expect(Object.keys(own)).toEqual([
      'reason',
      'gateway',
      'method',
      'area',
      'tokenId',
      'userId',
      'latencyMs',
    ]);
    expect(own).toMatchObject({
      reason: 'VALID',
      gateway: 'rest',
      method: 'GET',
      area: 'content',
      tokenId: credential.tokenId,
      userId: credential.userId,
    });
  });

  // The line's request fields and each credential's ids are rendered once and reused while they
  // repeat (token-authorizer.ts): requests that alternate between tokens, methods, areas and
  // gateways must each get their own.
  it('alternating requests: each line carries its own request and token fields', async () => {
    const first = issue({ userId: 'user-first', tokenId: 'tok_1111111111111111111111' });
    const second = issue({
      userId: 'user-second',
      tokenId: 'tok_2222222222222222222222',
      scopes: ['reports:write'],
    });
    const sequence = [
      [rest(first.secret), { reason: 'VALID', method: 'GET', area: 'content', userId: 'user-first' }],
      [
        rest(second.secret, { method: 'POST', path: '/demo/reports/1' }),
        { reason: 'VALID', method: 'POST', area: 'reports', userId: 'user-second' },
      ],
      [
        rest(first.secret, { method: 'POST' }),
        { reason: 'INSUFFICIENT_SCOPE', method: 'POST', area: 'content', userId: 'user-first' },
      ],
      [
        httpEvent({ authorization: `Bearer ${second.secret}` }),
        { reason: 'INSUFFICIENT_SCOPE', gateway: 'http', userId: 'user-second' },
      ],
      [
        rest(first.secret),
        {
          reason: 'VALID',
          gateway: 'rest',
          method: 'GET',
          area: 'content',
          tokenId: first.credential.tokenId,
        },
      ],
    ] as const;
    for (const [event, expected] of sequence) expect(await lineOf(event)).toMatchObject(expected);
  });

  it('INSUFFICIENT_SCOPE: WARN with the scope it needed', async () => {
    const { secret } = issue();
    const own = await lineOf(rest(secret, { method: 'DELETE' }));
    expect(Object.keys(own)).toEqual([
      'reason',
      'gateway',
      'method',
      'area',
      'tokenId',
      'userId',
      'requiredScope',
      'latencyMs',
    ]);
    expect(own.requiredScope).toBe('content:write');
  });

  it.each([
    ['REVOKED', { state: 'revoked' as const }],
    ['EXPIRED', { expiresAtMs: NOW.getTime() - 1 }],
    ['DISABLED', { disabled: true }],
    ['IP_NOT_ALLOWED', { allowedIps: ['192.0.2.0/24'] }],
  ])('%s: WARN with the token and user ids', async (reason, overrides) => {
    const { secret } = issue(overrides);
    const own = await lineOf(rest(secret));
    expect(own.reason).toBe(reason);
    expect(Object.keys(own)).toEqual([
      'reason',
      'gateway',
      'method',
      'area',
      'tokenId',
      'userId',
      'latencyMs',
    ]);
  });

  it('NOT_FOUND: WARN with the hint of the presented token only', async () => {
    const unknown = generateToken('atk').secret;
    secrets.push(unknown);
    const own = await lineOf(httpEvent({ authorization: `Bearer ${unknown}` }));
    expect(own).toMatchObject({ reason: 'NOT_FOUND', gateway: 'http', hint: `atk_…${unknown.slice(-4)}` });
    expect(Object.keys(own)).toEqual(['reason', 'gateway', 'method', 'area', 'hint', 'latencyMs']);
  });

  it('MALFORMED: WARN with nothing of the presented value', async () => {
    const own = await lineOf(restRequestEvent({ authorization: 'Bearer s3cr3t-l00k1ng', basePath: '/demo' }));
    expect(Object.keys(own)).toEqual(['reason', 'gateway', 'method', 'area', 'latencyMs']);
  });

  it('DEPENDENCY_FAILURE: ERROR with the hint and the error name', async () => {
    const { secret } = issue();
    ddb.on(GetCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const own = await lineOf(rest(secret));
    expect(own).toMatchObject({ reason: 'DEPENDENCY_FAILURE', errorName: 'ThrottlingException' });
    expect(Object.keys(own)).toEqual(['reason', 'gateway', 'method', 'hint', 'errorName', 'latencyMs']);
  });

  it('INVALID_ROUTE_SCOPES: ERROR with the error name only', async () => {
    const { secret } = issue();
    const own = await lineOf(rest(secret, { stageVariables: { accessTokensRoutes: 'not-a-map' } }));
    expect(own).toMatchObject({ reason: 'INVALID_ROUTE_SCOPES', errorName: 'InvalidRouteScopesError' });
    expect(Object.keys(own)).toEqual(['reason', 'errorName', 'latencyMs']);
  });

  it('a route-mapped decision keeps the same fields', async () => {
    const { secret } = issue({ scopes: ['reports:read'] });
    const routes = encodeRouteScopes({ 'GET /reports/{id}': 'reports:read' });
    const own = await lineOf(
      rest(secret, {
        path: '/demo/reports/7',
        resource: '/demo/reports/{id}',
        stageVariables: { accessTokensRoutes: routes },
      }),
    );
    expect(own).toMatchObject({ reason: 'VALID', area: 'reports' });
  });

  it('a lastUsedAt that cannot be written: one WARN line after the decision, with the error name', async () => {
    const { secret, credential } = issue({ tokenId: 'tok_0000000000000000000777' });
    ddb.on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    logs.clear();
    await handler(rest(secret), lambdaContext());
    for (let tries = 0; tries < 50 && logs.records().length < 2; tries++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    everything.push(logs.text());
    const [decision, failure] = logs.records();
    expect(decision?.reason).toBe('VALID');
    expect(Object.keys(failure ?? {})).toEqual([...BASE_KEYS, 'tokenId', 'errorName']);
    expect(failure).toMatchObject({
      level: 'WARN',
      message: 'lastUsedAt not recorded',
      tokenId: credential.tokenId,
      errorName: 'ThrottlingException',
    });
  });

  /** A GetCommand answer held until the test releases it, per credential key. */
  function holdReads(): Map<string, () => void> {
    const held = new Map<string, () => void>();
    ddb.on(GetCommand).callsFake(
      (input: GetCommandInput) =>
        new Promise((resolve) => {
          const key = String(input.Key?.pk);
          held.set(key, () => resolve({ Item: table.get(key) }));
        }),
    );
    return held;
  }

  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  // An uncached verification starts its invocation's log (context fields, trace id, level) while
  // its read is in flight (token-authorizer.ts): two invocations whose reads overlap, as on the
  // local gateway, must each still log with their own context.
  it('overlapping uncached verifications: each line carries its own invocation', async () => {
    const first = issue({ userId: 'user-first' });
    const second = issue({ userId: 'user-second' });
    const held = holdReads();
    logs.clear();
    const answers = [
      handler(rest(first.secret), { ...lambdaContext(), awsRequestId: 'request-first' }),
      handler(rest(second.secret), { ...lambdaContext(), awsRequestId: 'request-second' }),
    ];
    await nextTurn();
    expect(held.size).toBe(2);
    held.get(KEYS.credential(second.credential.secretHash).pk)?.();
    await answers[1];
    held.get(KEYS.credential(first.credential.secretHash).pk)?.();
    await answers[0];
    await nextTurn();
    everything.push(logs.text());
    expect(logs.records().map((line) => [line.function_request_id, line.userId, line.reason])).toEqual([
      ['request-second', 'user-second', 'VALID'],
      ['request-first', 'user-first', 'VALID'],
    ]);
  });

  // Started after the read is sent, and once per invocation whichever comes first, the read's answer
  // or the turn of the event loop it was scheduled for: a second start would, for one, write
  // Powertools' sampling notice twice.
  it("an invocation's log is started once: while the read is in flight, or when it answers first", async () => {
    const { JsonLineLogger } = await import('../../../lambdas/runtime/json-line-logger.js');
    const starts = vi.spyOn(JsonLineLogger.prototype, 'invocation');
    try {
      const { secret, credential } = issue();
      const held = holdReads();
      const pending = handler(rest(secret), lambdaContext());
      // The read is sent first; the log starts on the next turn, while the read is in flight.
      expect(held.size).toBe(1);
      expect(starts).not.toHaveBeenCalled();
      await nextTurn();
      expect(starts).toHaveBeenCalledTimes(1);
      held.get(KEYS.credential(credential.secretHash).pk)?.();
      await pending;
      await nextTurn();
      expect(starts).toHaveBeenCalledTimes(1);

      starts.mockClear();
      mockAws();
      await handler(rest(secret), lambdaContext());
      await nextTurn();
      expect(starts).toHaveBeenCalledTimes(1);

      starts.mockClear();
      ddb.on(GetCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
      await expect(handler(rest(secret), lambdaContext())).rejects.toThrow();
      await nextTurn();
      expect(starts).toHaveBeenCalledTimes(1);
      everything.push(logs.text());
      expect(logs.records().map((line) => line.function_request_id)).toEqual(
        Array(3).fill(lambdaContext().awsRequestId),
      );
    } finally {
      starts.mockRestore();
    }
  });

  it('no line ever holds a token, an Authorization value or a secret hash', async () => {
    // The lines of every test above, and a batch of every kind with one token.
    const { secret } = issue();
    const text: string[] = [...everything];
    for (const event of [
      rest(secret),
      rest(secret, { method: 'PUT' }),
      rest(`${secret}x`),
      httpEvent({ authorization: `Bearer ${secret}` }),
      rest(secret, { stageVariables: { accessTokensRoutes: 'not-a-map' } }),
    ]) {
      logs.clear();
      await handler(event, lambdaContext()).catch(() => undefined);
      text.push(logs.text());
    }
    const all = text.join('');
    for (const issued of secrets) {
      expect(all).not.toContain(issued);
      expect(all).not.toContain(issued.slice(4, 40));
      expect(all).not.toContain(hashToken(HMAC_KEY, issued));
    }
    expect(all).not.toContain('Bearer');
    expect(all.toLowerCase()).not.toContain('authorization');
  });
});
