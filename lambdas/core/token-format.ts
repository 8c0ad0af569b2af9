import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
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

/**
 * The CRC32 of the random part, base62, fixed width: what encodeBase62 gives, in plain number
 * arithmetic (a CRC32 is below 2^32 < 62^6, so it always fits), because every verification runs it.
 */
export function checksumOf(randomPart: string): string {
  let rest = crc32(randomPart);
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
  if (candidate.length !== prefix.length + 1 + BODY_LENGTH) return false;
  if (!candidate.startsWith(prefix) || candidate.charCodeAt(prefix.length) !== 0x5f /* _ */) return false;
  const start = prefix.length + 1;
  for (let index = start; index < candidate.length; index++) {
    if (!isBase62Code(candidate.charCodeAt(index))) return false;
  }
  return candidate.slice(start + RANDOM_WIDTH) === checksumOf(candidate.slice(start, start + RANDOM_WIDTH));
}

/** The regex a secret scanner can use to find leaked tokens of this deployment. */
export function secretScannerPattern(prefix: string): RegExp {
  return new RegExp(`\\b${prefix}_[0-9A-Za-z]{${BODY_LENGTH}}\\b`, 'g');
}
