// The KMS encryption contexts of the data keys the stack generates (lib/hmac-key.ts): the HMAC key
// that hashes token secrets, and the cursor key that signs list cursors. The custom resource that
// creates each ciphertext, the key source that decrypts it, and the IAM and key policy conditions
// that limit kms:Decrypt all use this one definition, so a grant for one purpose can never decrypt
// the other key.
export const HMAC_KEY_PURPOSE = 'access-tokens-hmac';
export const CURRENT_HMAC_KEY_VERSION = 'v1';
/** The list-cursor signing key: only the list handlers decrypt it (docs: README "Design notes"). */
export const CURSOR_KEY_PURPOSE = 'access-tokens-list-cursor';
export const CURRENT_CURSOR_KEY_VERSION = 'v1';

export type DataKeyPurpose = typeof HMAC_KEY_PURPOSE | typeof CURSOR_KEY_PURPOSE;
export const DATA_KEY_PURPOSES: readonly DataKeyPurpose[] = [HMAC_KEY_PURPOSE, CURSOR_KEY_PURPOSE];

export function dataKeyEncryptionContext(purpose: DataKeyPurpose, version: string): Record<string, string> {
  return { purpose, keyVersion: version };
}
