import { z } from 'zod';
import { ROLES } from './model.js';

// What the management API's JWT authorizer hands to the route handlers in
// `requestContext.authorizer` (API Gateway allows only string values there). The JWT authorizer
// produces it from verified claims; the HTTP layer parses it into a Caller.
// Ids are refused if they contain `#`: item keys join ids with `#` (`USER#<accountId>#<userId>`), so
// `#` inside an id could make two users' keys coincide.
const identifier = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^#]+$/, 'must not contain #');

export const callerContextSchema = z.object({
  userId: identifier,
  accountId: identifier,
  role: z.enum(ROLES),
  /** Empty string when the JWT carries no email. */
  email: z.string().max(320),
});

export type CallerContext = z.infer<typeof callerContextSchema>;
