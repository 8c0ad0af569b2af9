// What the stack sends the data key custom resource (the HMAC key, the cursor key) and what it reads back. Shared by the construct
// (lib/hmac-key.ts) and the handler; no AWS SDK here, so the CDK app can import it cheaply.

/** Properties of the `Custom::HmacKeyCiphertext` resource (CloudFormation sends them as strings). */
export interface HmacKeyResourceProperties {
  /** ARN of the KMS key that encrypts the HMAC key. */
  readonly KeyId: string;
  /** The key's version; part of the encryption context. */
  readonly KeyVersion: string;
  /**
   * What the data key is for; part of the encryption context (lambdas/core/key-context.ts). Absent
   * on the HMAC key's resource, which predates it (adding it would send CloudFormation an Update).
   * @default HMAC_KEY_PURPOSE
   */
  readonly KeyPurpose?: string;
}

/** `Fn::GetAtt` attribute holding the base64 ciphertext of the HMAC key. */
export const CIPHERTEXT_ATTRIBUTE = 'Ciphertext';

export const HMAC_KEY_RESOURCE_TYPE = 'Custom::HmacKeyCiphertext';

/** A key version: it becomes part of the physical id (`hmac-key/<version>/<ciphertext>`), so no `/`. */
export const KEY_VERSION_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
