import type { Role } from './core/model.js';

// The one route table of the management API. The CDK stack builds one function, one method and
// one least-privilege role per entry from it; the local gateway dispatches with it; the OpenAPI
// document lists it. Paths use API Gateway's `{param}` syntax.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RoutePermissions {
  /** What the function may do to the table. */
  readonly table: 'none' | 'read' | 'readWrite';
  /** Whether it hashes secrets and so must decrypt the HMAC key. */
  readonly hmacKey: boolean;
  /** Whether it signs list cursors and so must decrypt the cursor key (not the HMAC key). */
  readonly cursorKey?: boolean;
}

export interface RouteDefinition {
  /** Stable camelCase name: function ids, OpenAPI operationId. */
  readonly name: string;
  readonly method: HttpMethod;
  readonly path: string;
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** `jwt`: behind the JWT authorizer; `public`: no authentication. */
  readonly auth: 'jwt' | 'public';
  /** Roles allowed to call it; empty for public routes. */
  readonly roles: readonly Role[];
  readonly permissions: RoutePermissions;
  readonly summary: string;
}

const ALL_ROLES: readonly Role[] = ['admin', 'member', 'viewer'];
const WRITERS: readonly Role[] = ['admin', 'member'];
// Revoking only ever reduces access, so every role may revoke what it may see: an owner may always
// revoke their own tokens, whatever their role is now (a member demoted to viewer keeps the tokens
// they created, and must be able to end them). The service narrows it: viewers and members their
// own, admins their account's.
const REVOKERS: readonly Role[] = ALL_ROLES;

export const MANAGEMENT_ROUTES = [
  {
    name: 'createToken',
    method: 'POST',
    path: '/tokens',
    entry: 'lambdas/create-token/handler.ts',
    auth: 'jwt',
    roles: WRITERS,
    permissions: { table: 'readWrite', hmacKey: true },
    summary: 'Create a token; the response carries its secret, shown this once only.',
  },
  {
    name: 'listTokens',
    method: 'GET',
    path: '/tokens',
    entry: 'lambdas/list-tokens/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    // cursorKey: list cursors are signed with a key of their own, not the HMAC key.
    permissions: { table: 'read', hmacKey: false, cursorKey: true },
    summary: "List the caller's tokens; an admin may list another user's or the whole account's.",
  },
  {
    name: 'revokeAllTokens',
    method: 'DELETE',
    path: '/tokens',
    entry: 'lambdas/revoke-all-tokens/handler.ts',
    auth: 'jwt',
    roles: REVOKERS,
    permissions: { table: 'readWrite', hmacKey: false },
    summary:
      "Revoke every active token of the caller; an admin may pass another user's id or `*` (the account). 200 when done, 202 while a job finishes a large account.",
  },
  {
    name: 'getRevokeAllJob',
    method: 'GET',
    path: '/revoke-all-jobs/{jobId}',
    entry: 'lambdas/get-revoke-all-job/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    permissions: { table: 'read', hmacKey: false },
    summary: "A revoke-all job's progress: your own jobs, or any of your account's for admins.",
  },
  {
    name: 'getToken',
    method: 'GET',
    path: '/tokens/{id}',
    entry: 'lambdas/get-token/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    permissions: { table: 'read', hmacKey: false },
    summary: 'Get one token.',
  },
  {
    name: 'revokeToken',
    method: 'DELETE',
    path: '/tokens/{id}',
    entry: 'lambdas/revoke-token/handler.ts',
    auth: 'jwt',
    roles: REVOKERS,
    permissions: { table: 'readWrite', hmacKey: false },
    summary:
      'Revoke a token. Irreversible; revoking again answers 204 and changes nothing; an expired token is a 409.',
  },
  {
    name: 'updateToken',
    method: 'PATCH',
    path: '/tokens/{id}',
    entry: 'lambdas/update-token/handler.ts',
    auth: 'jwt',
    roles: WRITERS,
    permissions: { table: 'readWrite', hmacKey: false },
    summary:
      "Edit a token's name, description, scopes, allowlist or expiry; the gateway follows within the revocation window.",
  },
  {
    name: 'rotateToken',
    method: 'POST',
    path: '/tokens/{id}/rotate',
    entry: 'lambdas/rotate-token/handler.ts',
    auth: 'jwt',
    roles: WRITERS,
    permissions: { table: 'readWrite', hmacKey: true },
    summary:
      'A new secret for the same token; the old one stops now or after the grace period (at most 24 h).',
  },
  {
    name: 'setUserTokenAccess',
    method: 'PUT',
    path: '/users/{userId}/token-access',
    entry: 'lambdas/set-user-token-access/handler.ts',
    auth: 'jwt',
    roles: ['admin'],
    permissions: { table: 'readWrite', hmacKey: false },
    summary:
      "Admins: disable (or enable again) a user's tokens; while disabled they are refused and none can be created.",
  },
  {
    name: 'getUserTokenAccess',
    method: 'GET',
    path: '/users/{userId}/token-access',
    entry: 'lambdas/get-user-token-access/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    permissions: { table: 'read', hmacKey: false },
    summary: "Whether a user's token access is enabled: your own, or any user of your account for admins.",
  },
  {
    name: 'listAuditEvents',
    method: 'GET',
    path: '/audit-events',
    entry: 'lambdas/list-audit-events/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    permissions: { table: 'read', hmacKey: false, cursorKey: true },
    summary: 'The audit trail, newest first: your own tokens and access; an admin sees the whole account.',
  },
  {
    name: 'getPolicy',
    method: 'GET',
    path: '/policy',
    entry: 'lambdas/get-policy/handler.ts',
    auth: 'jwt',
    roles: ALL_ROLES,
    permissions: { table: 'none', hmacKey: false },
    summary: 'Expiry presets, maximum lifetime, limits, scope catalogue and token types.',
  },
  {
    name: 'getOpenApi',
    method: 'GET',
    path: '/openapi.json',
    entry: 'lambdas/openapi/handler.ts',
    auth: 'public',
    roles: [],
    permissions: { table: 'none', hmacKey: false },
    summary: 'This API as an OpenAPI 3.1 document.',
  },
] as const satisfies readonly RouteDefinition[];

export type ManagementRouteName = (typeof MANAGEMENT_ROUTES)[number]['name'];

export function routeNamed(name: ManagementRouteName): RouteDefinition {
  const route = MANAGEMENT_ROUTES.find((candidate) => candidate.name === name);
  if (route === undefined) throw new Error(`no route named ${name}`);
  return route;
}

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
  /** Revoke-all jobs' queue (SQS): the slices of a large account's revoke-all after the request's. */
  revokeAllWorker: 'lambdas/revoke-all-tokens/worker.ts',
} as const;
