import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCredentialItem } from '../../../lambdas/adapters/credential-item-check.js';
import { credentialFor, credentialItemSchema, credentialToItem } from '../../../lambdas/adapters/items.js';
import { credentialRecord } from '../../support/authorizer-events.js';
import { tokenRecord } from '../management/records.js';

// A credential carries the token's own limits (for the strict mode of HTTP APIs): the hand-written
// check reads them exactly as items.ts's zod schema does, and credentialFor copies them.

function zodResult(item: Record<string, unknown>): { ok: true; value: unknown } | { ok: false } {
  const parsed = credentialItemSchema.safeParse(item);
  if (!parsed.success) return { ok: false };
  const { entity: _entity, ...credential } = parsed.data;
  return { ok: true, value: credential };
}

function handResult(item: Record<string, unknown>): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: checkCredentialItem(item) };
  } catch {
    return { ok: false };
  }
}

const OVERRIDE = { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: { limit: 20, period: 'DAY' } };
const VALID = { ...credentialToItem(credentialRecord()), limits: OVERRIDE };

const anyValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.constantFrom('DAY', 'WEEK', 'MONTH', 'YEAR'),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);

describe('credential limits', () => {
  it('reads them like the schema: present, null, absent (items written before: null)', () => {
    for (const limits of [OVERRIDE, null, undefined, { rateLimit: null, quota: null }]) {
      const item = { ...VALID, limits };
      expect(handResult(item)).toStrictEqual(zodResult(item));
      expect(handResult(item).ok).toBe(true);
    }
    expect(checkCredentialItem({ ...VALID, limits: undefined }).limits).toBeNull();
    expect(checkCredentialItem(VALID).limits).toEqual(OVERRIDE);
  });

  it('agrees with credentialItemSchema on random mutations of the limits', () => {
    const path = fc.constantFrom(
      ['limits'],
      ['limits', 'rateLimit'],
      ['limits', 'quota'],
      ['limits', 'rateLimit', 'requestsPerSecond'],
      ['limits', 'rateLimit', 'burst'],
      ['limits', 'quota', 'limit'],
      ['limits', 'quota', 'period'],
      ['limits', 'extra'],
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(path, anyValue), { maxLength: 3 }), (mutations) => {
        const item = structuredClone(VALID) as Record<string, unknown>;
        for (const [keys, value] of mutations) {
          let target: unknown = item;
          for (const key of keys.slice(0, -1)) {
            target =
              typeof target === 'object' && target !== null
                ? (target as Record<string, unknown>)[key]
                : undefined;
          }
          const last = keys[keys.length - 1];
          if (typeof target === 'object' && target !== null && last !== undefined) {
            (target as Record<string, unknown>)[last] = value;
          }
        }
        expect(handResult(item)).toEqual(zodResult(item));
      }),
      { numRuns: 1000 },
    );
  });

  it('credentialFor copies the token’s own limits, and null for a token on its type’s', () => {
    const limited = tokenRecord({ limits: { rateLimit: { requestsPerSecond: 5, burst: 5 }, quota: null } });
    expect(credentialFor(limited).limits).toEqual(limited.limits);
    expect(checkCredentialItem(credentialToItem(credentialFor(limited))).limits).toEqual(limited.limits);
    expect(credentialFor(tokenRecord({ limits: null })).limits).toBeNull();
  });
});
