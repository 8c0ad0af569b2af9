import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient, GetCommand, type GetCommandInput } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import type { Decision } from '../../../lambdas/core/authorization.js';
import { bearerCredentials } from '../../../lambdas/core/bearer.js';
import { parseMethodArn } from '../../../lambdas/core/gateway-policy.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { usageKeyValue } from '../../../lambdas/core/rate-limits.js';
import { generateToken, isWellFormedToken } from '../../../lambdas/core/token-format.js';
import type {
  HttpAuthorizerResult,
  TokenAuthorizerResult,
} from '../../../lambdas/token-authorizer/gateway.js';
import {
  captureStdout,
  credentialRecord,
  evaluatePolicy,
  httpEvent,
  lambdaContext,
  methodArn,
  restRequestEvent,
  restTokenEvent,
  type StdoutCapture,
} from '../../support/authorizer-events.js';
import { stubHandlerEnv } from '../../support/env.js';

// The token authorizer handler against mocked DynamoDB and KMS (keySource 'kms'), on events built
// from AWS's samples.

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<TokenAuthorizerResult>;
type GatewayModule = typeof import('../../../lambdas/token-authorizer/gateway.js');

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const DEPENDENCY_FAILURE = { message: 'Authorizer dependency failure' };
const UNAUTHORIZED = { message: 'Unauthorized' };

