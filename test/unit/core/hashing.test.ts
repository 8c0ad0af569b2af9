import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type HmacKey, hashToken } from '../../../lambdas/core/hashing.js';
import { generateToken } from '../../../lambdas/core/token-format.js';

// hashToken composes HMAC-SHA256 from node:crypto's one-shot SHA-256 over pad blocks it prepares
// once per key and buffers it reuses (lambdas/core/hashing.ts). A wrong pad, a stale byte left from
// a longer token, or a key over the block size would change every stored hash: tokens would stop
// verifying after a deploy. These tests hold it to the RFC and to createHmac.

const keyOf = (material: Uint8Array): HmacKey => ({ version: 'v1', material });
const base64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
const reference = (material: Uint8Array, message: string) =>
  createHmac('sha256', material).update(message, 'utf8').digest('base64url');

/** Any UTF-16 string, lone surrogates included (UTF-8 writes them as U+FFFD, as createHmac does). */
const anyUnits = (maxLength: number) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
    maxLength,
  });
const anyMaterial = fc.uint8Array({ minLength: 0, maxLength: 200 });

describe('hashToken', () => {
  // RFC 4231, the HMAC-SHA256 vectors whose data is text (cases 3 and 4 are raw bytes that are not
  // UTF-8; case 5 is truncated output). Case 7's data is longer than the prepared buffer takes.
  it.each([
    {
      name: 'case 1',
      key: Buffer.alloc(20, 0x0b),
      data: 'Hi There',
      hmac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    },
    {
      name: 'case 2 (a key shorter than the output)',
      key: Buffer.from('Jefe'),
      data: 'what do ya want for nothing?',
      hmac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    },
    {
      name: 'case 6 (a key longer than the block)',
      key: Buffer.alloc(131, 0xaa),
      data: 'Test Using Larger Than Block-Size Key - Hash Key First',
      hmac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    },
    {
      name: 'case 7 (key and data longer than the block)',
      key: Buffer.alloc(131, 0xaa),
      data: 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      hmac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
    },
  ])('gives RFC 4231 $name', ({ key, data, hmac }) => {
    expect(hashToken(keyOf(key), data)).toBe(base64url(hmac));
  });

  it('gives what createHmac gives for any key and any string, one key object reused across calls', () => {
    fc.assert(
      fc.property(
        anyMaterial,
        fc.array(anyUnits(260), { minLength: 1, maxLength: 8 }),
        (material, messages) => {
          const key = keyOf(material);
          for (const message of messages) expect(hashToken(key, message)).toBe(reference(material, message));
        },
      ),
    );
  });

  it('gives each key its own answer when keys alternate, and a shorter token after a longer one', () => {
    fc.assert(
      fc.property(
        anyMaterial,
        anyMaterial,
        anyUnits(128),
        anyUnits(128),
        (first, second, longer, shorter) => {
          const [a, b] = [keyOf(first), keyOf(second)];
          expect(hashToken(a, longer)).toBe(reference(first, longer));
          expect(hashToken(b, shorter)).toBe(reference(second, shorter));
          expect(hashToken(a, shorter)).toBe(reference(first, shorter));
          expect(hashToken(b, longer)).toBe(reference(second, longer));
        },
      ),
    );
  });

  it('hashes generated tokens as createHmac does, at the lengths where the prepared buffer ends', () => {
    const material = Buffer.alloc(32, 7);
    const key = keyOf(material);
    const { secret } = generateToken('atk');
    expect(hashToken(key, secret)).toBe(reference(material, secret));
    // 128 units is the last length the prepared buffer takes; 128 three-byte characters fill it.
    for (const message of ['x'.repeat(128), 'x'.repeat(129), '€'.repeat(128), '€'.repeat(129), '']) {
      expect(hashToken(key, message)).toBe(reference(material, message));
    }
  });
});
