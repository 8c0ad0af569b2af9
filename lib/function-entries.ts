import {
  MANAGEMENT_ROUTES,
  type ManagementRouteName,
  type RouteDefinition,
} from '../lambdas/contract/routes.js';

// The deployment half of the route table: what the CDK stack (and the local stack, which runs the
// same handler modules) needs to run each route: its handler module and what its function may do.
// The API half (method, path, auth, roles, summary) is the contract's (lambdas/contract/routes.ts);
// both are keyed by route name, and every route must have its deployment (a missing or extra key
// does not compile). Plain data, no CDK import: the local stack and the bench read it too.

export interface RoutePermissions {
  /**
   * What the function may do to the table. `verify`: the token authorizer's access and no more
   * (lib/constructs/token-table.ts grantVerify + grantRecordLastUsed): GetItem of credential items,
   * UpdateItem of a token's lastUsedAt.
   */
  readonly table: 'none' | 'read' | 'readWrite' | 'verify';
  /** Whether it hashes secrets and so must decrypt the HMAC key. */
  readonly hmacKey: boolean;
  /** Whether it signs list cursors and so must decrypt the cursor key (not the HMAC key). */
  readonly cursorKey?: boolean;
  /**
   * What it does to API Gateway usage keys and plans (docs/rate-limits.md): `manage` syncs a token's
   * key right after its write (create, edit), `read` reads a key's quota usage (token detail).
   */
  readonly usagePlans?: 'read' | 'manage';
}

export interface RouteDeployment {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly permissions: RoutePermissions;
  /**
   * The function's timeout, for a route whose work grows with its request (at most 28: API Gateway
   * stops waiting at 29 s). @default 10
   */
  readonly timeoutSeconds?: number;
}

export const ROUTE_DEPLOYMENTS = {
  createToken: {
    entry: 'lambdas/create-token/handler.ts',
    permissions: { table: 'readWrite', hmacKey: true, usagePlans: 'manage' },
  },
  listTokens: {
    entry: 'lambdas/list-tokens/handler.ts',
    // cursorKey: list cursors are signed with a key of their own, not the HMAC key.
    permissions: { table: 'read', hmacKey: false, cursorKey: true },
  },
  revokeAllTokens: {
    entry: 'lambdas/revoke-all-tokens/handler.ts',
    permissions: { table: 'readWrite', hmacKey: false },
  },
  getRevokeAllJob: {
    entry: 'lambdas/get-revoke-all-job/handler.ts',
    permissions: { table: 'read', hmacKey: false },
  },
  getToken: {
    entry: 'lambdas/get-token/handler.ts',
    permissions: { table: 'read', hmacKey: false, usagePlans: 'read' },
  },
  revokeToken: {
    entry: 'lambdas/revoke-token/handler.ts',
    permissions: { table: 'readWrite', hmacKey: false },
  },
  updateToken: {
    entry: 'lambdas/update-token/handler.ts',
    permissions: { table: 'readWrite', hmacKey: false, usagePlans: 'manage' },
  },
  rotateToken: {
    entry: 'lambdas/rotate-token/handler.ts',
    permissions: { table: 'readWrite', hmacKey: true },
  },
  setUserTokenAccess: {
    entry: 'lambdas/set-user-token-access/handler.ts',
    permissions: { table: 'readWrite', hmacKey: false },
  },
  getUserTokenAccess: {
    entry: 'lambdas/get-user-token-access/handler.ts',
    permissions: { table: 'read', hmacKey: false },
  },
  listAuditEvents: {
    entry: 'lambdas/list-audit-events/handler.ts',
    permissions: { table: 'read', hmacKey: false, cursorKey: true },
  },
  getPolicy: {
    entry: 'lambdas/get-policy/handler.ts',
    permissions: { table: 'none', hmacKey: false },
  },
  reportLeaks: {
    entry: 'lambdas/report-leaks/handler.ts',
    // hmacKey: a reported secret is looked up by its HMAC; readWrite: the revocation.
    permissions: { table: 'readWrite', hmacKey: true },
    // One report holds up to 2,000 matches (docs/leaks.md), each a read and maybe a revocation.
    timeoutSeconds: 28,
  },
  reportLeak: {
    entry: 'lambdas/report-leak/handler.ts',
    permissions: { table: 'readWrite', hmacKey: true },
  },
  verifyToken: {
    entry: 'lambdas/verify-token/handler.ts',
    permissions: { table: 'verify', hmacKey: true },
  },
  getOpenApi: {
    entry: 'lambdas/openapi/handler.ts',
    permissions: { table: 'none', hmacKey: false },
  },
} as const satisfies Record<ManagementRouteName, RouteDeployment>;

/** A route with its deployment: what one management function is built from. */
export type DeployedRoute = RouteDefinition & RouteDeployment & { readonly name: ManagementRouteName };

/** The route table with each route's deployment, in the table's order. */
export const DEPLOYED_ROUTES: readonly DeployedRoute[] = MANAGEMENT_ROUTES.map((route) => ({
  ...route,
  ...ROUTE_DEPLOYMENTS[route.name],
}));

/** Other Lambda entry points (not management routes), for the stack and the local stack. */
export const FUNCTION_ENTRIES = {
  tokenAuthorizer: 'lambdas/token-authorizer/handler.ts',
  jwtAuthorizer: 'lambdas/jwt-authorizer/handler.ts',
  hmacKeyResource: 'lambdas/hmac-key-resource/handler.ts',
  demoApi: 'lambdas/demo-api/handler.ts',
  /** The table stream's consumer: token events → emails (SES). */
  notifier: 'lambdas/notifier/handler.ts',
  /** Daily (EventBridge): reminders for tokens that expire soon. */
  reminderJob: 'lambdas/reminder-job/handler.ts',
  /** The table stream's TTL deletions of token items: release limit slots, audit `token.expired`. */
  expiryLedger: 'lambdas/expiry-ledger/handler.ts',
  /** The table stream's token items: each token's API Gateway usage key (docs/rate-limits.md). */
  usageKeys: 'lambdas/usage-keys/handler.ts',
  /** Revoke-all jobs' queue (SQS): the slices of a large account's revoke-all after the request's. */
  revokeAllWorker: 'lambdas/revoke-all-tokens/worker.ts',
} as const;
