import { describe, expect, it } from 'vitest';
import { identityFromClaims } from '../../../lambdas/adapters/jwt-identity.js';
import { callerContextSchema } from '../../../lambdas/contract/caller-context.js';

// Item keys join ids with `#` (`USER#<accountId>#<userId>`): an id containing `#` could make two
// users' keys coincide, so it is refused where identities enter.
const claims = { accountId: 'custom:account_id', role: 'custom:role', email: 'email' };

describe('ids containing #', () => {
  it('are refused in JWT claims', () => {
    const base = { sub: 'user-1', 'custom:account_id': 'acme', 'custom:role': 'member', exp: 1, iat: 0 };
    expect(identityFromClaims(base, claims).userId).toBe('user-1');
    expect(() => identityFromClaims({ ...base, sub: 'acme#user-1' }, claims)).toThrow();
    expect(() => identityFromClaims({ ...base, 'custom:account_id': 'acme#x' }, claims)).toThrow();
  });

  it('are refused in the caller context the handlers read', () => {
    const context = { userId: 'user-1', accountId: 'acme', role: 'member', email: '' };
    expect(callerContextSchema.safeParse(context).success).toBe(true);
    expect(callerContextSchema.safeParse({ ...context, userId: 'a#b' }).success).toBe(false);
    expect(callerContextSchema.safeParse({ ...context, accountId: 'a#b' }).success).toBe(false);
  });
});
