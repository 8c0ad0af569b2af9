import { GenerateDataKeyWithoutPlaintextCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { hmacKeyEncryptionContext } from '../core/key-context.js';
import { CIPHERTEXT_ATTRIBUTE, type HmacKeyResourceProperties, KEY_VERSION_PATTERN } from './contract.js';

// The HMAC key custom resource (onEvent handler of a CDK Provider): asks KMS for a fresh 256-bit data
// key, encrypted under the stack's KMS key with the encryption context naming its purpose and
// version, and never sees the plaintext.
//
// The ciphertext must never change while the key version stays the same: every issued token is
// stored as an HMAC under that key, so a new one would make them all unverifiable. The handler keeps
// no state of its own; the physical resource id carries the ciphertext (`hmac-key/<version>/<base64>`,
// ~260 characters, well under CloudFormation's 1 KB limit):
//   Create                      -> a new ciphertext, in the physical id and in Data.
//   Update, same key & version  -> the same physical id, the ciphertext parsed back from it.
//   Update, other key / version -> a new ciphertext and physical id (a replacement; CloudFormation
//                                  then deletes the old one, which is a no-op).
//   Delete                      -> nothing: the KMS key is retained, and the ciphertext is not a
//                                  resource that exists anywhere but in this id.
// The ciphertext is not a secret by itself: only principals allowed kms:Decrypt on the key with this
// encryption context can turn it into the key.

export type HmacKeyResourceEvent = CloudFormationCustomResourceEvent<HmacKeyResourceProperties>;

export interface HmacKeyResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly [CIPHERTEXT_ATTRIBUTE]: string };
}

export interface HmacKeyResourceLog {
  info(message: string, details: Record<string, unknown>): void;
}

const PHYSICAL_ID_PREFIX = 'hmac-key';
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function physicalIdFor(version: string, ciphertextBase64: string): string {
  return `${PHYSICAL_ID_PREFIX}/${version}/${ciphertextBase64}`;
}

/** The version and ciphertext a physical id carries, or undefined if it is not one of ours. */
export function parsePhysicalId(
  physicalId: string,
): { readonly version: string; readonly ciphertext: string } | undefined {
  const [prefix, version, ...rest] = physicalId.split('/');
  // base64 may itself contain `/`: everything after the version is the ciphertext.
  const ciphertext = rest.join('/');
  if (prefix !== PHYSICAL_ID_PREFIX || version === undefined || !KEY_VERSION_PATTERN.test(version)) {
    return undefined;
  }
  if (ciphertext === '' || !BASE64_PATTERN.test(ciphertext)) return undefined;
  return { version, ciphertext };
}

function readProperties(
  properties: { readonly KeyId?: unknown; readonly KeyVersion?: unknown },
  which: string,
): HmacKeyResourceProperties {
  const { KeyId, KeyVersion } = properties;
  if (typeof KeyId !== 'string' || KeyId === '') {
    throw new Error(`${which}.KeyId must be the KMS key ARN`);
  }
  if (typeof KeyVersion !== 'string' || !KEY_VERSION_PATTERN.test(KeyVersion)) {
    throw new Error(`${which}.KeyVersion must match ${KEY_VERSION_PATTERN}`);
  }
  return { KeyId, KeyVersion };
}

export function createHmacKeyResourceHandler(
  kms: KMSClient,
  log: HmacKeyResourceLog = { info: () => undefined },
): (event: HmacKeyResourceEvent) => Promise<HmacKeyResourceResponse> {
  async function generate(properties: HmacKeyResourceProperties): Promise<HmacKeyResourceResponse> {
    const { CiphertextBlob } = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: properties.KeyId,
        KeySpec: 'AES_256',
        EncryptionContext: hmacKeyEncryptionContext(properties.KeyVersion),
      }),
    );
    if (CiphertextBlob === undefined || CiphertextBlob.length === 0) {
      throw new Error('KMS GenerateDataKeyWithoutPlaintext returned no ciphertext');
    }
    // Binary-safe: the bytes go straight to base64, never through a string decoding.
    const ciphertext = Buffer.from(CiphertextBlob).toString('base64');
    return {
      PhysicalResourceId: physicalIdFor(properties.KeyVersion, ciphertext),
      Data: { [CIPHERTEXT_ATTRIBUTE]: ciphertext },
    };
  }

  return async (event) => {
    switch (event.RequestType) {
      case 'Create': {
        const properties = readProperties(event.ResourceProperties, 'ResourceProperties');
        log.info('generating the HMAC key', { requestType: 'Create', keyVersion: properties.KeyVersion });
        return generate(properties);
      }
      case 'Update': {
        const properties = readProperties(event.ResourceProperties, 'ResourceProperties');
        const old = readProperties(event.OldResourceProperties, 'OldResourceProperties');
        if (old.KeyId !== properties.KeyId || old.KeyVersion !== properties.KeyVersion) {
          log.info('replacing the HMAC key', {
            requestType: 'Update',
            keyVersion: properties.KeyVersion,
            previousKeyVersion: old.KeyVersion,
            keyChanged: old.KeyId !== properties.KeyId,
          });
          return generate(properties);
        }
        const current = parsePhysicalId(event.PhysicalResourceId);
        if (current === undefined || current.version !== properties.KeyVersion) {
          // Generating a new key here would silently invalidate every issued token.
          throw new Error(
            'The HMAC key resource has the same key and version but its physical id does not carry its ciphertext; refusing to generate a new key',
          );
        }
        log.info('keeping the HMAC key', { requestType: 'Update', keyVersion: properties.KeyVersion });
        return {
          PhysicalResourceId: event.PhysicalResourceId,
          Data: { [CIPHERTEXT_ATTRIBUTE]: current.ciphertext },
        };
      }
      case 'Delete':
        log.info('nothing to delete', { requestType: 'Delete' });
        return { PhysicalResourceId: event.PhysicalResourceId };
    }
  };
}