describe('token authorizer handler', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  const kms = mockClient(KMSClient);
  const table = new Map<string, Record<string, unknown>>();

  function issue(overrides: Partial<CredentialRecord> = {}): {
    secret: string;
    credential: CredentialRecord;
  } {
    const { secret } = generateToken('atk');
    const credential = credentialRecord({ secretHash: hashToken(HMAC_KEY, secret), ...overrides });
    table.set(KEYS.credential(credential.secretHash).pk, credentialToItem(credential));
    return { secret, credential };
  }

  function mockAws(): void {
    kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
    ddb.on(GetCommand).callsFake((input: GetCommandInput) => ({ Item: table.get(String(input.Key?.pk)) }));
  }

  /** A fresh container: env stubbed, handler module loaded anew (its clients and key cache with it). */
  // The in-process verification cache is off here, so every test sees the uncached path; the
  // cache's own tests below turn it on.
  const UNCACHED = { verificationCacheSeconds: 0, verificationCacheNegativeSeconds: 0 };
  async function loadContainer(policy: Record<string, unknown> = UNCACHED): Promise<Handler> {
    vi.resetModules();
    stubHandlerEnv({ keySource: 'kms', policy });
    const module = await import('../../../lambdas/token-authorizer/handler.js');
    return module.handler as unknown as Handler;
  }

  let handler: Handler;
  let gateway: GatewayModule;
  let logs: StdoutCapture;
  const invoke = (event: unknown) => handler(event, lambdaContext());

  const getCalls = () => ddb.commandCalls(GetCommand);
  const decisionLines = () =>
    logs.records().filter((record) => record.message === 'token authorizer decision');

  function expectOneDecision(reason: string): Record<string, unknown> {
    const lines = decisionLines();
    expect(lines).toHaveLength(1);
    expect(logs.records()).toHaveLength(1);
    const [line] = lines;
    expect(line?.reason).toBe(reason);
    logs.clear();
    return line ?? {};
  }

  const asRest = (result: TokenAuthorizerResult) => result as APIGatewayAuthorizerResult;
  const asHttp = (result: TokenAuthorizerResult) => result as HttpAuthorizerResult;

  beforeAll(async () => {
    mockAws();
    handler = await loadContainer();
    gateway = await import('../../../lambdas/token-authorizer/gateway.js');
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

  describe('REST REQUEST authorizer: every reason code', () => {
    it('VALID: an Allow policy that covers this request, with the context and the user as principal', async () => {
      const { secret, credential } = issue({ scopes: ['content:read', 'reports:write'] });
      const result = asRest(
        await invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      );
      expect(result.principalId).toBe(credential.userId);
      expect(result.context).toEqual({
        tokenId: credential.tokenId,
        userId: credential.userId,
        accountId: credential.accountId,
        scopes: 'content:read reports:write',
        type: 'standard',
      });
      expect(evaluatePolicy(result, methodArn('GET', '/demo/content/items'))).toBe('allow');
      // The token's API key for the usage plans (#14): derived from its id, never the secret.
      expect(result.usageIdentifierKey).toBe(usageKeyValue(credential.tokenId));
      expect(JSON.stringify(result)).not.toContain(secret);
      const line = expectOneDecision('VALID');
      expect(line).toMatchObject({
        tokenId: credential.tokenId,
        method: 'GET',
        area: 'content',
        gateway: 'rest',
      });
      expect(typeof line.latencyMs).toBe('number');
    });

    it('MALFORMED: 401 with no key and no DynamoDB use, whatever the header holds', async () => {
      const { secret } = issue();
      for (const authorization of [
        undefined,
        '',
        'Bearer',
        `Basic ${secret}`,
        secret,
        'Bearer atk_nope',
        `Bearer ${secret}0`,
      ]) {
        await expect(invoke(restRequestEvent({ authorization, basePath: '/demo' }))).rejects.toMatchObject(
          UNAUTHORIZED,
        );
        const line = expectOneDecision('MALFORMED');
        expect(line.hint).toBeUndefined();
        expect(line.tokenId).toBeUndefined();
      }
      expect(getCalls()).toHaveLength(0);
    });

    it('NOT_FOUND: 401 for a well-formed token that was never issued; the log carries its hint only', async () => {
      const { secret } = generateToken('atk');
      await expect(invoke(restRequestEvent({ authorization: `Bearer ${secret}` }))).rejects.toMatchObject(
        UNAUTHORIZED,
      );
      const line = expectOneDecision('NOT_FOUND');
      expect(line.hint).toBe(`atk_…${secret.slice(-4)}`);
      expect(getCalls()).toHaveLength(1);
    });

    it('REVOKED: 401', async () => {
      const { secret, credential } = issue({ state: 'revoked' });
      await expect(invoke(restRequestEvent({ authorization: `Bearer ${secret}` }))).rejects.toMatchObject(
        UNAUTHORIZED,
      );
      expect(expectOneDecision('REVOKED').tokenId).toBe(credential.tokenId);
    });

    it('EXPIRED: 401 for an expired item TTL has not deleted yet, and for a rotated-out secret', async () => {
      const expired = issue({ expiresAtMs: Date.now() - 1000 });
      await expect(
        invoke(restRequestEvent({ authorization: `Bearer ${expired.secret}` })),
      ).rejects.toMatchObject(UNAUTHORIZED);
      expectOneDecision('EXPIRED');
      const rotated = issue({ notAfterMs: Date.now() - 1 });
      await expect(
        invoke(restRequestEvent({ authorization: `Bearer ${rotated.secret}` })),
      ).rejects.toMatchObject(UNAUTHORIZED);
      expectOneDecision('EXPIRED');
    });

    it('IP_NOT_ALLOWED: an explicit Deny of the whole stage for the console test source `test-invoke-source-ip`', async () => {
      const { secret, credential } = issue({ allowedIps: ['10.0.0.0/8'] });
      const result = asRest(
        await invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      );
      expect(result.principalId).toBe(credential.userId);
      for (const arn of [methodArn('GET', '/demo/content/items'), methodArn('DELETE', '/anything')]) {
        expect(evaluatePolicy(result, arn)).toBe('explicit-deny');
      }
      expect(result).not.toHaveProperty('usageIdentifierKey');
      expectOneDecision('IP_NOT_ALLOWED');
    });

    it('a source IP with a prefix length (`10.1.2.3/32`) is read as its address', async () => {
      const { secret } = issue({ allowedIps: ['10.0.0.0/8'] });
      const event = restRequestEvent({
        authorization: `Bearer ${secret}`,
        basePath: '/demo',
        sourceIp: '10.1.2.3/32',
      });
      expect(evaluatePolicy(asRest(await invoke(event)), methodArn('GET', '/demo/content/items'))).toBe(
        'allow',
      );
      expectOneDecision('VALID');
    });

    it('INSUFFICIENT_SCOPE: the same Allow policy, which does not cover this request (403 at the gateway)', async () => {
      const { secret } = issue({ scopes: ['content:read'] });
      const denied = asRest(
        await invoke(
          restRequestEvent({ authorization: `Bearer ${secret}`, method: 'POST', basePath: '/demo' }),
        ),
      );
      expect(evaluatePolicy(denied, methodArn('POST', '/demo/content/items'))).toBe('implicit-deny');
      expect(expectOneDecision('INSUFFICIENT_SCOPE')).toMatchObject({
        requiredScope: 'content:write',
        method: 'POST',
      });
      const allowed = asRest(
        await invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      );
      expect(denied.policyDocument).toEqual(allowed.policyDocument);
      expectOneDecision('VALID');
    });

    it("DISABLED (the owner's token access is off) is a 401 like the other unauthenticated reasons", async () => {
      const { secret, credential } = issue({ disabled: true, accessGeneration: 3 });
      await expect(
        invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      ).rejects.toMatchObject(UNAUTHORIZED);
      expect(expectOneDecision('DISABLED').tokenId).toBe(credential.tokenId);
      const decision: Decision = {
        reason: 'DISABLED',
        credential: credentialRecord({ disabled: true }),
        area: 'content',
        requiredScope: 'content:read',
        route: undefined,
      };
      const arn = parseMethodArn(methodArn('GET', '/demo/content'));
      if (arn === undefined) throw new Error('test ARN does not parse');
      expect(() => gateway.restResponse(decision, arn, '/demo')).toThrow(/^Unauthorized$/);
      expect(gateway.httpResponse(decision)).toEqual({ isAuthorized: false });
    });

    it('reads the Authorization header in any spelling and the scheme in any case', async () => {
      const { secret } = issue();
      for (const headerName of ['Authorization', 'authorization', 'AUTHORIZATION', 'aUtHoRiZaTiOn']) {
        for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
          const event = restRequestEvent({
            authorization: `${scheme} ${secret}`,
            headerName,
            basePath: '/demo',
          });
          expect(evaluatePolicy(asRest(await invoke(event)), methodArn('GET', '/demo/content/items'))).toBe(
            'allow',
          );
          expectOneDecision('VALID');
        }
      }
    });

    it('takes the base path from env when the stage names none, and from the stage variable otherwise', async () => {
      const { secret } = issue();
      // No stage variable, env AUTHORIZER_BASE_PATH unset: the area is the first segment.
      const rootEvent = restRequestEvent({ authorization: `Bearer ${secret}`, path: '/content/x' });
      expect(evaluatePolicy(asRest(await invoke(rootEvent)), methodArn('GET', '/content/x'))).toBe('allow');
      expectOneDecision('VALID');
      const wrongBase = restRequestEvent({ authorization: `Bearer ${secret}`, path: '/demo/content/x' });
      expect(evaluatePolicy(asRest(await invoke(wrongBase)), methodArn('GET', '/demo/content/x'))).toBe(
        'implicit-deny',
      );
      expectOneDecision('INSUFFICIENT_SCOPE');
    });
  });

  describe('REST TOKEN authorizer events', () => {
    it('reads authorizationToken and the method ARN', async () => {
      const { secret } = issue();
      const result = asRest(await invoke(restTokenEvent(`Bearer ${secret}`)));
      expect(evaluatePolicy(result, methodArn('GET', '/content/items'))).toBe('allow');
      expectOneDecision('VALID');
      await expect(invoke(restTokenEvent('Bearer nope'))).rejects.toMatchObject(UNAUTHORIZED);
      expectOneDecision('MALFORMED');
    });
  });

  describe('HTTP API (payload 2.0, simple responses): every reason code', () => {
    it('VALID → isAuthorized true with the context; the real method (POST) decides, not the routeKey (GET)', async () => {
      const writer = issue({ scopes: ['merchants:write'] });
      const result = asHttp(await invoke(httpEvent({ authorization: `Bearer ${writer.secret}` })));
      expect(result).toEqual({
        isAuthorized: true,
        context: {
          tokenId: writer.credential.tokenId,
          userId: writer.credential.userId,
          accountId: writer.credential.accountId,
          scopes: 'merchants:write',
          type: 'standard',
        },
      });
      expect(expectOneDecision('VALID')).toMatchObject({
        method: 'POST',
        area: 'merchants',
        gateway: 'http',
      });

      const reader = issue({ scopes: ['merchants:read'] });
      expect(await invoke(httpEvent({ authorization: `Bearer ${reader.secret}` }))).toEqual({
        isAuthorized: false,
      });
      expect(expectOneDecision('INSUFFICIENT_SCOPE')).toMatchObject({
        method: 'POST',
        requiredScope: 'merchants:write',
      });
    });

    it('every other reason → isAuthorized false (403 at the gateway), without context', async () => {
      const revoked = issue({ state: 'revoked', scopes: ['merchants:write'] });
      const expired = issue({ expiresAtMs: Date.now() - 1, scopes: ['merchants:write'] });
      const fenced = issue({ allowedIps: ['192.0.2.0/24'], scopes: ['merchants:write'] });
      const disabled = issue({ disabled: true, scopes: ['merchants:write'] });
      const cases: [string | undefined, string][] = [
        ['Bearer garbage', 'MALFORMED'],
        [undefined, 'MALFORMED'],
        [`Bearer ${generateToken('atk').secret}`, 'NOT_FOUND'],
        [`Bearer ${revoked.secret}`, 'REVOKED'],
        [`Bearer ${expired.secret}`, 'EXPIRED'],
        [`Bearer ${fenced.secret}`, 'IP_NOT_ALLOWED'],
        [`Bearer ${disabled.secret}`, 'DISABLED'],
      ];
      for (const [authorization, reason] of cases) {
        expect(await invoke(httpEvent({ authorization }))).toEqual({ isAuthorized: false });
        expectOneDecision(reason);
      }
    });

    it('matches the IP allowlist against requestContext.http.sourceIp, IPv6 included', async () => {
      const { secret } = issue({ allowedIps: ['2001:db8::/32'], scopes: ['merchants:write'] });
      const inside = httpEvent({ authorization: `Bearer ${secret}`, sourceIp: '2001:db8::1' });
      expect(asHttp(await invoke(inside)).isAuthorized).toBe(true);
      expectOneDecision('VALID');
    });

    it('strips the /<stage> prefix of a named stage and applies the base path stage variable', async () => {
      const { secret } = issue({ scopes: ['content:read'] });
      const event = httpEvent({
        authorization: `Bearer ${secret}`,
        method: 'GET',
        stage: 'prod',
        path: '/prod/demo/content/items',
        basePath: '/demo',
      });
      expect(asHttp(await invoke(event)).isAuthorized).toBe(true);
      expectOneDecision('VALID');
    });
  });

  describe('dependency failures fail closed (500, never cached, never an Allow)', () => {
    it('DynamoDB failure → the authorizer rejects with a generic error, logged as DEPENDENCY_FAILURE', async () => {
      const { secret } = issue();
      ddb.on(GetCommand).rejects(new Error('ProvisionedThroughputExceededException'));
      await expect(
        invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      ).rejects.toMatchObject(DEPENDENCY_FAILURE);
      expect(expectOneDecision('DEPENDENCY_FAILURE').hint).toBe(`atk_…${secret.slice(-4)}`);
      await expect(invoke(httpEvent({ authorization: `Bearer ${secret}` }))).rejects.toMatchObject(
        DEPENDENCY_FAILURE,
      );
      expectOneDecision('DEPENDENCY_FAILURE');
    });

    it('a credential item that does not parse → DEPENDENCY_FAILURE, not NOT_FOUND', async () => {
      const { secret, credential } = issue();
      table.set(KEYS.credential(credential.secretHash).pk, {
        entity: 'credential',
        secretHash: credential.secretHash,
      });
      await expect(invoke(restRequestEvent({ authorization: `Bearer ${secret}` }))).rejects.toMatchObject(
        DEPENDENCY_FAILURE,
      );
      expect(expectOneDecision('DEPENDENCY_FAILURE').errorName).toBe('CorruptCredentialError');
    });

    it('an event of no known shape → a generic error', async () => {
      await expect(invoke({ version: '3.0' })).rejects.toMatchObject(DEPENDENCY_FAILURE);
      expectOneDecision('DEPENDENCY_FAILURE');
      await expect(invoke({ type: 'REQUEST', headers: {} })).rejects.toMatchObject(DEPENDENCY_FAILURE);
      expectOneDecision('DEPENDENCY_FAILURE');
    });

    it('KMS failure in a fresh container → rejects; once KMS recovers the next request succeeds', async () => {
      const { secret } = issue();
      kms.on(DecryptCommand).rejects(new Error('KMSInternalException'));
      const coldHandler = await loadContainer();
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });
      await expect(coldHandler(event, lambdaContext())).rejects.toMatchObject(DEPENDENCY_FAILURE);
      expectOneDecision('DEPENDENCY_FAILURE');
      expect(getCalls()).toHaveLength(0);
      kms.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(KEY_MATERIAL) });
      const result = asRest(await coldHandler(event, lambdaContext()));
      expect(evaluatePolicy(result, methodArn('GET', '/demo/content/items'))).toBe('allow');
      expectOneDecision('VALID');
    });
  });

  describe('hot path', () => {
    it('a warm verification makes exactly one consistent GetItem and no KMS call', async () => {
      const { secret, credential } = issue();
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });
      await invoke(event);
      ddb.resetHistory();
      kms.resetHistory();
      await invoke(event);
      expect(ddb.calls()).toHaveLength(1);
      expect(getCalls()[0]?.args[0].input).toEqual({
        TableName: 'access-tokens-test',
        Key: KEYS.credential(credential.secretHash),
        ConsistentRead: true,
      });
      expect(kms.calls()).toHaveLength(0);
    });

    it('KMS Decrypt happens once per container across many invocations, with the encryption context', async () => {
      const { secret } = issue();
      const fresh = await loadContainer();
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });
      await Promise.all(Array.from({ length: 5 }, () => fresh(event, lambdaContext())));
      for (let index = 0; index < 20; index++) await fresh(event, lambdaContext());
      expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
      expect(kms.commandCalls(DecryptCommand)[0]?.args[0].input.EncryptionContext).toEqual({
        purpose: 'access-tokens-hmac',
        keyVersion: 'v1',
      });
      expect(getCalls()).toHaveLength(25);
    });
  });

  describe('in-process verification cache', () => {
    it('reuses a credential for verificationCacheSeconds, then reads again; 0 GetItem on a hit', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const cached = await loadContainer({ revocationWindowSeconds: 60, verificationCacheSeconds: 10 });
        const { secret } = issue();
        const event = restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });
        await cached(event, lambdaContext());
        ddb.resetHistory();
        for (let index = 0; index < 10; index++) await cached(event, lambdaContext());
        expect(getCalls()).toHaveLength(0);
        vi.setSystemTime(Date.now() + 10_001);
        await cached(event, lambdaContext());
        expect(getCalls()).toHaveLength(1);
      } finally {
        vi.useRealTimers();
      }
    });

    it('remembers an unknown token only for the shorter negative TTL', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        const cached = await loadContainer({
          revocationWindowSeconds: 60,
          verificationCacheSeconds: 10,
          verificationCacheNegativeSeconds: 2,
        });
        const event = restRequestEvent({
          authorization: `Bearer ${generateToken('atk').secret}`,
          basePath: '/demo',
        });
        await expect(cached(event, lambdaContext())).rejects.toThrow('Unauthorized');
        await expect(cached(event, lambdaContext())).rejects.toThrow('Unauthorized');
        expect(getCalls()).toHaveLength(1);
        vi.setSystemTime(Date.now() + 2_001);
        await expect(cached(event, lambdaContext())).rejects.toThrow('Unauthorized');
        expect(getCalls()).toHaveLength(2);
      } finally {
        vi.useRealTimers();
      }
    });

    it('is off when the revocation window is 0: every verification reads', async () => {
      const immediate = await loadContainer({ revocationWindowSeconds: 0, verificationCacheSeconds: 10 });
      const { secret } = issue();
      const event = restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' });
      for (let index = 0; index < 3; index++) await immediate(event, lambdaContext());
      expect(getCalls()).toHaveLength(3);
    });
  });

  describe('cache safety of the REST policy', () => {
    const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];
    const AREAS = ['content', 'reports', 'products'];

    it('lists every method ARN the scopes allow and none other', async () => {
      const { secret } = issue({ scopes: ['content:read', 'reports:write', 'not a scope'] });
      const result = asRest(
        await invoke(restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' })),
      );
      logs.clear();
      const stage = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test';
      const expected = [
        ...['GET', 'HEAD', 'OPTIONS'].map((m) => `${stage}/${m}/demo/content`),
        ...['POST', 'PUT', 'PATCH', 'DELETE'].map((m) => `${stage}/${m}/demo/reports`),
      ].flatMap((resource) => [resource, `${resource}/*`]);
      const statements = result.policyDocument.Statement as unknown as {
        Effect: string;
        Resource: string[];
      }[];
      expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
      expect(statements.flatMap((statement) => statement.Resource).sort()).toEqual(expected.sort());
    });

    it('a policy cached for one route neither allows a forbidden method nor denies another allowed route', async () => {
      const { secret } = issue({ scopes: ['content:read', 'reports:write'] });
      // Whichever request fills the cache, the cached policy must give every later request the answer
      // a fresh authorizer call would give.
      for (const [firstMethod, firstPath] of [
        ['GET', '/demo/content/a'],
        ['POST', '/demo/reports/b'],
        ['DELETE', '/demo/content/c'],
      ] as const) {
        const cached = asRest(
          await invoke(
            restRequestEvent({
              authorization: `Bearer ${secret}`,
              method: firstMethod,
              path: firstPath,
              basePath: '/demo',
            }),
          ),
        );
        for (const method of METHODS) {
          for (const area of AREAS) {
            for (const path of [`/demo/${area}`, `/demo/${area}/x/y`]) {
              const fresh = await invoke(
                restRequestEvent({ authorization: `Bearer ${secret}`, method, path, basePath: '/demo' }),
              );
              const arn = methodArn(method, path);
              expect(
                evaluatePolicy(cached, arn),
                `${firstMethod} ${firstPath} cached, then ${method} ${path}`,
              ).toBe(evaluatePolicy(asRest(fresh), arn));
            }
          }
        }
      }
    });
  });

  describe('logs', () => {
    it('never contain the token or the Authorization header, one decision line per call', async () => {
      const { secret } = issue({ scopes: ['content:read'] });
      const unknown = generateToken('atk').secret;
      const events = [
        restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' }),
        restRequestEvent({ authorization: `Bearer ${secret}`, method: 'PUT', basePath: '/demo' }),
        restRequestEvent({ authorization: `Bearer ${unknown}`, basePath: '/demo' }),
        restRequestEvent({ authorization: `Bearer ${secret}x`, basePath: '/demo' }),
        httpEvent({ authorization: `Bearer ${secret}` }),
      ];
      let calls = 0;
      for (const event of events) {
        await invoke(event).catch(() => undefined);
        calls++;
        expect(decisionLines()).toHaveLength(calls);
      }
      const text = logs.text();
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(4, 40));
      expect(text).not.toContain(unknown);
      expect(text).not.toContain('Bearer');
      expect(text).not.toContain(hashToken(HMAC_KEY, secret));
    });

    it('stay one line without the event even when POWERTOOLS_LOGGER_LOG_EVENT=true', async () => {
      const { secret } = issue();
      vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
      const fresh = await loadContainer();
      await fresh(
        restRequestEvent({ authorization: `Bearer ${secret}`, basePath: '/demo' }),
        lambdaContext(),
      );
      expect(logs.text()).not.toContain(secret);
      expectOneDecision('VALID');
      vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', '');
    });

    it('for MALFORMED log nothing of the presented value', async () => {
      const presented = 'Bearer s3cr3t-l00k1ng-v4lu3';
      await expect(invoke(restRequestEvent({ authorization: presented }))).rejects.toMatchObject(
        UNAUTHORIZED,
      );
      expect(logs.text()).not.toContain('s3cr3t');
      expectOneDecision('MALFORMED');
    });
  });

  describe('properties', () => {
    it('random header values never crash the authorizer and never allow', async () => {
      const { secret } = issue({ scopes: ['content:read'] });
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string(),
            fc.string({ unit: 'binary' }),
            fc.string().map((value) => `Bearer ${value}`),
            fc.string({ minLength: 1, maxLength: 3 }).map((noise) => `Bearer ${secret}${noise}`),
            fc.nat({ max: secret.length - 1 }).map((cut) => `Bearer ${secret.slice(0, cut)}`),
          ),
          async (authorization) => {
            // Only the real token may pass (surrounding whitespace is optional whitespace, RFC 9110 §5.6.3).
            fc.pre(bearerCredentials(authorization) !== secret);
            await expect(
              invoke(restRequestEvent({ authorization, basePath: '/demo' })),
            ).rejects.toMatchObject(UNAUTHORIZED);
            expect(await invoke(httpEvent({ authorization, method: 'GET', path: '/content/x' }))).toEqual({
              isAuthorized: false,
            });
          },
        ),
        { numRuns: 150 },
      );
      expect(logs.text()).not.toContain(secret);
    });

    it('random tokens with the right shape are MALFORMED with zero DynamoDB calls', async () => {
      const base62 = fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
      await fc.assert(
        fc.asyncProperty(fc.string({ unit: base62, minLength: 49, maxLength: 49 }), async (body) => {
          const token = `atk_${body}`;
          fc.pre(!isWellFormedToken(token, 'atk'));
          await expect(invoke(restRequestEvent({ authorization: `Bearer ${token}` }))).rejects.toMatchObject(
            UNAUTHORIZED,
          );
        }),
        { numRuns: 200 },
      );
      expect(getCalls()).toHaveLength(0);
      expect(kms.calls()).toHaveLength(0);
      const reasons = new Set(decisionLines().map((line) => line.reason));
      expect([...reasons]).toEqual(['MALFORMED']);
    });
  });
});
