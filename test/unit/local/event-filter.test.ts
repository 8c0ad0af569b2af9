import { describe, expect, it } from 'vitest';
import { credentialFor, credentialToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { EXPIRY_LEDGER_FILTER_PATTERN } from '../../../lambdas/expiry-ledger/filter.js';
import { type FilterPattern, filterOf } from '../../../local/event-filter.js';
import {
  insertOf,
  issueToken,
  modifyOf,
  revoked,
  streamRecord,
  ttlDeletion,
  userDeleteOf,
} from '../notifications/support.js';

// Lambda's event filtering as the local stream poller applies it: the expiry ledger's pattern
// against real record shapes, and the matching rules themselves.

describe('the expiry ledger filter, locally', () => {
  const matches = filterOf(EXPIRY_LEDGER_FILTER_PATTERN);

  it('lets through TTL deletions of token items, active or revoked', () => {
    const { token } = issueToken();
    expect(matches(ttlDeletion(token))).toBe(true);
    expect(matches(ttlDeletion(revoked(token)))).toBe(true);
  });

  it("keeps out a user's delete, inserts, modifications and TTL deletions of other items", () => {
    const { token } = issueToken();
    const ttlIdentity = ttlDeletion(token).userIdentity;
    expect(matches(userDeleteOf(token))).toBe(false);
    expect(matches(insertOf(token))).toBe(false);
    expect(matches(modifyOf(token, revoked(token)))).toBe(false);
    expect(
      matches({
        ...streamRecord('REMOVE', { oldItem: credentialToItem(credentialFor(token)) }),
        userIdentity: ttlIdentity,
      }),
    ).toBe(false);
    // A REMOVE by some other service principal is not DynamoDB's TTL.
    expect(
      matches({
        ...streamRecord('REMOVE', { oldItem: tokenToItem(token) }),
        userIdentity: { type: 'Service', principalId: 'example.amazonaws.com' },
      }),
    ).toBe(false);
  });
});

describe('filterOf', () => {
  it('matches exact values, any of a list, nested fields and prefixes', () => {
    const matches = filterOf({
      a: ['x', 'y'],
      n: [1],
      nested: { flag: [true], key: [{ prefix: 'TOKEN#' }] },
    });
    expect(matches({ a: 'y', n: 1, nested: { flag: true, key: 'TOKEN#1' } })).toBe(true);
    expect(matches({ a: 'z', n: 1, nested: { flag: true, key: 'TOKEN#1' } })).toBe(false);
    expect(matches({ a: 'x', n: 1, nested: { flag: true, key: 'CREDENTIAL#1' } })).toBe(false);
    expect(matches({ a: 'x', n: '1', nested: { flag: true, key: 'TOKEN#1' } })).toBe(false);
  });

  it('does not match when a field the pattern names is missing, or is not an object where one is expected', () => {
    const matches = filterOf({ a: { b: ['x'] } });
    expect(matches({})).toBe(false);
    expect(matches({ a: 'x' })).toBe(false);
    expect(matches(undefined)).toBe(false);
    expect(filterOf({ v: [null] })({ v: null })).toBe(true);
    expect(filterOf({ v: [null] })({})).toBe(false);
  });

  it('matches a list field when any of its elements matches', () => {
    expect(filterOf({ tags: ['b'] })({ tags: ['a', 'b'] })).toBe(true);
    expect(filterOf({ tags: ['c'] })({ tags: ['a', 'b'] })).toBe(false);
  });

  it('refuses operators it does not implement, and empty lists, instead of letting records through', () => {
    expect(() => filterOf({ a: [{ 'anything-but': ['x'] } as unknown as string] })).toThrow(/operator/);
    expect(() => filterOf({ a: { b: [{ numeric: ['>', 1] } as unknown as string] } })).toThrow(/a\.b/);
    expect(() => filterOf({ a: [] } as FilterPattern)).toThrow(/empty/);
  });
});
