import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEYS } from '../../lambdas/adapters/table-definition.js';
import { MANAGEMENT_ROUTES, type ManagementRouteName, routeNamed } from '../../lambdas/contract/routes.js';
import type { CallerContext } from '../../lambdas/core/caller-context.js';
import { newTokenId } from '../../lambdas/core/ids.js';
import { ROLES, type Role, type TokenView } from '../../lambdas/core/model.js';
import { generateToken } from '../../lambdas/core/token-format.js';
import { createTestTable, dynamoEndpoint, type TestTable } from '../support/dynamo.js';
import { stubHandlerEnv } from '../support/env.js';
import { type ManagementClient, managementClient, type RouteRequest } from '../support/management-client.js';
import {
  adminContext,
  captureLogs,
  errorOf,
  type InvokeResult,
  memberContext,
  viewerContext,
} from '../support/proxy-events.js';

// The management API's authorization matrix, cell by cell, through the real handlers on DynamoDB
// Local: every authenticated route × the caller's role × the target's relation to the caller.
//
//   own               the caller's own token, or the caller's own user id (or no userId at all)
//   sameAccountOther  a token of / the id of another user of the caller's account
//   otherAccount      a token of / the id of a user of another account
//
// Routes with no token in the path express the relation through `userId`: `?userId=` for the
// listings and DELETE /tokens (and, for POST /tokens and GET /policy, which take no query, a
// `?userId=` that must change nothing), the path parameter for /users/{userId}/token-access.
// Whatever the status, a cell must never reveal or touch the other account's data.

type Relation = 'own' | 'sameAccountOther' | 'otherAccount';
// getRevokeAllJob names a job, not a user or token: its visibility is tested with the jobs
// (test/integration/revoke-all-job.test.ts). GitHub's signed leak reports are public, not a role's
// (test/integration/leaks.test.ts). verifyToken is for AWS principals (IAM), not users: below, no
// role's JWT reaches it.
type MatrixRoute = Exclude<
  ManagementRouteName,
  'getOpenApi' | 'getRevokeAllJob' | 'reportLeaks' | 'verifyToken'
>;
type Row = Record<Relation, number>;

const RELATIONS: readonly Relation[] = ['own', 'sameAccountOther', 'otherAccount'];

/** One row: the statuses for own, same-account other, other account. */
const row = (own: number, sameAccountOther: number, otherAccount: number): Row => ({
  own,
  sameAccountOther,
  otherAccount,
});

// The written expectation. 403: the role may not do this at all, or (userId filters) not for
// another user — the same answer whether that user exists or not. 404: a token the caller may not
// see, exactly like one that does not exist. An admin's userId from another account is read in the
// admin's own account: a 200 that holds none of the other account's data and changes none of it.
const EXPECTED: Record<MatrixRoute, Record<Role, Row>> = {
  //                                 own  other user  other account
  createToken: /*    POST /tokens?userId= */ {
    admin: row(201, 201, 201), // the query is ignored: the token is always the caller's own
    member: row(201, 201, 201),
    viewer: row(403, 403, 403),
  },
  listTokens: /*     GET /tokens?userId= */ {
    admin: row(200, 200, 200), // other account: an empty list
    member: row(200, 403, 403),
    viewer: row(200, 403, 403),
  },
  revokeAllTokens: /* DELETE /tokens?userId= */ {
    admin: row(200, 200, 200), // other account: {revoked: 0}
    member: row(200, 403, 403),
    viewer: row(200, 403, 403), // revoking only reduces access: a demoted owner ends their own tokens
  },
  getToken: /*       GET /tokens/{id} */ {
    admin: row(200, 200, 404),
    member: row(200, 404, 404),
    viewer: row(200, 404, 404),
  },
  revokeToken: /*    DELETE /tokens/{id} */ {
    admin: row(204, 204, 404),
    member: row(204, 404, 404),
    viewer: row(204, 404, 404), // owner-revokes-after-demotion: the viewer's own token was made as a member
  },
  updateToken: /*    PATCH /tokens/{id} */ {
    admin: row(200, 200, 404),
    member: row(200, 404, 404),
    viewer: row(403, 403, 403),
  },
  rotateToken: /*    POST /tokens/{id}/rotate */ {
    admin: row(201, 201, 404),
    member: row(201, 404, 404),
    viewer: row(403, 403, 403),
  },
  setUserTokenAccess: /* PUT /users/{userId}/token-access */ {
    admin: row(200, 200, 200), // other account: the id is read in the admin's account
    member: row(403, 403, 403),
    viewer: row(403, 403, 403),
  },
  getUserTokenAccess: /* GET /users/{userId}/token-access */ {
    admin: row(200, 200, 200),
    member: row(200, 403, 403),
    viewer: row(200, 403, 403),
  },
  listAuditEvents: /* GET /audit-events?userId= */ {
    admin: row(200, 200, 200), // other account: an empty page
    member: row(200, 403, 403),
    viewer: row(200, 403, 403),
  },
  reportLeak: /*     POST /leaks {token} */ {
    // Presenting the secret is the authorization: any role, any token of the caller's own account;
    // another account's secret is the 404 of an unknown one (docs/leaks.md).
    admin: row(200, 200, 404),
    member: row(200, 200, 404),
    viewer: row(200, 200, 404),
  },
  getPolicy: /*      GET /policy?userId= */ {
    admin: row(200, 200, 200),
    member: row(200, 200, 200),
    viewer: row(200, 200, 200),
  },
};

