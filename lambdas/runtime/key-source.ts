import { dirname, join } from 'node:path';
import { ensureLocalKeyFile, FileKeySource } from '../adapters/file-key-source.js';
import { KmsKeySource } from '../adapters/kms-key-source.js';
import { CURRENT_CURSOR_KEY_VERSION, CURSOR_KEY_PURPOSE } from '../core/key-context.js';
import type { KeySource } from '../core/ports.js';
import { sharedKmsClient } from './clients.js';
import { ENV, optionalEnv, requireEnv } from './env.js';

/** The local cursor key's file name, next to the local HMAC key file (under `.data/`). */
const LOCAL_CURSOR_KEY_FILE = 'cursor.key';

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

/**
 * The key the list handlers sign cursors with: a data key of its own (encryption context purpose
 * CURSOR_KEY_PURPOSE), so that they need no access to the HMAC key that hashes token secrets. In
 * the local stack (HMAC_KEY_FILE set, no KMS), `cursor.key` next to the HMAC key file, made on first
 * use like that one.
 */
export function cursorKeySourceFromEnv(env: NodeJS.ProcessEnv = process.env): KeySource {
  const hmacKeyFile = optionalEnv(ENV.hmacKeyFile, env);
  if (hmacKeyFile !== undefined) {
    const path = join(dirname(hmacKeyFile), LOCAL_CURSOR_KEY_FILE);
    ensureLocalKeyFile(path);
    return new FileKeySource(path, CURRENT_CURSOR_KEY_VERSION);
  }
  return new KmsKeySource(
    sharedKmsClient(),
    requireEnv(ENV.cursorKeyCiphertext, env),
    requireEnv(ENV.cursorKeyVersion, env),
    CURSOR_KEY_PURPOSE,
  );
}
