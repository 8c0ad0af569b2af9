import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCredentialItem } from '../../../lambdas/adapters/credential-item-check.js';
import { credentialItemSchema, credentialToItem } from '../../../lambdas/adapters/items.js';
import { credentialRecord } from '../../support/authorizer-events.js';

// The authorizer's hand-written credential check must accept exactly what items.ts's zod
// credentialItemSchema accepts, and return the same record.

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

const VALID = credentialToItem(credentialRecord({ scopes: ['content:read'], allowedIps: ['10.0.0.0/8'] }));

const anyValue = fc.oneof(
  fc.string(),
  fc.constantFrom('active', 'revoked', 'credential', 'token', ''),
  fc.double(),
  fc.integer(),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.object({ maxDepth: 1 }),
);

const FIELDS = [
  'entity',
  'secretHash',
  'tokenId',
  'userId',
  'accountId',
  'scopes',
  'type',
  'allowedIps',
  'state',
  'expiresAtMs',
  'notAfterMs',
  'keyVersion',
  'disabled',
  'accessGeneration',
  'pk',
  'ttl',
  'extra',
] as const;

describe('checkCredentialItem', () => {
  it('accepts a credential item written by credentialToItem and returns the record without the item keys', () => {
    expect(handResult(VALID)).toEqual(zodResult(VALID));
    const expected = zodResult(VALID);
    expect(expected.ok && checkCredentialItem(VALID)).toStrictEqual(expected.ok && expected.value);
  });

  it.each([
    ['no disabled / accessGeneration (defaults)', { disabled: undefined, accessGeneration: undefined }],
    ['null expiry and notAfter', { expiresAtMs: null, notAfterMs: null }],
    ['fractional expiry', { expiresAtMs: 1.5 }],
    ['revoked', { state: 'revoked' }],
    ['empty arrays', { scopes: [], allowedIps: [] }],
  ])('accepts like the schema: %s', (_name, patch) => {
    const item = { ...VALID, ...patch };
    const hand = handResult(item);
    expect(hand.ok).toBe(true);
    expect(hand).toEqual(zodResult(item));
  });

  it.each([
    ['wrong entity', { entity: 'token' }],
    ['missing secretHash', { secretHash: undefined }],
    ['numeric tokenId', { tokenId: 7 }],
    ['unknown state', { state: 'expired' }],
    ['scopes not an array', { scopes: 'content:read' }],
    ['a non-string scope', { scopes: ['content:read', 3] }],
    ['an undefined scope', { scopes: [undefined, 'content:read'] }],
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is under test
    ['a sparse scopes array', { scopes: [, 'content:read'] }],
    ['NaN expiry', { expiresAtMs: Number.NaN }],
    ['infinite notAfter', { notAfterMs: Number.POSITIVE_INFINITY }],
    ['missing expiresAtMs', { expiresAtMs: undefined }],
    ['disabled not a boolean', { disabled: 'false' }],
    ['disabled null', { disabled: null }],
    ['negative accessGeneration', { accessGeneration: -1 }],
    ['fractional accessGeneration', { accessGeneration: 1.5 }],
    ['unsafe accessGeneration', { accessGeneration: 2 ** 53 }],
  ])('rejects like the schema: %s', (_name, patch) => {
    const item = { ...VALID, ...patch };
    expect(zodResult(item).ok).toBe(false);
    expect(handResult(item).ok).toBe(false);
  });

  it('agrees with credentialItemSchema on random mutations of a valid item', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...FIELDS), anyValue, { maxKeys: 4 }),
        fc.uniqueArray(fc.constantFrom(...FIELDS), { maxLength: 2 }),
        (patch, removed) => {
          const item: Record<string, unknown> = { ...VALID, ...patch };
          for (const field of removed) delete item[field];
          expect(handResult(item)).toEqual(zodResult(item));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('agrees with credentialItemSchema on arbitrary objects', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...FIELDS), anyValue), (item) => {
        expect(handResult(item)).toEqual(zodResult(item));
      }),
      { numRuns: 1000 },
    );
  });
});
