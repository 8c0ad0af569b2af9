import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';

/** The HMAC key as it lives in Lambda memory: raw bytes plus the version recorded on each token. */
export interface HmacKey {
  readonly version: string;
  readonly material: Uint8Array;
}

// One KeyObject per HmacKey: createHmac with raw bytes imports the key on every call, which is a
// measurable share of a cache-hit verification. Keyed weakly by the HmacKey object, so a key that is
// dropped (rotation, tests) takes its KeyObject with it. HmacKey is readonly, so the material a
// KeyObject was made from does not change under it.
const keyObjects = new WeakMap<HmacKey, KeyObject>();

function keyObjectOf(key: HmacKey): KeyObject {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key.material);
    keyObjects.set(key, keyObject);
  }
  return keyObject;
}

/** HMAC-SHA256 of the whole token string, base64url: the only form of a secret that is ever stored. */
export function hashToken(key: HmacKey, secret: string): string {
  return createHmac('sha256', keyObjectOf(key)).update(secret, 'utf8').digest('base64url');
}
