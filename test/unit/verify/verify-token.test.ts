import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialToItem } from '../../../lambdas/adapters/items.js';
import { KEYS } from '../../../lambdas/adapters/table-definition.js';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import { generateToken } from '../../../lambdas/core/token-format.js';
import { verifyTokenRoute } from '../../../lambdas/verify-token/route.js';
import { type PresentedToken, verifyOracle } from '../../support/access-oracle.js';
import { captureStdout, credentialRecord, type StdoutCapture } from '../../support/authorizer-events.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  errorOf,
  expectOpaqueInternalError,
  type InvokeResult,
  invoke,
  memberContext,
  proxyEvent,
} from '../../support/proxy-events.js';

// POST /verify through its real handler (middy, the contract, the route's role check), with
// DynamoDB and KMS mocked: the token authorizer's decision for services outside API Gateway. The
// access model's oracle (test/support/access-oracle.ts, also the authorizer's) must agree with it
// for random tokens and requests; the response and the logs never carry the secret or its hash.

const KEY_MATERIAL = Buffer.alloc(32, 7);
const HMAC_KEY: HmacKey = { version: 'v1', material: KEY_MATERIAL };
const PRINCIPAL = 'arn:aws:iam::123456789012:role/orders-service';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const table = new Map<string, Record<string, unknown>>();
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
  ddb.on(UpdateCommand).resolves({});
}

/** A fresh container: its own verification cache and lastUsedAt throttle. */
const container = () => verifyTokenRoute(managementDeps({ keySource: 'kms' }));

/** `principal` null: an event without the IAM principal (not through an IAM method). */
const verifyEvent = (body: unknown, principal: string | null = PRINCIPAL) =>
  proxyEvent({
    method: 'POST',
    resource: '/verify',
    body: body as object,
    caller: null,
    ...(principal === null ? {} : { iamPrincipal: principal }),
  });

function decisionLines(): Record<string, unknown>[] {
  return logs.records().filter((record) => record.message === 'token authorizer decision');
}

beforeEach(() => {
  mockAws();
  logs = captureStdout();
});

afterEach(() => {
  logs.restore();
  ddb.reset();
  kms.reset();
});

