import { createHmac, hash } from 'node:crypto';

/** The HMAC key as it lives in Lambda memory: raw bytes plus the version recorded on each token. */
export interface HmacKey {
  readonly version: string;
  readonly material: Uint8Array;
}

// HMAC-SHA256 as RFC 2104 composes it, over node:crypto's one-shot SHA-256 (`hash`):
// SHA-256((K ⊕ opad) ‖ SHA-256((K ⊕ ipad) ‖ token)), with both pad blocks prepared once per key.
//
// Why not createHmac: it builds an Hmac object, an OpenSSL context and fetches the digest on every
// call, 4 to 5 µs here, about a third of a cache-hit verification in the token authorizer; the same
// two SHA-256 computations through `hash` over prepared buffers take about 2.5 µs
// (docs/performance.md, round 4). No library offers that: node:crypto has no reusable HMAC, and
// @noble/hashes' precomputed HMAC was slower than createHmac. Only the composition is written here,
// ten lines of RFC 2104; SHA-256 itself stays OpenSSL's. test/unit/core/hashing.test.ts holds the
// result to RFC 4231's vectors and to createHmac for any key and string (fast-check).

const BLOCK_BYTES = 64;
/**
 * Token bytes the prepared inner buffer holds. A string of at most a third as many UTF-16 units
 * fits in it as UTF-8 (3 bytes per unit at most); a longer one (no well-formed token is) goes to
 * createHmac.
 */
const MESSAGE_CAPACITY = 384;
const FAST_PATH_MAX_UNITS = MESSAGE_CAPACITY / 3;

/** One key's prepared blocks: `(K ⊕ ipad)` followed by room for the message, and `(K ⊕ opad)` followed by room for the inner digest. */
interface PreparedKey {
  readonly inner: Buffer;
  readonly outer: Buffer;
  /**
   * `inner` up to each end a message has had, made once: the tokens of a deployment all have one
   * length, and a view per call was a visible share of the HMAC.
   */
  readonly innerUpTo: Buffer[];
}

// Keyed weakly by the HmacKey object, so a key that is dropped (rotation, tests) takes its pads
// with it. HmacKey is readonly, so the material the pads were made from does not change under them.
const preparedKeys = new WeakMap<HmacKey, PreparedKey>();

function prepare(key: HmacKey): PreparedKey {
  let prepared = preparedKeys.get(key);
  if (prepared === undefined) {
    // RFC 2104: a key longer than the block is hashed first; a shorter one is padded with zeros.
    const material =
      key.material.length > BLOCK_BYTES ? hash('sha256', key.material, 'buffer') : key.material;
    const inner = Buffer.alloc(BLOCK_BYTES + MESSAGE_CAPACITY);
    const outer = Buffer.alloc(BLOCK_BYTES + 32);
    for (let index = 0; index < BLOCK_BYTES; index++) {
      const byte = material[index] ?? 0;
      inner[index] = byte ^ 0x36;
      outer[index] = byte ^ 0x5c;
    }
    prepared = { inner, outer, innerUpTo: [] };
    preparedKeys.set(key, prepared);
  }
  return prepared;
}

/** HMAC-SHA256 of the whole token string (UTF-8), base64url: the only form of a secret that is ever stored. */
export function hashToken(key: HmacKey, secret: string): string {
  if (secret.length > FAST_PATH_MAX_UNITS) {
    return createHmac('sha256', key.material).update(secret, 'utf8').digest('base64url');
  }
  const { inner, outer, innerUpTo } = prepare(key);
  const end = BLOCK_BYTES + inner.write(secret, BLOCK_BYTES, 'utf8');
  let message = innerUpTo[end];
  if (message === undefined) {
    message = inner.subarray(0, end);
    innerUpTo[end] = message;
  }
  // 'binary' (Node's alias of latin1) gives the 32 digest bytes as 32 characters, one per byte, and
  // writes them back the same way: no Buffer made for the inner digest. The token's bytes stay in
  // `inner` until the next call, as the token itself stays in memory (docs/security.md, "Assets").
  const innerDigest = hash('sha256', message, 'binary');
  outer.write(innerDigest, BLOCK_BYTES, 'binary');
  return hash('sha256', outer, 'base64url');
}
