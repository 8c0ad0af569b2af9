import { FileKeySource } from '../adapters/file-key-source.js';
import { KmsKeySource } from '../adapters/kms-key-source.js';
import type { KeySource } from '../core/ports.js';
import { sharedKmsClient } from './clients.js';
import { ENV, optionalEnv, requireEnv } from './env.js';

/** The KMS envelope key in AWS; the local key file when HMAC_KEY_FILE is set (local stack only). */
export function keySourceFromEnv(env: NodeJS.ProcessEnv = process.env): KeySource {
  const keyFile = optionalEnv(ENV.hmacKeyFile, env);
  if (keyFile !== undefined) return new FileKeySource(keyFile);
  return new KmsKeySource(
    sharedKmsClient(),
    requireEnv(ENV.hmacKeyCiphertext, env),
    requireEnv(ENV.hmacKeyVersion, env),
  );
}
