// The KMS encryption context of the HMAC key's ciphertext. The custom resource that creates the
// ciphertext, the key source that decrypts it, and the IAM condition that limits kms:Decrypt all use
// this one definition.
export const HMAC_KEY_PURPOSE = 'access-tokens-hmac';
export const CURRENT_HMAC_KEY_VERSION = 'v1';

export function hmacKeyEncryptionContext(version: string): Record<string, string> {
  return { purpose: HMAC_KEY_PURPOSE, keyVersion: version };
}