describe('POST /verify', () => {
  it('VALID: the owner, account, scopes and type; one HMAC key decrypt and one consistent GetItem', async () => {
    const handler = container();
    const { secret, credential } = issue({ scopes: ['reports:read', 'content:write'], type: 'reporting' });
    const result = await invoke(handler, verifyEvent({ token: secret, method: 'get', path: '/reports/7' }));
    expect(result.status).toBe(200);
    expect(result.json).toEqual({
      valid: true,
      reason: 'VALID',
      tokenId: credential.tokenId,
      userId: credential.userId,
      accountId: credential.accountId,
      scopes: ['reports:read', 'content:write'],
      type: 'reporting',
    });
    const gets = ddb.commandCalls(GetCommand);
    expect(gets).toHaveLength(1);
    expect(gets[0]?.args[0].input).toMatchObject({
      Key: KEYS.credential(credential.secretHash),
      ConsistentRead: true,
    });
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(1);
    // The same token again: the verification cache answers, no second read.
    await invoke(handler, verifyEvent({ token: secret, requiredScope: 'content:write' }));
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('the reasons: MALFORMED (no I/O), NOT_FOUND, REVOKED, EXPIRED, DISABLED, IP_NOT_ALLOWED, INSUFFICIENT_SCOPE', async () => {
    const handler = container();
    const call = async (body: Record<string, unknown>) =>
      (await invoke(handler, verifyEvent(body))).json as Record<string, unknown>;
    const live = issue({ scopes: ['reports:read'], allowedIps: ['203.0.113.0/24'] });

    expect(await call({ token: 'atk_not-a-token' })).toEqual({ valid: false, reason: 'MALFORMED' });
    // The last checksum character changed (to another one: a random secret can end in 'x' already).
    const tampered = `${live.secret.slice(0, -1)}${live.secret.endsWith('x') ? 'y' : 'x'}`;
    expect(await call({ token: tampered })).toEqual({
      valid: false,
      reason: 'MALFORMED',
    });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(kms.commandCalls(DecryptCommand)).toHaveLength(0);

    expect(await call({ token: generateToken('atk').secret })).toEqual({ valid: false, reason: 'NOT_FOUND' });
    const revoked = issue({ state: 'revoked' });
    expect(await call({ token: revoked.secret })).toMatchObject({
      valid: false,
      reason: 'REVOKED',
      tokenId: revoked.credential.tokenId,
    });
    expect(await call({ token: issue({ expiresAtMs: Date.now() - 1 }).secret })).toMatchObject({
      reason: 'EXPIRED',
    });
    expect(await call({ token: issue({ notAfterMs: Date.now() - 1 }).secret })).toMatchObject({
      reason: 'EXPIRED',
    });
    expect(await call({ token: issue({ disabled: true }).secret })).toMatchObject({ reason: 'DISABLED' });
    expect(await call({ token: live.secret, sourceIp: '198.51.100.1' })).toMatchObject({
      valid: false,
      reason: 'IP_NOT_ALLOWED',
    });
    // An allowlisted token with no address given: not allowed (fails closed).
    expect(await call({ token: live.secret })).toMatchObject({ reason: 'IP_NOT_ALLOWED' });
    expect(
      await call({ token: live.secret, sourceIp: '203.0.113.9', method: 'POST', path: '/reports' }),
    ).toMatchObject({ valid: false, reason: 'INSUFFICIENT_SCOPE', scopes: ['reports:read'] });
    expect(
      await call({ token: live.secret, sourceIp: '203.0.113.9', requiredScope: 'reports:read' }),
    ).toMatchObject({ valid: true, reason: 'VALID' });
  });

  it('requiredScope wins over method and path; with neither, no scope is checked', async () => {
    const handler = container();
    const { secret } = issue({ scopes: ['content:read'] });
    const call = async (body: Record<string, unknown>) =>
      ((await invoke(handler, verifyEvent({ token: secret, ...body }))).json as { reason: string }).reason;
    expect(await call({ method: 'GET', path: '/content/x' })).toBe('VALID');
    expect(await call({ method: 'GET', path: '/content/x', requiredScope: 'admin:write' })).toBe(
      'INSUFFICIENT_SCOPE',
    );
    expect(await call({ method: 'DELETE', path: '/content/x', requiredScope: 'content:read' })).toBe('VALID');
    expect(await call({})).toBe('VALID');
    expect(await call({ method: 'GET', path: '/' })).toBe('INSUFFICIENT_SCOPE');
  });

  it('400 for a body that breaks the contract, before any I/O', async () => {
    const handler = container();
    const { secret } = issue();
    const bad: unknown[] = [
      {},
      { token: 42 },
      { token: secret, method: 'GET' },
      { token: secret, path: '/content' },
      { token: secret, method: 'GET', path: 'content' },
      { token: secret, method: 'GET', path: '/content/../admin' },
      { token: secret, method: 'GET', path: '/content/%2e%2e/admin' },
      { token: secret, requiredScope: 'content' },
      { token: secret, secretHash: 'x' },
      { token: 'x'.repeat(300) },
    ];
    for (const body of bad) {
      const result = await invoke(handler, verifyEvent(body));
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(errorOf(result)?.code).toBe('VALIDATION_FAILED');
    }
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('401 without the IAM principal API Gateway names (not through an IAM method), whatever JWT context', async () => {
    const handler = container();
    const { secret } = issue();
    for (const event of [
      verifyEvent({ token: secret }, null),
      proxyEvent({ method: 'POST', resource: '/verify', body: { token: secret }, caller: memberContext() }),
    ]) {
      const result = await invoke(handler, event);
      expect(result.status).toBe(401);
      expect(errorOf(result)?.code).toBe('UNAUTHORIZED');
    }
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    // The access log names the signing principal of a verify call.
    await invoke(handler, verifyEvent({ token: secret }));
    const access = logs.records().find((record) => record.message === 'request' && record.status === 200);
    expect(access).toMatchObject({ route: 'verifyToken', principal: PRINCIPAL });
  });

  it('fails closed on a dependency failure: an opaque 500 and a DEPENDENCY_FAILURE line with the hint only', async () => {
    const handler = container();
    const { secret } = issue();
    ddb
      .on(GetCommand)
      .rejects(Object.assign(new Error(`throttled reading ${secret}`), { name: 'ThrottlingException' }));
    const result = await invoke(handler, verifyEvent({ token: secret }));
    expectOpaqueInternalError(result);
    expect(decisionLines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        reason: 'DEPENDENCY_FAILURE',
        gateway: 'verify',
        hint: `atk_…${secret.slice(-4)}`,
        errorName: 'ThrottlingException',
      }),
    ]);
    expect(result.rawBody).not.toContain(secret);
  });

  it('one decision line per call in the authorizer shape, VALID at INFO and refusals at WARN', async () => {
    const handler = container();
    const { secret, credential } = issue({ scopes: ['content:read'] });
    await invoke(handler, verifyEvent({ token: secret, method: 'GET', path: '/content/a' }));
    await invoke(handler, verifyEvent({ token: secret, method: 'PUT', path: '/content/a' }));
    await invoke(handler, verifyEvent({ token: generateToken('atk').secret }));
    const [valid, scope, unknown] = decisionLines();
    expect(Object.keys(valid ?? {}).slice(-7)).toEqual([
      'reason',
      'gateway',
      'method',
      'area',
      'tokenId',
      'userId',
      'latencyMs',
    ]);
    expect(valid).toMatchObject({
      level: 'INFO',
      reason: 'VALID',
      gateway: 'verify',
      method: 'GET',
      area: 'content',
    });
    expect(valid).toMatchObject({ tokenId: credential.tokenId, userId: credential.userId });
    expect(scope).toMatchObject({
      level: 'WARN',
      reason: 'INSUFFICIENT_SCOPE',
      requiredScope: 'content:write',
    });
    expect(unknown).toMatchObject({
      level: 'WARN',
      reason: 'NOT_FOUND',
      hint: expect.stringMatching(/^atk_…/),
    });
    expect(decisionLines()).toHaveLength(3);
  });

  it('records lastUsedAt after a VALID decision, throttled per container, never for a refusal', async () => {
    const handler = container();
    const { secret, credential } = issue({ scopes: ['content:read'] });
    await invoke(handler, verifyEvent({ token: secret, method: 'GET', path: '/content/a' }));
    await invoke(handler, verifyEvent({ token: secret, method: 'GET', path: '/content/b' }));
    await invoke(handler, verifyEvent({ token: secret, method: 'POST', path: '/content/b' }));
    await new Promise((resolve) => setImmediate(resolve));
    const updates = ddb.commandCalls(UpdateCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.args[0].input).toMatchObject({ Key: KEYS.token(credential.tokenId) });
    const revoked = issue({ state: 'revoked' });
    await invoke(handler, verifyEvent({ token: revoked.secret }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});

// --- The oracle -----------------------------------------------------------------------------------

describe('property: /verify agrees with the access model oracle, and never returns a secret or a hash', () => {
  const SCOPES = [
    'reports:read',
    'reports:write',
    'content:read',
    'content:write',
    'jobs:read',
    'jobs:write',
  ];
  const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const segment = fc.constantFrom('reports', 'content', 'jobs', 'x1', 'Upper', '9lives', 'export');
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
  const v6 = fc
    .tuple(fc.constantFrom('2001:db8', '2001:db8:1', 'fd00'), fc.nat(0xffff), fc.nat(0xffff))
    .map(([prefix, a, b]) => `${prefix}::${a.toString(16)}:${b.toString(16)}`);
  const sourceIp = fc.option(
    fc.oneof(
      v4,
      v6,
      v4.map((address) => `::ffff:${address}`),
      fc.constantFrom('10.0.0.1', '203.0.113.77', '2001:db8::1', 'not-an-ip'),
    ),
    { nil: undefined },
  );
  const cidr = fc.oneof(
    fc.tuple(v4, fc.nat(32)).map(([address, prefix]) => `${address}/${prefix}`),
    fc.tuple(v6, fc.nat(128)).map(([address, prefix]) => `${address}/${prefix}`),
    fc.constantFrom('10.0.0.0/8', '203.0.113.0/24', '2001:db8::/32', '::ffff:10.0.0.0/104', '10.0.0.1'),
  );
  const NOW = Date.now();
  const instant = fc.oneof(fc.constant(null), fc.constant(NOW - 60_000), fc.constant(NOW + 3_600_000));

  it('for random tokens, scopes, allowlists and requests: the same reason, and only the owner fields', async () => {
    const handler = container();
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          token: fc.constantFrom<PresentedToken>('issued', 'issued', 'issued', 'unknown', 'malformed'),
          scopes: fc.subarray(SCOPES, { minLength: 1 }),
          type: fc.constantFrom('standard', 'restricted', 'reporting'),
          allowedIps: fc.array(cidr, { maxLength: 3 }),
          state: fc.constantFrom<CredentialRecord['state']>('active', 'active', 'active', 'revoked'),
          expiresAtMs: instant,
          notAfterMs: instant,
          disabled: fc.constantFrom(false, false, false, false, true),
          request: fc.option(
            fc.record({
              method: fc.constantFrom(...METHODS),
              path: fc.array(segment, { minLength: 0, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
            }),
            { nil: undefined },
          ),
          requiredScope: fc.option(fc.constantFrom(...SCOPES), { nil: undefined }),
          sourceIp,
        }),
        async (input) => {
          const issued = issue({
            scopes: input.scopes,
            type: input.type,
            allowedIps: input.allowedIps,
            state: input.state,
            expiresAtMs: input.expiresAtMs,
            notAfterMs: input.notAfterMs,
            disabled: input.disabled,
          });
          const secret =
            input.token === 'issued'
              ? issued.secret
              : input.token === 'unknown'
                ? generateToken('atk').secret
                : `${issued.secret.slice(0, -1)}!`;
          const expected = verifyOracle(
            {
              token: input.token,
              credential: issued.credential,
              request: input.request,
              requiredScope: input.requiredScope,
              sourceIp: input.sourceIp,
            },
            Date.now(),
          );
          seen.add(expected);
          logs.clear();
          const result: InvokeResult = await invoke(
            handler,
            verifyEvent({
              token: secret,
              ...input.request,
              ...(input.requiredScope === undefined ? {} : { requiredScope: input.requiredScope }),
              ...(input.sourceIp === undefined ? {} : { sourceIp: input.sourceIp }),
            }),
          );
          expect(result.status).toBe(200);
          const body = result.json as Record<string, unknown>;
          expect(body.reason).toBe(expected);
          expect(body.valid).toBe(expected === 'VALID');
          const known = input.token === 'issued';
          expect(Object.keys(body).sort()).toEqual(
            known
              ? ['accountId', 'reason', 'scopes', 'tokenId', 'type', 'userId', 'valid']
              : ['reason', 'valid'],
          );
          expect(decisionLines().map((line) => line.reason)).toEqual([expected]);
          // Never the secret, its hash or the key: not in the response, not in any line.
          for (const text of [result.rawBody, logs.text()]) {
            expect(text).not.toContain(secret);
            expect(text).not.toContain(issued.credential.secretHash);
            expect(text).not.toContain(secret.slice(4, -4));
          }
        },
      ),
      { numRuns: 300 },
    );
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
  });
});
