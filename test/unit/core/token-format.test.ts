import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET, encodeBase62 } from '../../../lambdas/core/base62.js';
import {
  CHECKSUM_WIDTH,
  checksumOf,
  generateToken,
  isWellFormedToken,
  RANDOM_BYTES,
  secretScannerPattern,
} from '../../../lambdas/core/token-format.js';

const PREFIX = 'atk';
const randomBytesArb = fc.uint8Array({ minLength: RANDOM_BYTES, maxLength: RANDOM_BYTES });
const base62Char = fc.constantFrom(...BASE62_ALPHABET);

describe('token format', () => {
  it('every generated token parses, has a fixed length and is found by the scanner regex', () => {
    fc.assert(
      fc.property(randomBytesArb, (bytes) => {
        const { secret, hint } = generateToken(PREFIX, bytes);
        expect(isWellFormedToken(secret, PREFIX)).toBe(true);
        expect(secret).toHaveLength(PREFIX.length + 1 + 43 + 6);
        expect(secret.match(secretScannerPattern(PREFIX))).toEqual([secret]);
        expect(hint).toBe(`${PREFIX}_…${secret.slice(-4)}`);
      }),
    );
  });

  it('rejects every single-character substitution', () => {
    fc.assert(
      fc.property(randomBytesArb, fc.nat(), base62Char, (bytes, position, replacement) => {
        const { secret } = generateToken(PREFIX, bytes);
        const index = position % secret.length;
        fc.pre(secret[index] !== replacement);
        const mutated = secret.slice(0, index) + replacement + secret.slice(index + 1);
        expect(isWellFormedToken(mutated, PREFIX)).toBe(false);
      }),
    );
  });

  it('rejects every truncation and every extension', () => {
    fc.assert(
      fc.property(
        randomBytesArb,
        fc.nat(),
        fc.string({ minLength: 1, maxLength: 8 }),
        (bytes, cut, suffix) => {
          const { secret } = generateToken(PREFIX, bytes);
          expect(isWellFormedToken(secret.slice(0, cut % secret.length), PREFIX)).toBe(false);
          expect(isWellFormedToken(secret + suffix, PREFIX)).toBe(false);
          expect(isWellFormedToken(suffix + secret, PREFIX)).toBe(false);
        },
      ),
    );
  });

  it('rejects a valid token of another prefix and arbitrary strings', () => {
    const other = generateToken('xyz').secret;
    expect(isWellFormedToken(other, PREFIX)).toBe(false);
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (garbage) => isWellFormedToken(garbage, PREFIX) === false),
    );
  });

  it('the same answer for a token checked just before and for any other after it (the last-token memo)', () => {
    fc.assert(
      fc.property(randomBytesArb, fc.nat(), base62Char, (bytes, position, replacement) => {
        const { secret } = generateToken(PREFIX, bytes);
        const index = PREFIX.length + 1 + (position % (secret.length - PREFIX.length - 1));
        fc.pre(secret[index] !== replacement);
        const mutated = secret.slice(0, index) + replacement + secret.slice(index + 1);
        expect(isWellFormedToken(secret, PREFIX)).toBe(true);
        expect(isWellFormedToken(secret, PREFIX)).toBe(true);
        // Another prefix, a changed character, an equal copy: each judged as itself.
        expect(isWellFormedToken(secret, 'xyz')).toBe(false);
        expect(isWellFormedToken(mutated, PREFIX)).toBe(false);
        expect(isWellFormedToken(`${secret.slice(0, 1)}${secret.slice(1)}`, PREFIX)).toBe(true);
        expect(isWellFormedToken(mutated, PREFIX)).toBe(false);
      }),
    );
  });

  it('the checksum is the fixed-width base62 of the CRC32 (number arithmetic = the BigInt codec)', () => {
    expect(checksumOf('')).toBe('000000');
    fc.assert(
      fc.property(fc.string({ unit: base62Char, minLength: 43, maxLength: 43 }), (randomPart) => {
        expect(checksumOf(randomPart)).toBe(encodeBase62(BigInt(crc32(randomPart)), CHECKSUM_WIDTH));
      }),
    );
  });

  it('the checksum is over base62 characters only', () => {
    expect(() => checksumOf('abc-def')).toThrow(RangeError);
    expect(() => checksumOf('é')).toThrow(RangeError);
  });

  // The check computes the CRC-32 by hand over the characters (token-format.ts); zlib's crc32 is
  // the oracle: a token is well formed exactly when its last six characters are the base62 of
  // zlib's CRC-32 of the 43 before them.
  const zlibWellFormed = (candidate: string) => {
    const body = candidate.slice(PREFIX.length + 1);
    return (
      candidate.startsWith(`${PREFIX}_`) &&
      /^[0-9A-Za-z]{49}$/.test(body) &&
      body.slice(43) === encodeBase62(BigInt(crc32(body.slice(0, 43))), CHECKSUM_WIDTH)
    );
  };

  it('accepts a token exactly when zlib crc32 agrees with its checksum', () => {
    const bodyChar = fc.oneof(
      { weight: 20, arbitrary: base62Char },
      { weight: 1, arbitrary: fc.constantFrom('_', '-', '/', '\u00e9', '\u0130', ' ', '\u0000') },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: bodyChar, minLength: 43, maxLength: 43 }),
        fc.option(fc.string({ unit: bodyChar, minLength: 6, maxLength: 6 }), { nil: undefined }),
        fc.nat({ max: 5 }),
        (randomPart, otherChecksum, position) => {
          // Half the cases carry the right checksum (or it with one digit changed), half another.
          const right = /^[0-9A-Za-z]+$/.test(randomPart) ? checksumOf(randomPart) : '000000';
          const nearMiss = `${right.slice(0, position)}${right[position] === 'z' ? 'y' : 'z'}${right.slice(position + 1)}`;
          for (const checksum of [right, nearMiss, otherChecksum ?? right]) {
            const candidate = `${PREFIX}_${randomPart}${checksum}`;
            expect(isWellFormedToken(candidate, PREFIX)).toBe(zlibWellFormed(candidate));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses bad prefixes', () => {
    expect(() => generateToken('A')).toThrow(RangeError);
    expect(() => generateToken('has_underscore')).toThrow(RangeError);
  });
});
