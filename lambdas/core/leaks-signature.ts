import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';

// GitHub signs each secret scanning report (docs/leaks.md): ECDSA P-256 with SHA-256
// (`ECDSA-NIST-P256V1-SHA256`) over the raw request body, the signature base64 DER in
// `Github-Public-Key-Signature`, the key chosen by `Github-Public-Key-Identifier` among the public
// keys GitHub publishes (PEM). Checked with node:crypto over the bytes as received: a body parsed and
// serialised again would not be the one signed.

export const SIGNATURE_HEADER = 'github-public-key-signature';
export const KEY_ID_HEADER = 'github-public-key-identifier';

/** The public keys GitHub publishes, by key identifier. */
export interface GithubPublicKeys {
  /** The key's PEM, or undefined when there is none with this id (after one refetch at most). */
  keyFor(keyId: string): Promise<string | undefined>;
}

// One KeyObject per PEM: parsing a key costs more than verifying with it.
const parsedKeys = new Map<string, KeyObject | null>();

function publicKeyOf(pem: string): KeyObject | undefined {
  let key = parsedKeys.get(pem);
  if (key === undefined) {
    try {
      key = createPublicKey(pem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') key = null;
    } catch {
      key = null;
    }
    // Keys are few (GitHub publishes a handful); bounded all the same.
    if (parsedKeys.size >= 64) parsedKeys.clear();
    parsedKeys.set(pem, key);
  }
  return key ?? undefined;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Whether `signature` (base64 DER) is a valid ECDSA P-256 SHA-256 signature of `body` by the key
 * in `publicKeyPem`. Never throws: a malformed key or signature is simply not valid.
 */
export function isValidGithubSignature(body: Uint8Array, signature: string, publicKeyPem: string): boolean {
  const trimmed = signature.trim();
  // A DER ECDSA P-256 signature is at most 72 bytes; base64 of it at most 96 characters.
  if (trimmed === '' || trimmed.length > 128 || !BASE64.test(trimmed)) return false;
  const key = publicKeyOf(publicKeyPem);
  if (key === undefined) return false;
  try {
    return createVerify('sha256')
      .update(body)
      .verify({ key, dsaEncoding: 'der' }, Buffer.from(trimmed, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The verdict on a report's headers and raw body: `ok`, or why not (for the log; the answer is
 * the same 401 whatever the reason).
 */
export async function verifyGithubReport(
  keys: GithubPublicKeys,
  headers: { readonly keyId: string | undefined; readonly signature: string | undefined },
  body: Uint8Array,
): Promise<'ok' | 'missing-headers' | 'unknown-key' | 'bad-signature'> {
  const keyId = headers.keyId?.trim();
  const signature = headers.signature?.trim();
  if (keyId === undefined || keyId === '' || signature === undefined || signature === '')
    return 'missing-headers';
  // A key id is a hex digest; anything else is never looked up (no refetch for garbage).
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(keyId)) return 'unknown-key';
  const pem = await keys.keyFor(keyId);
  if (pem === undefined) return 'unknown-key';
  return isValidGithubSignature(body, signature, pem) ? 'ok' : 'bad-signature';
}
