import type { Role } from './model.js';

// What the management API's JWT authorizer hands to the route handlers in
// `requestContext.authorizer` (API Gateway allows only string values there). The JWT authorizer
// produces it from verified claims; the HTTP layer checks it against the contract's schema
// (lambdas/contract/caller-context.ts) and turns it into a Caller.
// A type alias, not an interface: it is also a Lambda authorizer context (string-indexed).
export type CallerContext = {
  userId: string;
  accountId: string;
  role: Role;
  /** Empty string when the JWT carries no email. */
  email: string;
};