const MATRIX_ROUTES = Object.keys(EXPECTED) as MatrixRoute[];
const CELL_COUNT = MATRIX_ROUTES.length * ROLES.length * RELATIONS.length;

const HOME = 'acct-home';
const FOREIGN = 'acct-foreign';

/** The callers: one per role, all in the home account. */
const CALLERS: Record<Role, CallerContext> = {
  admin: adminContext({ userId: 'root', accountId: HOME, email: 'root@example.com' }),
  member: memberContext({ userId: 'alice', accountId: HOME, email: 'alice@example.com' }),
  viewer: viewerContext({ userId: 'vic', accountId: HOME, email: 'vic@example.com' }),
};
/** Another user of the home account, and a user of the other account. */
const BOB = memberContext({ userId: 'bob', accountId: HOME, email: 'bob@example.com' });
const EVE = memberContext({ userId: 'eve', accountId: FOREIGN, email: 'eve@example.com' });

/** Who owns the target of a cell. */
function targetUser(role: Role, relation: Relation): CallerContext {
  if (relation === 'own') return CALLERS[role];
  return relation === 'sameAccountOther' ? BOB : EVE;
}

/**
 * The identity that creates a token for `user`. A viewer cannot create tokens, so a viewer's own
 * token is one they created while they were a member (a demoted user keeps their tokens).
 */
function creatorFor(user: CallerContext): CallerContext {
  return user.role === 'viewer' ? { ...user, role: 'member' } : user;
}

type CreatedView = TokenView & { secret: string };
type StoredItem = Record<string, unknown>;

interface TokenSnapshot {
  readonly id: string;
  readonly token: StoredItem;
  readonly credential: StoredItem;
}

