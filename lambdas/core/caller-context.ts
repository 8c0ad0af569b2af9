import { z } from 'zod';
import { ROLES } from './model.js';

// What the management API's JWT authorizer hands to the route handlers in
// `requestContext.authorizer` (API Gateway allows only string values there). The JWT authorizer
// produces it from verified claims; the HTTP layer parses it into a Caller.
export const callerContextSchema = z.object({
  userId: z.string().min(1).max(256),
  accountId: z.string().min(1).max(256),
  role: z.enum(ROLES),
  /** Empty string when the JWT carries no email. */
  email: z.string().max(320),
});

export type CallerContext = z.infer<typeof callerContextSchema>;
