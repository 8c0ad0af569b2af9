import { createHmac } from 'node:crypto';

/** The HMAC key as it lives in Lambda memory: raw bytes plus the version recorded on each token. */
export interface HmacKey {
  readonly version: string;
  readonly material: Uint8Array;
}

/** HMAC-SHA256 of the whole token string, base64url: the only form of a secret that is ever stored. */
export function hashToken(key: HmacKey, secret: string): string {
  return createHmac('sha256', key.material).update(secret, 'utf8').digest('base64url');
}
