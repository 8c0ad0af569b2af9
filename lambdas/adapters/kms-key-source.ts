import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { HmacKey } from '../core/hashing.js';
import { type DataKeyPurpose, dataKeyEncryptionContext, HMAC_KEY_PURPOSE } from '../core/key-context.js';
import type { KeySource } from '../core/ports.js';

/**
 * Decrypts a data key's ciphertext (made at deploy by GenerateDataKeyWithoutPlaintext: the HMAC key,
 * or the list-cursor key with `purpose` CURSOR_KEY_PURPOSE) once per container and keeps the
 * plaintext in memory, so the hot path makes no KMS call. A failed decrypt is not cached: the next
 * request tries again.
 */
export class KmsKeySource implements KeySource {
  private pending: Promise<HmacKey> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly ciphertextBase64: string,
    private readonly version: string,
    private readonly purpose: DataKeyPurpose = HMAC_KEY_PURPOSE,
  ) {}

  getKey(): Promise<HmacKey> {
    if (this.pending === undefined) {
      this.pending = this.decrypt();
      this.pending.catch(() => {
        this.pending = undefined;
      });
    }
    return this.pending;
  }

  private async decrypt(): Promise<HmacKey> {
    const { Plaintext } = await this.kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(this.ciphertextBase64, 'base64'),
        EncryptionContext: dataKeyEncryptionContext(this.purpose, this.version),
      }),
    );
    if (Plaintext === undefined || Plaintext.length < 32) {
      throw new Error('KMS returned no usable HMAC key material');
    }
    return { version: this.version, material: Plaintext };
  }
}
