import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../../lambdas/contract/api-schemas.js';
import { createTokenRoute } from '../../../lambdas/create-token/route.js';
import { listTokensRoute } from '../../../lambdas/list-tokens/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  captureLogs,
  errorOf,
  type InvokeResult,
  invoke,
  isContractErrorResponse,
  proxyEvent,
} from '../../support/proxy-events.js';

// Property tests over the two endpoints that take free-form input. Whatever arrives, the answer is
// never a 5xx, and every error is the contract's error shape.

const CREATE_FIELDS = ['name', 'description', 'scopes', 'expiresInDays', 'expiresAt', 'type', 'allowedIps'];
const LIST_FIELDS = ['status', 'userId', 'limit', 'cursor'];

const nastyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\r\n',
    '\ud800',
    '\udfff',
    '💥'.repeat(30),
    '__proto__',
    'constructor',
    '*',
  ),
  fc.string({
    unit: fc.constantFrom('\u0000', '\u0007', '\n', '\u001b', '\u007f', '\u0085', 'a'),
    maxLength: 40,
  }),
  fc.nat({ max: 20_000 }).map((length) => 'x'.repeat(length)),
);

const anyJson = fc.jsonValue({ maxDepth: 4 });

const deepJson = fc
  .tuple(fc.integer({ min: 1, max: 7_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom(...CREATE_FIELDS))
  .map(([depth, opener, field]) => {
    const closer = opener === '[' ? ']' : '}';
    return `{"${field}":${opener.repeat(depth)}${opener === '[' ? '' : '1'}${closer.repeat(depth)}}`;
  });

/** Create bodies: plausible ones with wrong types and extra fields, arbitrary JSON, raw text, deep nesting. */
const createBody = fc.oneof(
  fc
    .record(
      {
        name: fc.oneof(nastyString, anyJson),
        description: fc.oneof(nastyString, anyJson),
        scopes: fc.oneof(
          fc.array(fc.oneof(fc.constantFrom('content:read', 'reports:write'), nastyString), {
            maxLength: 60,
          }),
          anyJson,
        ),
        expiresInDays: fc.oneof(fc.integer(), fc.double(), anyJson),
        expiresAt: fc.oneof(
          fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
          nastyString,
          fc.constant(null),
        ),
        type: fc.oneof(fc.constantFrom('standard', 'restricted'), nastyString),
        allowedIps: fc.oneof(
          fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), nastyString), { maxLength: 25 }),
          anyJson,
        ),
      },
      { requiredKeys: [] },
    )
    .map((body) => JSON.stringify(body)),
  fc.dictionary(nastyString, anyJson, { maxKeys: 8 }).map((body) => JSON.stringify(body)),
  anyJson.map((value) => JSON.stringify(value)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  deepJson,
);

const queryValue = fc.oneof(
  nastyString,
  fc.constantFrom(
    'active',
    'revoked',
    'expired',
    'all',
    '1',
    '50',
    '100',
    '101',
    '0',
    '-1',
    '1e2',
    'eyJwayI6MX0',
  ),
);
const listQuery = fc.dictionary(
  fc.oneof(fc.constantFrom(...LIST_FIELDS), nastyString),
  fc.oneof(queryValue, fc.array(queryValue, { minLength: 1, maxLength: 3 })),
  { maxKeys: 6 },
);

function expectWellBehaved(result: InvokeResult): void {
  expect(result.status).toBeLessThan(500);
  if (result.status >= 400) expect(isContractErrorResponse(result)).toBe(true);
}

