import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { auditEventToItem } from '../../../lambdas/adapters/audit-items.js';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { tokenAuditEvent } from '../../../lambdas/core/audit.js';
import type { CallerContext } from '../../../lambdas/core/caller-context.js';
import type { ManagementDeps } from '../../../lambdas/http/management-deps.js';
import type { RouteHandler } from '../../../lambdas/http/route-handler.js';
import { listAuditEventsRoute } from '../../../lambdas/list-audit-events/route.js';
import { listTokensRoute } from '../../../lambdas/list-tokens/route.js';
import { managementDeps } from '../../support/management-deps.js';
import {
  adminContext,
  captureLogs,
  errorOf,
  invoke,
  memberContext,
  proxyEvent,
} from '../../support/proxy-events.js';
import { tokenRecord } from './records.js';

// Signed cursors, as a property: take a cursor the API really issued and change it in any way
// (flip, insert or delete characters, cut it short) or present it as someone else or with another
// query. Every such cursor is a 400 VALIDATION_FAILED on `cursor`, and no read reaches DynamoDB.

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly to: string }
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'truncate'; readonly keep: number };

const base64urlChar = fc.constantFrom(...BASE64URL);
const position = fc.nat({ max: 10_000 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, to: base64urlChar }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    text: fc.string({ unit: base64urlChar, minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), keep: position }),
);

function mutate(cursor: string, mutations: readonly Mutation[]): string {
  let result = cursor;
  for (const step of mutations) {
    const at = result.length === 0 ? 0 : step.kind === 'truncate' ? 0 : step.at % (result.length + 1);
    switch (step.kind) {
      case 'flip': {
        const index = Math.min(at, result.length - 1);
        if (index < 0) break;
        const current = result[index];
        const to =
          step.to === current ? BASE64URL[(BASE64URL.indexOf(step.to) + 1) % BASE64URL.length] : step.to;
        result = `${result.slice(0, index)}${to}${result.slice(index + 1)}`;
        break;
      }
      case 'insert':
        result = `${result.slice(0, at)}${step.text}${result.slice(at)}`;
        break;
      case 'delete':
        result = `${result.slice(0, at)}${result.slice(at + step.count)}`;
        break;
      case 'truncate':
        result = result.slice(0, step.keep % Math.max(result.length, 1));
        break;
    }
  }
  return result;
}

interface Listing {
  readonly name: string;
  readonly resource: string;
  readonly route: (deps: ManagementDeps) => RouteHandler;
  readonly page: () => Record<string, unknown>;
  /** Other callers and other queries the cursor was not issued for. */
  readonly foreign: readonly { readonly caller: CallerContext; readonly query: Record<string, string> }[];
}

const owner = memberContext();
const token = tokenRecord();
const tokenItem = tokenToItem(token);
const auditItem = auditEventToItem(
  tokenAuditEvent(
    'token.created',
    { ...owner, email: undefined, sourceIp: undefined, userAgent: undefined },
    token,
    token.createdAt,
  ),
  365,
);

const LISTINGS: readonly Listing[] = [
  {
    name: 'GET /tokens',
    resource: '/tokens',
    route: listTokensRoute,
    page: () => ({
      Items: [tokenItem],
      LastEvaluatedKey: {
        pk: tokenItem.pk,
        sk: tokenItem.sk,
        gsi1pk: tokenItem.gsi1pk,
        gsi1sk: tokenItem.gsi1sk,
      },
    }),
    foreign: [
      { caller: memberContext({ userId: 'bob' }), query: {} },
      { caller: memberContext({ accountId: 'acct-2' }), query: {} },
      { caller: adminContext({ userId: 'user-1' }), query: {} },
      { caller: owner, query: { status: 'active' } },
      { caller: owner, query: { userId: 'user-1' } },
    ],
  },
  {
    name: 'GET /audit-events',
    resource: '/audit-events',
    route: listAuditEventsRoute,
    page: () => ({
      Items: [auditItem],
      LastEvaluatedKey: {
        pk: auditItem.pk,
        sk: auditItem.sk,
        gsi1pk: auditItem.gsi1pk,
        gsi1sk: auditItem.gsi1sk,
      },
    }),
    foreign: [
      { caller: memberContext({ userId: 'bob' }), query: {} },
      { caller: memberContext({ accountId: 'acct-2' }), query: {} },
      { caller: memberContext({ role: 'viewer' }), query: {} },
      { caller: owner, query: { userId: 'user-1' } },
      { caller: owner, query: { tokenId: token.id } },
    ],
  },
];

// One mock for every listing: a second mockClient of the same class would replace the first's stub.
const dynamo = mockClient(DynamoDBDocumentClient);

describe.each(LISTINGS)('signed cursors of $name', (listing) => {
  let handler: RouteHandler;
  let cursor: string;
  let logs: ReturnType<typeof captureLogs>;

  const list = (query: Record<string, string>, caller: CallerContext = owner) =>
    invoke(handler, proxyEvent({ method: 'GET', resource: listing.resource, query, caller }));

  async function expectRefused(query: Record<string, string>, caller?: CallerContext): Promise<void> {
    dynamo.resetHistory();
    const result = await list(query, caller);
    expect(result.status).toBe(400);
    expect(errorOf(result)?.code).toBe('VALIDATION_FAILED');
    expect(dynamo.calls()).toHaveLength(0);
  }

  beforeAll(async () => {
    handler = listing.route(managementDeps({ tableName: 'tokens-table' }));
    dynamo.on(QueryCommand).resolves(listing.page());
    const first = await list({ limit: '1' });
    cursor = (first.json as { nextCursor: string }).nextCursor;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    logs = captureLogs();
  });
  afterEach(() => {
    dynamo.resetHistory();
  });
  afterAll(() => {
    logs.restore();
    dynamo.reset();
  });

  it('the issued cursor itself is accepted', async () => {
    expect((await list({ limit: '1', cursor })).status).toBe(200);
  });

  it('any modification of it → 400 before any read', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
        const changed = mutate(cursor, mutations);
        fc.pre(changed !== cursor && changed !== '');
        await expectRefused({ limit: '1', cursor: changed });
      }),
      { numRuns: 200 },
    );
  });

  it('presented by another caller or with another query → 400 before any read', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...listing.foreign), async ({ caller, query }) => {
        await expectRefused({ ...query, cursor }, caller);
      }),
      { numRuns: 30 },
    );
  });
});
