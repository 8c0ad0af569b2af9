import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CredentialRecord } from '../../../lambdas/core/model.js';
import type { CredentialReader } from '../../../lambdas/core/ports.js';
import { QUOTA_PERIODS } from '../../../lambdas/core/rate-limits.js';
import { keepUnchangedCredentials, sameCredential } from '../../../lambdas/core/unchanged-credentials.js';
import { credentialRecord } from '../../support/authorizer-events.js';

// The token authorizer reuses a credential object when a read finds the record unchanged, and what
// it derived from the object (its REST answer, its log fields) with it. If "unchanged" were wrong,
// a revoked, disabled or re-scoped token would be answered from the record before the change.

/** Records with few distinct values per field, so that pairs are often equal and often differ in one field. */
const limitsArb = fc.option(
  fc.record(
    {
      rateLimit: fc.option(
        fc.record(
          { requestsPerSecond: fc.constantFrom(1, 50), burst: fc.constantFrom(1, 100) },
          { noNullPrototype: true },
        ),
        { nil: null },
      ),
      quota: fc.option(
        fc.record(
          { limit: fc.constantFrom(10, 20), period: fc.constantFrom(...QUOTA_PERIODS) },
          { noNullPrototype: true },
        ),
        { nil: null },
      ),
    },
    { noNullPrototype: true },
  ),
  { nil: null },
);
const recordArb: fc.Arbitrary<CredentialRecord> = fc
  .record(
    {
      secretHash: fc.constantFrom('h1', 'h2'),
      tokenId: fc.constantFrom('tok_a', 'tok_b'),
      userId: fc.constantFrom('user-1', 'user-2'),
      accountId: fc.constantFrom('acct-1', 'acct-2'),
      scopes: fc.subarray(['content:read', 'content:write', 'reports:read']),
      type: fc.constantFrom('standard', 'service'),
      allowedIps: fc.subarray(['198.51.100.7', '203.0.113.0/24']),
      state: fc.constantFrom('active', 'revoked'),
      expiresAtMs: fc.constantFrom(null, 1_800_000_000_000, 1_800_000_000_001),
      notAfterMs: fc.constantFrom(null, 1_800_000_000_000),
      keyVersion: fc.constantFrom('v1', 'v2'),
      disabled: fc.boolean(),
      accessGeneration: fc.constantFrom(0, 1),
      limits: fc.option(limitsArb, { nil: undefined }),
    },
    { noNullPrototype: true },
  )
  .map((record) => {
    // `limits` absent (a record written before limits existed) is not the same as `limits: null`.
    const { limits, ...rest } = record;
    return limits === undefined ? rest : { ...rest, limits };
  });

/** A copy of `record` as a new read makes it: every object and array new. */
const reread = (record: CredentialRecord): CredentialRecord => structuredClone(record);

/** A reader that returns whatever the test sets, as a new object each time (as DynamoDB's does). */
function scriptedReader(): CredentialReader & { next: CredentialRecord | undefined; reads: number } {
  const reader = {
    next: undefined as CredentialRecord | undefined,
    reads: 0,
    findByHash: async () => {
      reader.reads += 1;
      return reader.next === undefined ? undefined : reread(reader.next);
    },
  };
  return reader;
}

describe('sameCredential', () => {
  it('says what isDeepStrictEqual says, for any record and any record one field away from it', () => {
    const fields = Object.keys(credentialRecord({ limits: null })) as (keyof CredentialRecord)[];
    fc.assert(
      fc.property(recordArb, recordArb, fc.constantFrom(...fields), (a, other, field) => {
        // `b` is `a` with one field taken from `other` (often the same value, often not).
        const b = reread({ ...a, [field]: other[field] });
        expect(sameCredential(a, b)).toBe(isDeepStrictEqual(a, b));
        expect(sameCredential(a, other)).toBe(isDeepStrictEqual(a, other));
        expect(sameCredential(a, reread(a))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('tells apart a record that differs in any one field', () => {
    const base = credentialRecord({ limits: null });
    const changes: Partial<CredentialRecord>[] = [
      { secretHash: 'other' },
      { tokenId: 'tok_other' },
      { userId: 'user-other' },
      { accountId: 'acct-other' },
      { scopes: [...base.scopes, 'reports:read'] },
      { scopes: [] },
      { type: 'other' },
      { allowedIps: ['198.51.100.7'] },
      { state: 'revoked' },
      { expiresAtMs: 1 },
      { notAfterMs: 1 },
      { keyVersion: 'v9' },
      { disabled: !base.disabled },
      { accessGeneration: base.accessGeneration + 1 },
      { limits: { rateLimit: { requestsPerSecond: 1, burst: 1 }, quota: null } },
    ];
    for (const change of changes) expect(sameCredential(base, { ...base, ...change })).toBe(false);
    const { limits: _limits, ...withoutLimits } = base;
    expect(sameCredential(base, withoutLimits)).toBe(false);
  });
});

describe('keepUnchangedCredentials', () => {
  it('reads every time, and answers with the first object while the record is unchanged', async () => {
    const reader = scriptedReader();
    const credentials = keepUnchangedCredentials(reader, 10);
    reader.next = credentialRecord({ secretHash: 'h1' });
    const first = await credentials.findByHash('h1');
    const second = await credentials.findByHash('h1');
    expect(second).toBe(first);
    expect(reader.reads).toBe(2);
  });

  it('answers with the new object once the record changes, and keeps that one after', async () => {
    const reader = scriptedReader();
    const credentials = keepUnchangedCredentials(reader, 10);
    reader.next = credentialRecord({ secretHash: 'h1', state: 'active' });
    const active = await credentials.findByHash('h1');
    reader.next = credentialRecord({ secretHash: 'h1', state: 'revoked' });
    const revoked = await credentials.findByHash('h1');
    expect(revoked).not.toBe(active);
    expect(revoked?.state).toBe('revoked');
    expect(await credentials.findByHash('h1')).toBe(revoked);
  });

  it('forgets a credential that is gone, and gives any sequence of reads the values of the read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(recordArb, { nil: undefined }), { minLength: 1, maxLength: 20 }),
        async (records) => {
          const reader = scriptedReader();
          const credentials = keepUnchangedCredentials(reader, 2);
          let previous: CredentialRecord | undefined;
          for (const record of records) {
            reader.next = record === undefined ? undefined : { ...record, secretHash: 'h' };
            const found = await credentials.findByHash('h');
            expect(found).toEqual(reader.next);
            if (found !== undefined && previous !== undefined && isDeepStrictEqual(found, previous)) {
              expect(found).toBe(previous);
            }
            previous = found;
          }
        },
      ),
    );
  });

  it('remembers at most maxEntries credentials', async () => {
    const reader = scriptedReader();
    const credentials = keepUnchangedCredentials(reader, 2);
    const read = async (hash: string) => {
      // A fixed expiry: credentialRecord's default follows Date.now(), and a record read in the next
      // millisecond would differ (a concurrent run caught it).
      reader.next = credentialRecord({ secretHash: hash, expiresAtMs: 1_800_000_000_000 });
      return credentials.findByHash(hash);
    };
    const a = await read('a');
    await read('b');
    expect(await read('a')).toBe(a);
    await read('c'); // full: starts over with c alone
    expect(await read('a')).not.toBe(a);
  });
});
