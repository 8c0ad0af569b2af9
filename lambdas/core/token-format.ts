import { randomBytes } from 'node:crypto';
import { BASE62_ALPHABET, bytesToBase62 } from './base62.js';

// Token string: `<prefix>_<random><checksum>` (docs/design.md "Token format").
// random: 32 bytes from randomBytes, base62, fixed width 43 (62^43 > 2^256).
// checksum: CRC32 of the random part's characters, base62, fixed width 6 (62^6 > 2^32).
export const RANDOM_BYTES = 32;
const RANDOM_WIDTH = 43;
export const CHECKSUM_WIDTH = 6;
const HINT_SUFFIX_LENGTH = 4;
export const TOKEN_PREFIX_PATTERN = /^[a-z][a-z0-9]{1,15}$/;

const BODY_LENGTH = RANDOM_WIDTH + CHECKSUM_WIDTH;

/** 0-9, A-Z, a-z: BASE62_ALPHABET, by character code (the authorizer checks every token's 49). */
const isBase62Code = (code: number) =>
  (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);

interface GeneratedToken {
  /** The secret: shown to its owner once, never stored, logged or emailed. */
  readonly secret: string;
  /** Safe to show and store: the prefix and the last four characters. */
  readonly hint: string;
}

function assertValidPrefix(prefix: string): void {
  if (!TOKEN_PREFIX_PATTERN.test(prefix)) {
    throw new RangeError(
      'token prefix must be 2-16 characters: a lowercase letter, then lowercase letters or digits',
    );
  }
}

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320: zlib's crc32) over a string's character
// codes, by hand with the usual 256-entry table: node:zlib's crc32 converts the string to bytes
// first, which was most of the checksum's cost on a cache-hit verification (docs/performance.md).
// The same value as zlib's for every string of one-byte characters (base62 is ASCII);
// test/unit/core/token-format.test.ts keeps zlib as the oracle.
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

/**
 * The CRC-32 of the characters of `text` from `start` to `end` (each below 256; base62 only here),
 * or -1 when one of them is not base62: the token check validates and sums in one pass.
 */
function base62Crc32(text: string, start: number, end: number): number {
  let crc = -1;
  for (let index = start; index < end; index++) {
    const code = text.charCodeAt(index);
    if (!isBase62Code(code)) return -1;
    crc = (crc >>> 8) ^ (CRC_TABLE[(crc ^ code) & 0xff] as number);
  }
  return (crc ^ -1) >>> 0;
}

/**
 * The CRC32 of the random part, base62, fixed width: what encodeBase62 gives, in plain number
 * arithmetic (a CRC32 is below 2^32 < 62^6, so it always fits), because every verification runs it.
 * `randomPart` is base62 (what generateToken makes); anything else has no checksum and throws.
 */
export function checksumOf(randomPart: string): string {
  let rest = base62Crc32(randomPart, 0, randomPart.length);
  if (rest < 0) throw new RangeError('a checksum is over base62 characters only');
  let out = '';
  for (let digit = 0; digit < CHECKSUM_WIDTH; digit++) {
    out = BASE62_ALPHABET.charAt(rest % 62) + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

export function generateToken(
  prefix: string,
  random: Uint8Array = randomBytes(RANDOM_BYTES),
): GeneratedToken {
  assertValidPrefix(prefix);
  if (random.length < RANDOM_BYTES)
    throw new RangeError(`a token needs at least ${RANDOM_BYTES} random bytes`);
  const randomPart = bytesToBase62(random.subarray(0, RANDOM_BYTES), RANDOM_WIDTH);
  const secret = `${prefix}_${randomPart}${checksumOf(randomPart)}`;
  return { secret, hint: hintOf(secret, prefix) };
}

export function hintOf(secret: string, prefix: string): string {
  return `${prefix}_…${secret.slice(-HINT_SUFFIX_LENGTH)}`;
}

/**
 * Checks a presented token's shape, prefix and checksum with no I/O. A mistyped, truncated,
 * extended or garbage token fails here and never reaches DynamoDB.
 */
export function isWellFormedToken(candidate: string, prefix: string): boolean {
  // The last well-formed token: a busy client presents the same token again and again, and the
  // comparison (a pointer when bearer.ts hands back the same string, else at most the token's
  // characters) costs less than the checksum on a cache-hit verification (docs/performance.md).
  if (candidate === lastWellFormed.token && prefix === lastWellFormed.prefix) return true;
  if (!checkToken(candidate, prefix)) return false;
  lastWellFormed.token = candidate;
  lastWellFormed.prefix = prefix;
  return true;
}

const lastWellFormed: { token: string | undefined; prefix: string | undefined } = {
  token: undefined,
  prefix: undefined,
};

function checkToken(candidate: string, prefix: string): boolean {
  if (candidate.length !== prefix.length + 1 + BODY_LENGTH) return false;
  if (!candidate.startsWith(prefix) || candidate.charCodeAt(prefix.length) !== 0x5f /* _ */) return false;
  const start = prefix.length + 1;
  const checksumStart = start + RANDOM_WIDTH;
  let rest = base62Crc32(candidate, start, checksumStart);
  if (rest < 0) return false;
  // The checksum's digits compared from the last (checksumOf's order), with no string built.
  for (let index = candidate.length - 1; index >= checksumStart; index--) {
    if (candidate.charCodeAt(index) !== BASE62_ALPHABET.charCodeAt(rest % 62)) return false;
    rest = Math.floor(rest / 62);
  }
  return true;
}

/** The regex a secret scanner can use to find leaked tokens of this deployment. */
export function secretScannerPattern(prefix: string): RegExp {
  return new RegExp(`\\b${prefix}_[0-9A-Za-z]{${BODY_LENGTH}}\\b`, 'g');
}