describe('properties of POST /tokens and GET /tokens', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const deps = managementDeps({ tableName: 'tokens-table' });
  const create = createTokenRoute(deps);
  const list = listTokensRoute(deps);
  let logs: ReturnType<typeof captureLogs>;

  beforeEach(() => {
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
    dynamo.reset();
  });

  const createWith = (body: string, isBase64Encoded = false) =>
    invoke(create, proxyEvent({ method: 'POST', resource: '/tokens', body, isBase64Encoded }));

  it('create: any body → never a 5xx; errors in the contract shape; a 201 carries the secret', async () => {
    await fc.assert(
      fc.asyncProperty(createBody, fc.boolean(), async (body, asBase64) => {
        const result = await createWith(asBase64 ? Buffer.from(body).toString('base64') : body, asBase64);
        expectWellBehaved(result);
        if (result.status === 201) expect(typeof (result.json as { secret?: unknown }).secret).toBe('string');
      }),
      { numRuns: 300 },
    );
  });

  it('create: any unknown field → 400 naming it', async () => {
    const unknownKey = fc
      .string({ minLength: 1, maxLength: 30 })
      .filter((key) => !CREATE_FIELDS.includes(key));
    await fc.assert(
      fc.asyncProperty(unknownKey, anyJson, async (key, value) => {
        const body = JSON.stringify(
          Object.fromEntries([
            ['name', 'n'],
            ['scopes', ['content:read']],
            [key, value],
          ]),
        );
        const result = await createWith(body);
        expect(result.status).toBe(400);
        expect(errorOf(result)?.code).toBe('VALIDATION_FAILED');
        expect(errorOf(result)?.details).toEqual(
          expect.arrayContaining([{ path: key, message: 'unknown field' }]),
        );
      }),
    );
  });

  it('create: any body over 16 KB → 413, whatever it holds and however it is encoded', async () => {
    const oversized = fc
      .tuple(
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: MAX_BODY_BYTES + 1, max: 3 * MAX_BODY_BYTES }),
      )
      .map(([text, size]) => (text + 'x'.repeat(size)).slice(0, size));
    await fc.assert(
      fc.asyncProperty(oversized, fc.boolean(), async (body, asBase64) => {
        fc.pre(Buffer.byteLength(body) > MAX_BODY_BYTES);
        const result = await createWith(asBase64 ? Buffer.from(body).toString('base64') : body, asBase64);
        expect(result.status).toBe(413);
        expect(errorOf(result)?.code).toBe('PAYLOAD_TOO_LARGE');
      }),
      { numRuns: 50 },
    );
  });

  it('create: malformed JSON → 400', async () => {
    const malformed = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(malformed, async (body) => {
        const result = await createWith(body);
        expect(result.status).toBe(400);
        expect(errorOf(result)?.code).toBe('VALIDATION_FAILED');
      }),
    );
  });

  it('create: a valid body becomes exactly one transaction and a 201', async () => {
    const valid = fc.record({
      name: fc
        .string({ minLength: 1, maxLength: 100 })
        .filter((name) => /^[^\p{Cc}]*\S[^\p{Cc}]*$/u.test(name) && name.trim().length <= 100),
      scopes: fc.uniqueArray(
        fc.constantFrom('content:read', 'content:write', 'reports:read', 'system:write'),
        {
          minLength: 1,
        },
      ),
      expiresInDays: fc.constantFrom(7, 30, 90, 180),
    });
    await fc.assert(
      fc.asyncProperty(valid, async (body) => {
        dynamo.resetHistory();
        const result = await createWith(JSON.stringify(body));
        expect(result.status).toBe(201);
        expect(result.json).toMatchObject({ name: body.name.trim(), scopes: body.scopes });
        expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
      }),
      { numRuns: 50 },
    );
  });

  it('list: any query string → never a 5xx; errors in the contract shape', async () => {
    await fc.assert(
      fc.asyncProperty(listQuery, async (query) => {
        const result = await invoke(list, proxyEvent({ method: 'GET', resource: '/tokens', query }));
        expectWellBehaved(result);
        if (result.status === 200) expect(result.json).toEqual({ items: [], nextCursor: null });
      }),
      { numRuns: 300 },
    );
  });

  it('list: any unknown parameter → 400 naming it', async () => {
    const unknownKey = fc.string({ minLength: 1, maxLength: 30 }).filter((key) => !LIST_FIELDS.includes(key));
    await fc.assert(
      fc.asyncProperty(unknownKey, fc.string({ maxLength: 30 }), async (key, value) => {
        const result = await invoke(
          list,
          proxyEvent({ method: 'GET', resource: '/tokens', query: { [key]: value } }),
        );
        expect(result.status).toBe(400);
        expect(errorOf(result)?.details).toEqual(
          expect.arrayContaining([{ path: key, message: 'unknown field' }]),
        );
      }),
    );
  });
});
