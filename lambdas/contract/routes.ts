import type { Role } from '../core/model.js';

// The one route table of the management API, its API half: method, path, auth, roles, summary.
// The OpenAPI document lists it, the HTTP layer checks roles with it, the local gateway dispatches
// with it, and the CDK stack builds one method per entry. The deployment half (each route's
// handler module and permissions) lives with the CDK code, keyed by route name
// (lib/function-entries.ts). Paths use API Gateway's `{param}` syntax.

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteDefinition {
  /** Stable camelCase name: function ids, OpenAPI operationId. */
  readonly name: string;
  readonly method: HttpMethod;
  readonly path: string;
  /**
   * `jwt`: behind the JWT authorizer; `public`: no authentication; `iam`: SigV4-signed by an AWS
   * principal the operator allows (`execute-api:Invoke`), for services, not people (docs/verify.md).
   */
  readonly auth: 'jwt' | 'public' | 'iam';
  /** Roles allowed to call it; empty for public and IAM routes. */
  readonly roles: readonly Role[];
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
    auth: 'jwt',
    roles: WRITERS,
    summary: 'Create a token; the response carries its secret, shown this once only.',
  },
  {
    name: 'listTokens',
    method: 'GET',
    path: '/tokens',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: "List the caller's tokens; an admin may list another user's or the whole account's.",
  },
  {
    name: 'revokeAllTokens',
    method: 'DELETE',
    path: '/tokens',
    auth: 'jwt',
    roles: REVOKERS,
    summary:
      "Revoke every active token of the caller; an admin may pass another user's id or `*` (the account). 200 when done, 202 while a job finishes a large account.",
  },
  {
    name: 'getRevokeAllJob',
    method: 'GET',
    path: '/revoke-all-jobs/{jobId}',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: "A revoke-all job's progress: your own jobs, or any of your account's for admins.",
  },
  {
    name: 'getToken',
    method: 'GET',
    path: '/tokens/{id}',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: 'Get one token.',
  },
  {
    name: 'revokeToken',
    method: 'DELETE',
    path: '/tokens/{id}',
    auth: 'jwt',
    roles: REVOKERS,
    summary:
      'Revoke a token. Irreversible; revoking again answers 204 and changes nothing; an expired token is a 409.',
  },
  {
    name: 'updateToken',
    method: 'PATCH',
    path: '/tokens/{id}',
    auth: 'jwt',
    roles: WRITERS,
    summary:
      "Edit a token's name, description, scopes, allowlist or expiry; the gateway follows within the revocation window.",
  },
  {
    name: 'rotateToken',
    method: 'POST',
    path: '/tokens/{id}/rotate',
    auth: 'jwt',
    roles: WRITERS,
    summary:
      'A new secret for the same token; the old one stops now or after the grace period (at most 24 h).',
  },
  {
    name: 'setUserTokenAccess',
    method: 'PUT',
    path: '/users/{userId}/token-access',
    auth: 'jwt',
    roles: ['admin'],
    summary:
      "Admins: disable (or enable again) a user's tokens; while disabled they are refused and none can be created.",
  },
  {
    name: 'getUserTokenAccess',
    method: 'GET',
    path: '/users/{userId}/token-access',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: "Whether a user's token access is enabled: your own, or any user of your account for admins.",
  },
  {
    name: 'listAuditEvents',
    method: 'GET',
    path: '/audit-events',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: 'The audit trail, newest first: your own tokens and access; an admin sees the whole account.',
  },
  {
    name: 'getPolicy',
    method: 'GET',
    path: '/policy',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary: 'Expiry presets, maximum lifetime, limits, scope catalogue and token types.',
  },
  {
    name: 'reportLeaks',
    method: 'POST',
    path: '/leaks/github',
    auth: 'public',
    roles: [],
    summary:
      "GitHub secret scanning partner alerts: every active token among the matches is revoked and its owner emailed. Signed by GitHub (a bad or missing signature is a 401 and changes nothing); answers GitHub's feedback array.",
  },
  {
    name: 'reportLeak',
    method: 'POST',
    path: '/leaks',
    auth: 'jwt',
    roles: ALL_ROLES,
    summary:
      'Report a token of your account found in the wild: it is revoked and its owner emailed. Presenting the secret is the authorization; any other string is a 404.',
  },
  {
    name: 'verifyToken',
    method: 'POST',
    path: '/verify',
    auth: 'iam',
    roles: [],
    summary:
      "Services outside API Gateway: the token authorizer's decision for a token (valid, reason, owner, scopes). SigV4-signed (IAM) callers only.",
  },
  {
    name: 'getOpenApi',
    method: 'GET',
    path: '/openapi.json',
    auth: 'public',
    roles: [],
    summary: 'This API as an OpenAPI 3.1 document.',
  },
] as const satisfies readonly RouteDefinition[];

export type ManagementRouteName = (typeof MANAGEMENT_ROUTES)[number]['name'];

export function routeNamed(name: ManagementRouteName): RouteDefinition {
  const route = MANAGEMENT_ROUTES.find((candidate) => candidate.name === name);
  if (route === undefined) throw new Error(`no route named ${name}`);
  return route;
}
