import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { DataKeyGenerator } from '../adapters/kms-data-key-generator.js';
import {
  CURSOR_KEY_PURPOSE,
  DATA_KEY_PURPOSES,
  type DataKeyPurpose,
  dataKeyEncryptionContext,
  HMAC_KEY_PURPOSE,
} from '../core/key-context.js';
import { CIPHERTEXT_ATTRIBUTE, type HmacKeyResourceProperties, KEY_VERSION_PATTERN } from './contract.js';

// The data key custom resource (onEvent handler of a CDK Provider): asks KMS for a fresh 256-bit data
// key, encrypted under the stack's KMS key with the encryption context naming its purpose and
// version, and never sees the plaintext. Two instances: the HMAC key (purpose `access-tokens-hmac`,
// the property absent) and the list-cursor key (`access-tokens-list-cursor`), so that the list
// handlers sign cursors without being able to decrypt the HMAC key.
//
// The ciphertext must never change while the key, purpose and version stay the same: every issued
// token is stored as an HMAC under the HMAC key, so a new one would make them all unverifiable. The
// handler keeps no state of its own; the physical resource id carries the ciphertext
// (`hmac-key/<version>/<base64>`, `cursor-key/...` for the cursor key; ~260 characters, well under
// CloudFormation's 1 KB limit):
//   Create                                -> a new ciphertext, in the physical id and in Data.
//   Update, same key, purpose & version   -> the same physical id, the ciphertext parsed back from it.
//   Update, other key / purpose / version -> a new ciphertext and physical id (a replacement;
//                                            CloudFormation then deletes the old one, a no-op).
//   Delete                      -> nothing: the KMS key is retained, and the ciphertext is not a
//                                  resource that exists anywhere but in this id.
// The ciphertext is not a secret by itself: only principals allowed kms:Decrypt on the key with this
// encryption context can turn it into the key.

type HmacKeyResourceEvent = CloudFormationCustomResourceEvent<HmacKeyResourceProperties>;

interface HmacKeyResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly [CIPHERTEXT_ATTRIBUTE]: string };
}

interface HmacKeyResourceLog {
  info(message: string, details: Record<string, unknown>): void;
}

const PHYSICAL_ID_PREFIXES: Readonly<Record<DataKeyPurpose, string>> = {
  [HMAC_KEY_PURPOSE]: 'hmac-key',
  [CURSOR_KEY_PURPOSE]: 'cursor-key',
};
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function physicalIdFor(
  version: string,
  ciphertextBase64: string,
  purpose: DataKeyPurpose = HMAC_KEY_PURPOSE,
): string {
  return `${PHYSICAL_ID_PREFIXES[purpose]}/${version}/${ciphertextBase64}`;
}

/** The version and ciphertext a physical id of this purpose carries, or undefined if it is not one. */
export function parsePhysicalId(
  physicalId: string,
  purpose: DataKeyPurpose = HMAC_KEY_PURPOSE,
): { readonly version: string; readonly ciphertext: string } | undefined {
  const [prefix, version, ...rest] = physicalId.split('/');
  // base64 may itself contain `/`: everything after the version is the ciphertext.
  const ciphertext = rest.join('/');
  if (
    prefix !== PHYSICAL_ID_PREFIXES[purpose] ||
    version === undefined ||
    !KEY_VERSION_PATTERN.test(version)
  ) {
    return undefined;
  }
  if (ciphertext === '' || !BASE64_PATTERN.test(ciphertext)) return undefined;
  return { version, ciphertext };
}

interface DataKeyProperties {
  readonly KeyId: string;
  readonly KeyVersion: string;
  readonly KeyPurpose: DataKeyPurpose;
}

const isPurpose = (value: unknown): value is DataKeyPurpose =>
  (DATA_KEY_PURPOSES as readonly unknown[]).includes(value);

function readProperties(
  properties: { readonly KeyId?: unknown; readonly KeyVersion?: unknown; readonly KeyPurpose?: unknown },
  which: string,
): DataKeyProperties {
  const { KeyId, KeyVersion, KeyPurpose = HMAC_KEY_PURPOSE } = properties;
  if (typeof KeyId !== 'string' || KeyId === '') {
    throw new Error(`${which}.KeyId must be the KMS key ARN`);
  }
  if (typeof KeyVersion !== 'string' || !KEY_VERSION_PATTERN.test(KeyVersion)) {
    throw new Error(`${which}.KeyVersion must match ${KEY_VERSION_PATTERN}`);
  }
  if (!isPurpose(KeyPurpose)) {
    throw new Error(`${which}.KeyPurpose must be one of ${DATA_KEY_PURPOSES.join(', ')}`);
  }
  return { KeyId, KeyVersion, KeyPurpose };
}

export function createHmacKeyResourceHandler(
  keys: DataKeyGenerator,
  log: HmacKeyResourceLog = { info: () => undefined },
): (event: HmacKeyResourceEvent) => Promise<HmacKeyResourceResponse> {
  async function generate(properties: DataKeyProperties): Promise<HmacKeyResourceResponse> {
    const CiphertextBlob = await keys.ciphertextOfNewKey(
      properties.KeyId,
      dataKeyEncryptionContext(properties.KeyPurpose, properties.KeyVersion),
    );
    // Binary-safe: the bytes go straight to base64, never through a string decoding.
    const ciphertext = Buffer.from(CiphertextBlob).toString('base64');
    return {
      PhysicalResourceId: physicalIdFor(properties.KeyVersion, ciphertext, properties.KeyPurpose),
      Data: { [CIPHERTEXT_ATTRIBUTE]: ciphertext },
    };
  }

  return async (event) => {
    switch (event.RequestType) {
      case 'Create': {
        const properties = readProperties(event.ResourceProperties, 'ResourceProperties');
        log.info('generating the data key', {
          requestType: 'Create',
          keyPurpose: properties.KeyPurpose,
          keyVersion: properties.KeyVersion,
        });
        return generate(properties);
      }
      case 'Update': {
        const properties = readProperties(event.ResourceProperties, 'ResourceProperties');
        const old = readProperties(event.OldResourceProperties, 'OldResourceProperties');
        if (
          old.KeyId !== properties.KeyId ||
          old.KeyVersion !== properties.KeyVersion ||
          old.KeyPurpose !== properties.KeyPurpose
        ) {
          log.info('replacing the data key', {
            requestType: 'Update',
            keyPurpose: properties.KeyPurpose,
            keyVersion: properties.KeyVersion,
            previousKeyVersion: old.KeyVersion,
            keyChanged: old.KeyId !== properties.KeyId,
          });
          return generate(properties);
        }
        const current = parsePhysicalId(event.PhysicalResourceId, properties.KeyPurpose);
        if (current === undefined || current.version !== properties.KeyVersion) {
          // Generating a new key here would silently invalidate every issued token.
          throw new Error(
            'The data key resource has the same key, purpose and version but its physical id does not carry its ciphertext; refusing to generate a new key',
          );
        }
        log.info('keeping the data key', {
          requestType: 'Update',
          keyPurpose: properties.KeyPurpose,
          keyVersion: properties.KeyVersion,
        });
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
