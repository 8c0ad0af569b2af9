// The one pattern every identity must match where it enters the system: the JWT's `sub` and account
// claim (lambdas/adapters/jwt-identity.ts), the caller context the JWT authorizer hands the routes
// (lambdas/contract/caller-context.ts), user ids in paths and queries (lambdas/contract/api-schemas.ts) and the local dev sign-in
// (local/dev-identity-routes.ts). README "Management API" documents it.
//
// Why a whitelist rather than a list of refused characters: ids are joined with `#` into item keys
// (`USER#<accountId>#<userId>`), `*` means "the whole account" in `?userId=*`, control characters and
// spaces end up in log lines and email bodies, and `/` in a path parameter. Anything outside the
// pattern is refused at the edge (401 for a JWT or caller context, 400 for a path or query), so no
// identity can ever collide with a sentinel or a key separator, whatever meaning those get later.
// It admits the ids real issuers hand out: Cognito and Keycloak UUIDs, Auth0's `auth0|5f7c…`,
// Google's and GitHub's digits, Entra ID's base64url `sub`, email-shaped ids, `user-<hex>` (local).
// Zod-free: the token authorizer's bundle may use it without pulling zod in.

/** Letters, digits and `. _ - @ | : + = ~`, 1 to 256 characters. Never `*`, `#`, `/`, spaces or controls. */
export const IDENTITY_PATTERN = /^[A-Za-z0-9._@|:+=~-]{1,256}$/;

export const IDENTITY_PATTERN_DESCRIPTION =
  '1–256 characters: letters, digits and . _ - @ | : + = ~ (no *, #, /, spaces or control characters)';

/** True when `value` is a string an identity (user id, account id) may be. */
export function isSafeIdentity(value: unknown): value is string {
  return typeof value === 'string' && IDENTITY_PATTERN.test(value);
}

/** `?userId=*`: every user of the caller's account. Never a user id (IDENTITY_PATTERN refuses `*`). */
export const WHOLE_ACCOUNT = '*';
