import { z } from 'zod';
import type { CallerContext } from '../core/caller-context.js';
import { IDENTITY_PATTERN, IDENTITY_PATTERN_DESCRIPTION } from '../core/identity.js';
import { ROLES } from '../core/model.js';

// What the management API's JWT authorizer hands to the route handlers in
// `requestContext.authorizer` (API Gateway allows only string values there). The JWT authorizer
// produces it from verified claims; the HTTP layer parses it into a Caller.
// This schema is the contract's check of it (core/caller-context.ts holds the type).
// Ids must match the one identity pattern (core/identity.ts): no `#` (item keys join ids with `#`, so
// `#` inside an id could make two users' keys coincide), no `*` (the "whole account" sentinel), no
// control characters. A context that breaks it is a 401, whatever produced it.
const identifier = z.string().regex(IDENTITY_PATTERN, `must be ${IDENTITY_PATTERN_DESCRIPTION}`);

export const callerContextSchema: z.ZodType<CallerContext> = z.object({
  userId: identifier,
  accountId: identifier,
  role: z.enum(ROLES),
  /** Empty string when the JWT carries no email. */
  email: z.string().max(320),
});
