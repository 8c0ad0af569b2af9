import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { channel } from 'node:diagnostics_channel';

/** The HMAC key as it lives in Lambda memory: raw bytes plus the version recorded on each token. */
export interface HmacKey {
  readonly version: string;
  readonly material: Uint8Array;
}

/**
 * Published once per HMAC computed (when anything subscribes): how `npm run bench` checks that a
 * cache-hit verification computes exactly one, whichever of the two paths below computed it.
 */
export const HMAC_CHANNEL = 'access-tokens:hmac';
const hmacs = channel(HMAC_CHANNEL);

// Why an HMAC-SHA256 by hand (RFC 2104 over FIPS 180-4's SHA-256), next to node:crypto's: the
// authorizer computes one per request, and on an in-process cache hit node:crypto's createHmac was
// about a third of the whole verification (4 to 5 µs here: the Hmac object, OpenSSL's context and
// digest fetch, the update and digest calls), several times the two SHA-256 compressions the HMAC of
// a token takes (docs/performance.md, "Cache-hit path, round 3"). So: the key's inner and outer pad
// blocks are compressed once per key; a token is one block (at most 55 ASCII characters), so each
// HMAC is two compressions in 32-bit integer arithmetic, no allocation but the answer's string.
// The same bytes as node:crypto's for every key and input: test/unit/core/hashing.test.ts checks
// RFC 4231's vectors and compares the two on random keys and strings (node:crypto is the oracle).
// Anything else (a longer input, a non-ASCII character, whose UTF-8 bytes the loop does not
// build) goes to node:crypto. No branch or table index depends on the secret's characters beyond
// "is it ASCII", which the token's format makes public anyway.

const SHA256_K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const SHA256_IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const BLOCK_BYTES = 64;
/** The longest input that fits one block after the inner pad: 64 − 1 (0x80) − 8 (bit length). */
const MAX_ONE_BLOCK_INPUT = 55;

// Scratch space, reused: JavaScript runs one HMAC at a time and nothing here awaits.
const schedule = new Int32Array(64);
const state = new Int32Array(8);
const digestBytes = Buffer.alloc(32);

/** One SHA-256 compression of `schedule[0..15]` from `from` into `state`. */
function compress(from: Int32Array): void {
  const w = schedule;
  const k = SHA256_K;
  for (let t = 16; t < 64; t++) {
    const w15 = w[t - 15] as number;
    const w2 = w[t - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0;
  }
  let a = from[0] as number;
  let b = from[1] as number;
  let c = from[2] as number;
  let d = from[3] as number;
  let e = from[4] as number;
  let f = from[5] as number;
  let g = from[6] as number;
  let h = from[7] as number;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + (k[t] as number) + (w[t] as number)) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((from[0] as number) + a) | 0;
  state[1] = ((from[1] as number) + b) | 0;
  state[2] = ((from[2] as number) + c) | 0;
  state[3] = ((from[3] as number) + d) | 0;
  state[4] = ((from[4] as number) + e) | 0;
  state[5] = ((from[5] as number) + f) | 0;
  state[6] = ((from[6] as number) + g) | 0;
  state[7] = ((from[7] as number) + h) | 0;
}

/** A key's HMAC pad blocks, each compressed once: the state after `key ⊕ ipad` and after `key ⊕ opad`. */
interface PadStates {
  readonly inner: Int32Array;
  readonly outer: Int32Array;
}

function padState(key: Uint8Array, pad: number): Int32Array {
  for (let word = 0; word < 16; word++) {
    let value = 0;
    for (let byte = 0; byte < 4; byte++) {
      const index = word * 4 + byte;
      value = (value << 8) | (((index < key.length ? (key[index] as number) : 0) ^ pad) & 0xff);
    }
    schedule[word] = value;
  }
  compress(SHA256_IV);
  return Int32Array.from(state);
}

function padStatesOf(material: Uint8Array): PadStates {
  // RFC 2104: a key longer than the block is replaced by its hash.
  const key = material.length > BLOCK_BYTES ? createHash('sha256').update(material).digest() : material;
  return { inner: padState(key, 0x36), outer: padState(key, 0x5c) };
}

/** HMAC-SHA256 of a one-block ASCII input, base64url; undefined when `input` is not that. */
function oneBlockHmac(pads: PadStates, input: string): string | undefined {
  const length = input.length;
  if (length > MAX_ONE_BLOCK_INPUT) return undefined;
  const w = schedule;
  w.fill(0, 0, 16);
  for (let index = 0; index < length; index++) {
    const code = input.charCodeAt(index);
    if (code > 0x7f) return undefined;
    w[index >> 2] = (w[index >> 2] as number) | (code << (24 - 8 * (index & 3)));
  }
  w[length >> 2] = (w[length >> 2] as number) | (0x80 << (24 - 8 * (length & 3)));
  w[15] = (BLOCK_BYTES + length) * 8;
  compress(pads.inner);
  // The outer block: the inner digest, then its padding (0x80, zeros, the bit length of 64 + 32 bytes).
  for (let word = 0; word < 8; word++) w[word] = state[word] as number;
  w[8] = 0x80000000;
  w.fill(0, 9, 15);
  w[15] = (BLOCK_BYTES + 32) * 8;
  compress(pads.outer);
  for (let word = 0; word < 8; word++) digestBytes.writeInt32BE(state[word] as number, word * 4);
  return digestBytes.toString('base64url');
}

// Per HmacKey, made once: a KeyObject (createHmac with raw bytes imports the key on every call) and
// the pad states. Keyed weakly by the HmacKey object, so a key that is dropped (rotation, tests)
// takes them with it. HmacKey is readonly, so the material they were made from does not change.
interface PreparedKey {
  readonly keyObject: KeyObject;
  readonly pads: PadStates;
}

const preparedKeys = new WeakMap<HmacKey, PreparedKey>();

function prepared(key: HmacKey): PreparedKey {
  let ready = preparedKeys.get(key);
  if (ready === undefined) {
    ready = { keyObject: createSecretKey(key.material), pads: padStatesOf(key.material) };
    preparedKeys.set(key, ready);
  }
  return ready;
}

/** HMAC-SHA256 of the whole token string (UTF-8), base64url: the only form of a secret that is ever stored. */
export function hashToken(key: HmacKey, secret: string): string {
  const ready = prepared(key);
  if (hmacs.hasSubscribers) hmacs.publish(undefined);
  return (
    oneBlockHmac(ready.pads, secret) ??
    createHmac('sha256', ready.keyObject).update(secret, 'utf8').digest('base64url')
  );
}
