import { GenerateDataKeyWithoutPlaintextCommand, type KMSClient } from '@aws-sdk/client-kms';

/** A new data key, encrypted under a KMS key; its plaintext is never seen. */
export interface DataKeyGenerator {
  /** The ciphertext of a new 256-bit data key under `keyId`, bound to `encryptionContext`. */
  ciphertextOfNewKey(keyId: string, encryptionContext: Record<string, string>): Promise<Uint8Array>;
}

/** KMS GenerateDataKeyWithoutPlaintext (the HMAC key custom resource, deploy time only). */
export class KmsDataKeyGenerator implements DataKeyGenerator {
  constructor(private readonly kms: KMSClient) {}

  async ciphertextOfNewKey(keyId: string, encryptionContext: Record<string, string>): Promise<Uint8Array> {
    const { CiphertextBlob } = await this.kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: keyId,
        KeySpec: 'AES_256',
        EncryptionContext: encryptionContext,
      }),
    );
    if (CiphertextBlob === undefined || CiphertextBlob.length === 0) {
      throw new Error('KMS GenerateDataKeyWithoutPlaintext returned no ciphertext');
    }
    return CiphertextBlob;
  }
}
