import { createHmac } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HMAC_CHANNEL, hashToken } from '../../../lambdas/core/hashing.js';
import { generateToken } from '../../../lambdas/core/token-format.js';

const hexToBase64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
const oracle = (material: Uint8Array, input: string) =>
  createHmac('sha256', material).update(input, 'utf8').digest('base64url');

describe('hashToken (HMAC-SHA256, base64url)', () => {
  it("gives RFC 4231's HMAC-SHA256 test vectors", () => {
    // Test cases 1, 2, 3 and 6 (6: a 131-byte key, hashed first; its long input takes node:crypto's path).
    const cases = [
      {
        key: Buffer.alloc(20, 0x0b),
        data: 'Hi There',
        mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      },
      {
        key: Buffer.from('Jefe'),
        data: 'what do ya want for nothing?',
        mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      },
      {
        key: Buffer.alloc(131, 0xaa),
        data: 'Test Using Larger Than Block-Size Key - Hash Key First',
        mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      },
    ];
    for (const { key, data, mac } of cases) {
      expect(hashToken({ version: 'v1', material: key }, data)).toBe(hexToBase64url(mac));
    }
    // Test case 3: 50 bytes of 0xdd are not ASCII: node:crypto's path, the same answer.
    const dd = String.fromCharCode(...Buffer.alloc(50, 0xdd));
    expect(hashToken({ version: 'v1', material: Buffer.alloc(20, 0xaa) }, dd)).toBe(
      oracle(Buffer.alloc(20, 0xaa), dd),
    );
  });

  it("is node:crypto's HMAC for every key and string: tokens, ASCII up to and past one block, any text", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 140 }),
        fc.oneof(
          fc.string({ unit: 'binary-ascii', maxLength: 70 }),
          fc.string({ minLength: 50, maxLength: 60 }),
          fc.string({ unit: 'grapheme', maxLength: 60 }),
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.constant(generateToken('atk').secret),
          fc.constantFrom('', 'a'.repeat(55), 'a'.repeat(56), `${'a'.repeat(54)}é`),
        ),
        (material, input) => {
          expect(hashToken({ version: 'v1', material }, input)).toBe(oracle(material, input));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('one key object gives the same answers call after call, and a second key its own', () => {
    const first = { version: 'v1', material: Buffer.alloc(32, 1) };
    const second = { version: 'v2', material: Buffer.alloc(32, 2) };
    const { secret } = generateToken('atk');
    for (let round = 0; round < 3; round++) {
      expect(hashToken(first, secret)).toBe(oracle(first.material, secret));
      expect(hashToken(second, secret)).toBe(oracle(second.material, secret));
    }
  });

  it(`publishes one message on ${HMAC_CHANNEL} per HMAC, on either path`, () => {
    let count = 0;
    const onMessage = () => {
      count += 1;
    };
    subscribe(HMAC_CHANNEL, onMessage);
    try {
      const key = { version: 'v1', material: Buffer.alloc(32, 3) };
      hashToken(key, generateToken('atk').secret);
      hashToken(key, 'x'.repeat(100));
    } finally {
      unsubscribe(HMAC_CHANNEL, onMessage);
    }
    expect(count).toBe(2);
  });
});
