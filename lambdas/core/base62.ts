// Fixed-width base62 over BigInt. Written by hand because the token format needs a fixed width
// (so a token's length and regex never vary) and the popular base-x codecs emit variable widths;
// it is a dozen lines and keeps the authorizer bundle free of a dependency.
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE = 62n;

export function encodeBase62(value: bigint, width: number): string {
  if (value < 0n) throw new RangeError('base62 encodes non-negative integers only');
  let rest = value;
  let out = '';
  while (rest > 0n) {
    out = BASE62_ALPHABET.charAt(Number(rest % BASE)) + out;
    rest /= BASE;
  }
  if (out.length > width) throw new RangeError(`value needs ${out.length} base62 digits, more than ${width}`);
  return out.padStart(width, '0');
}

export function bytesToBase62(bytes: Uint8Array, width: number): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return encodeBase62(value, width);
}