describe('authorization matrix on DynamoDB Local', () => {
  let table: TestTable;
  let client: ManagementClient;
  const foreignSnapshots: TokenSnapshot[] = [];
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    table = await createTestTable();
    stubHandlerEnv({
      tableName: table.tableName,
      dynamoEndpoint: dynamoEndpoint(),
      policy: { maxActiveTokensPerUser: 500, maxActiveTokensPerAccount: 5000 },
    });
    // Every handler straight from the route table: a route added there is loaded here.
    client = await managementClient();
    logs = captureLogs();
    // A baseline: every identity holds a token, so every listing and audit trail has something in it.
    for (const user of [...Object.values(CALLERS), BOB]) await create(creatorFor(user));
    await createForeign();
    await createForeign();
  });
  afterAll(async () => {
    logs.restore();
    vi.unstubAllEnvs();
    await table.drop();
  });

  const call = (name: ManagementRouteName, request: RouteRequest) => client.call(name, request);

  async function item(key: Record<string, string>): Promise<StoredItem | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
    );
    return Item;
  }

  async function snapshot(id: string): Promise<TokenSnapshot> {
    const token = await item(KEYS.token(id));
    if (token === undefined) throw new Error(`token ${id} is not stored`);
    const credential = await item(KEYS.credential(String(token.secretHash)));
    if (credential === undefined) throw new Error(`token ${id} has no credential`);
    return { id, token, credential };
  }

  async function create(creator: CallerContext): Promise<CreatedView> {
    const result = await call('createToken', {
      caller: creator,
      body: { name: 'matrix', scopes: ['content:read'] },
    });
    expect(result.status, result.rawBody).toBe(201);
    return result.json as CreatedView;
  }

  /** A fresh token of the other account, remembered to prove at the end that nothing touched it. */
  async function createForeign(): Promise<CreatedView> {
    const created = await create(EVE);
    foreignSnapshots.push(await snapshot(created.id));
    return created;
  }

  /** A fresh token for the cell's target (the owner's own write, made before the cell runs). */
  const freshTokenOf = (user: CallerContext) =>
    user.accountId === FOREIGN ? createForeign() : create(creatorFor(user));

  /** The request a cell sends, given the target user and (for token routes) the target token id. */
  function requestFor(
    name: MatrixRoute,
    caller: CallerContext,
    relation: Relation,
    target: CallerContext,
    tokenId: string | undefined,
    secret: string | undefined,
  ): RouteRequest {
    const userQuery: Record<string, string> = relation === 'own' ? {} : { userId: target.userId };
    switch (name) {
      case 'createToken':
        return { caller, query: userQuery, body: { name: 'matrix-create', scopes: ['content:read'] } };
      case 'listTokens':
      case 'revokeAllTokens':
      case 'listAuditEvents':
      case 'getPolicy':
        return { caller, query: userQuery };
      case 'getToken':
      case 'revokeToken':
        return { caller, pathParameters: { id: String(tokenId) } };
      case 'updateToken':
        return { caller, pathParameters: { id: String(tokenId) }, body: { name: 'renamed-by-matrix' } };
      case 'rotateToken':
        return { caller, pathParameters: { id: String(tokenId) } };
      case 'setUserTokenAccess':
        return { caller, pathParameters: { userId: target.userId }, body: { enabled: false } };
      case 'getUserTokenAccess':
        return { caller, pathParameters: { userId: target.userId } };
      case 'reportLeak':
        return { caller, body: { token: String(secret), url: 'https://example.com/matrix' } };
    }
  }

  const TOKEN_ROUTES: ReadonlySet<MatrixRoute> = new Set([
    'getToken',
    'revokeToken',
    'updateToken',
    'rotateToken',
    'reportLeak',
  ]);

  /** Nothing of the other account in a home caller's response: not its id, not one of its tokens. */
  function expectNoForeignData(result: InvokeResult): void {
    expect(result.rawBody).not.toContain(FOREIGN);
    for (const foreign of foreignSnapshots) expect(result.rawBody).not.toContain(foreign.id);
  }

  it('the written table covers exactly the authenticated routes, and agrees with their roles', () => {
    // getRevokeAllJob: visibility by job, tested in test/integration/revoke-all-job.test.ts.
    const authenticated = MANAGEMENT_ROUTES.filter(
      (route) => route.auth === 'jwt' && route.name !== 'getRevokeAllJob',
    ).map((route) => route.name);
    expect([...MATRIX_ROUTES].sort()).toEqual([...authenticated].sort());
    for (const name of MATRIX_ROUTES) {
      const allowed: readonly Role[] = routeNamed(name).roles;
      for (const role of ROLES) {
        if (!allowed.includes(role))
          expect(EXPECTED[name][role], `${name} ${role}`).toEqual(row(403, 403, 403));
      }
    }
    expect(CELL_COUNT).toBe(108);
  });

  it('GET /openapi.json is public: 200 with no caller at all, and the same for every role', async () => {
    const anonymous = await call('getOpenApi', { caller: null });
    expect(anonymous.status).toBe(200);
    expect(anonymous.json).toMatchObject({ openapi: expect.stringMatching(/^3\.1/) });
    for (const role of ROLES) {
      const result = await call('getOpenApi', { caller: CALLERS[role] });
      expect(result.status).toBe(200);
      expect(result.rawBody).toBe(anonymous.rawBody);
    }
  });

  describe.each(MATRIX_ROUTES)('%s', (name) => {
    describe.each(ROLES)('as %s', (role) => {
      it.each(RELATIONS)('target: %s', async (relation) => {
        const caller = CALLERS[role];
        const target = targetUser(role, relation);
        const expected = EXPECTED[name][role][relation];

        // Fresh state for the cell: a token of the target for the token routes and DELETE /tokens.
        const fresh =
          TOKEN_ROUTES.has(name) || name === 'revokeAllTokens' ? await freshTokenOf(target) : undefined;
        const before = fresh === undefined ? undefined : await snapshot(fresh.id);
        const accessBefore = await item(KEYS.userAccess(HOME, target.userId));

        const result = await call(name, requestFor(name, caller, relation, target, fresh?.id, fresh?.secret));
        expect(result.status, `${name} ${role} ${relation}: ${result.rawBody}`).toBe(expected);
        expectNoForeignData(result);

        if (expected >= 400) {
          expect(errorOf(result)?.code).toBe(expected === 404 ? 'NOT_FOUND' : 'FORBIDDEN');
          // A refused request changes nothing.
          if (before !== undefined) expect(await snapshot(before.id)).toEqual(before);
          if (expected === 404) {
            // Indistinguishable from a token that does not exist.
            const missing = await call(
              name,
              requestFor(name, caller, relation, target, newTokenId(), generateToken('atk').secret),
            );
            expect(missing.status).toBe(404);
            expect(missing.rawBody).toBe(result.rawBody);
          }
          expect(await item(KEYS.userAccess(HOME, target.userId))).toEqual(accessBefore);
          return;
        }
        await expectSuccessEffects(name, caller, relation, target, result, before);
      });
    });
  });

  async function expectSuccessEffects(
    name: MatrixRoute,
    caller: CallerContext,
    relation: Relation,
    target: CallerContext,
    result: InvokeResult,
    before: TokenSnapshot | undefined,
  ): Promise<void> {
    switch (name) {
      case 'createToken': {
        // Whatever userId the query names, the token is the caller's, in the caller's account.
        expect(result.json).toMatchObject({
          userId: caller.userId,
          accountId: HOME,
          createdBy: caller.userId,
        });
        return;
      }
      case 'listTokens': {
        const items = (result.json as { items: TokenView[] }).items;
        const owner = relation === 'otherAccount' ? undefined : target.userId;
        if (owner === undefined) expect(items).toEqual([]);
        else {
          expect(items.length).toBeGreaterThan(0);
          for (const token of items) expect(token).toMatchObject({ accountId: HOME, userId: owner });
        }
        return;
      }
      case 'listAuditEvents': {
        const items = (result.json as { items: { accountId: string; subjectUserId: string }[] }).items;
        // Never an event of the other account. With no userId an admin reads the whole account; an
        // admin's userId from the other account reads that id in the admin's own account (only the
        // admin's own actions on it, from earlier cells: revoke-all, token access).
        expect(items.length).toBeGreaterThan(0);
        for (const event of items) expect(event.accountId).toBe(HOME);
        const accountWide = relation === 'own' && caller.role === 'admin';
        if (!accountWide) for (const event of items) expect(event.subjectUserId).toBe(target.userId);
        if (relation === 'otherAccount') {
          for (const event of items) expect(event).toMatchObject({ actor: { userId: caller.userId } });
        }
        return;
      }
      case 'revokeAllTokens': {
        if (before === undefined) throw new Error('no fresh token');
        const after = await snapshot(before.id);
        if (relation === 'otherAccount') {
          expect(result.json).toMatchObject({ revoked: 0, status: 'done' });
          expect(after).toEqual(before);
        } else {
          expect((result.json as { revoked: number }).revoked).toBeGreaterThanOrEqual(1);
          expect(after.token.state).toBe('revoked');
          expect(after.credential.state).toBe('revoked');
        }
        return;
      }
      case 'getToken':
      case 'updateToken':
      case 'rotateToken': {
        if (before === undefined) throw new Error('no fresh token');
        expect(result.json).toMatchObject({ id: before.id, userId: target.userId, accountId: HOME });
        if (name === 'updateToken') expect(result.json).toMatchObject({ name: 'renamed-by-matrix' });
        if (name === 'rotateToken')
          expect((await snapshot(before.id)).token.secretHash).not.toBe(before.token.secretHash);
        if (name === 'getToken') expect(await snapshot(before.id)).toEqual(before);
        return;
      }
      case 'revokeToken': {
        if (before === undefined) throw new Error('no fresh token');
        expect((await snapshot(before.id)).token.state).toBe('revoked');
        return;
      }
      case 'reportLeak': {
        if (before === undefined) throw new Error('no fresh token');
        expect(result.json).toEqual({ tokenId: before.id, outcome: 'revoked' });
        const after = await snapshot(before.id);
        expect(after.token.state).toBe('revoked');
        expect(after.credential.state).toBe('revoked');
        return;
      }
      case 'getUserTokenAccess': {
        expect(result.json).toMatchObject({ userId: target.userId, accountId: HOME, enabled: true });
        return;
      }
      case 'setUserTokenAccess': {
        // The switch lands in the caller's account, whatever the id; the other account's user keeps
        // their access item-less and their tokens verifying.
        expect(result.json).toMatchObject({ userId: target.userId, accountId: HOME, enabled: false });
        expect(await item(KEYS.userAccess(HOME, target.userId))).toMatchObject({ enabled: false });
        if (relation === 'otherAccount') {
          expect(result.json).toMatchObject({ tokensAffected: 0 });
          expect(await item(KEYS.userAccess(FOREIGN, target.userId))).toBeUndefined();
        }
        // Switch it back, so later cells find the user's access as it was.
        const restored = await call('setUserTokenAccess', {
          caller: CALLERS.admin,
          pathParameters: { userId: target.userId },
          body: { enabled: true },
        });
        expect(restored.status).toBe(200);
        return;
      }
      case 'getPolicy':
        return;
    }
  }

  // Rows beyond role × relation (issue #11): an owner demoted to viewer ends their own tokens; while an
  // admin has a user's token access off, nobody can edit, rotate or create that user's tokens, but
  // they can still be revoked.
  describe('demoted and disabled owners', () => {
    const DAN = memberContext({ userId: 'dan', accountId: HOME, email: 'dan@example.com' });
    const DAN_DEMOTED = viewerContext({ userId: 'dan', accountId: HOME, email: 'dan@example.com' });
    const DORA = memberContext({ userId: 'dora', accountId: HOME, email: 'dora@example.com' });
    const widen = { scopes: ['content:read', 'system:write'] };

    async function disableDora(): Promise<void> {
      const result = await call('setUserTokenAccess', {
        caller: CALLERS.admin,
        pathParameters: { userId: DORA.userId },
        body: { enabled: false },
      });
      expect(result.status).toBe(200);
    }

    interface Outcome {
      readonly result: InvokeResult;
      /** The token the row acts on, as it was just before the request. */
      readonly before?: TokenSnapshot;
    }
    type Scenario = readonly [name: string, expected: number, run: () => Promise<Outcome>];

    /** Creates a token for `owner`, disables Dora, then sends the request. */
    const onToken =
      (owner: CallerContext, name: MatrixRoute, caller: CallerContext, body?: object, disable = true) =>
      async (): Promise<Outcome> => {
        const token = await create(owner);
        const before = await snapshot(token.id);
        if (disable) await disableDora();
        const result = await call(name, { caller, pathParameters: { id: token.id }, body });
        return { result, before };
      };

    const SCENARIOS: readonly Scenario[] = [
      [
        'demoted owner (viewer now): DELETE /tokens/{id} of their own token',
        204,
        onToken(DAN, 'revokeToken', DAN_DEMOTED, undefined, false),
      ],
      [
        'demoted owner (viewer now): DELETE /tokens (their own)',
        200,
        async () => {
          const token = await create(DAN);
          return {
            result: await call('revokeAllTokens', { caller: DAN_DEMOTED, query: {} }),
            before: await snapshot(token.id),
          };
        },
      ],
      [
        'disabled owner: PATCH /tokens/{id} of their own token',
        403,
        onToken(DORA, 'updateToken', DORA, widen),
      ],
      [
        'disabled owner: PATCH /tokens/{id} by an admin of the account',
        403,
        onToken(DORA, 'updateToken', CALLERS.admin, widen),
      ],
      ['disabled owner: POST /tokens/{id}/rotate', 403, onToken(DORA, 'rotateToken', DORA)],
      [
        'disabled owner: POST /tokens',
        403,
        async () => {
          await disableDora();
          return {
            result: await call('createToken', {
              caller: DORA,
              body: { name: 'disabled', scopes: ['content:read'] },
            }),
          };
        },
      ],
      [
        'disabled owner: DELETE /tokens/{id} still ends their own token',
        204,
        onToken(DORA, 'revokeToken', DORA),
      ],
    ];

    afterEach(async () => {
      // Every row starts with Dora's access on, whatever the previous one left.
      const result = await call('setUserTokenAccess', {
        caller: CALLERS.admin,
        pathParameters: { userId: DORA.userId },
        body: { enabled: true },
      });
      expect(result.status).toBe(200);
    });

    it.each(SCENARIOS)('%s → %i', async (_name, expected, run) => {
      const { result, before } = await run();
      expect(result.status, result.rawBody).toBe(expected);
      expectNoForeignData(result);
      if (before === undefined) return;
      const after = await snapshot(before.id);
      if (expected === 403) {
        expect(errorOf(result)?.code).toBe('FORBIDDEN');
        // A refused change leaves the token as it was (its credential is disabled by the switch).
        expect(after.token).toEqual(before.token);
      } else {
        expect(after.token.state).toBe('revoked');
        expect(after.credential.state).toBe('revoked');
      }
    });
  });

  it('the other account is untouched: every one of its tokens still active and unchanged, its trail its own', async () => {
    expect(foreignSnapshots.length).toBeGreaterThan(10);
    for (const before of foreignSnapshots) {
      const after = await snapshot(before.id);
      expect(after).toEqual(before);
      expect(after.token.state).toBe('active');
      expect(after.credential.state).toBe('active');
      expect(after.credential.disabled).toBe(false);
    }
    expect(await item(KEYS.userAccess(FOREIGN, EVE.userId))).toBeUndefined();

    const foreignAdmin = adminContext({ userId: 'eve-admin', accountId: FOREIGN });
    const tokens = await call('listTokens', { caller: foreignAdmin, query: { userId: '*', limit: '100' } });
    const items = (tokens.json as { items: TokenView[] }).items;
    expect(items.map((token) => token.id).sort()).toEqual(foreignSnapshots.map((token) => token.id).sort());
    expect(items.every((token) => token.status === 'active' && token.name === 'matrix')).toBe(true);

    const trail = await call('listAuditEvents', { caller: foreignAdmin, query: { limit: '100' } });
    const events = (trail.json as { items: { action: string; actor: { userId: string | null } }[] }).items;
    expect(events.length).toBe(foreignSnapshots.length);
    expect(events.every((event) => event.action === 'token.created' && event.actor.userId === 'eve')).toBe(
      true,
    );
  });

  it(`the matrix has ${CELL_COUNT} cells`, () => {
    expect(CELL_COUNT).toBe(MATRIX_ROUTES.length * 9);
  });
});
