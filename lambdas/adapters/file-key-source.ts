import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HmacKey } from '../core/hashing.js';
import { CURRENT_HMAC_KEY_VERSION } from '../core/key-context.js';
import type { KeySource } from '../core/ports.js';

// The local stack has no KMS: its HMAC key is 32 random bytes in a file under .data/, made on first
// start. Everything after getKey() is the same code path as in AWS.

export function ensureLocalKeyFile(path: string): void {
  if (existsSync(path)) return;
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process made it first: theirs is the key.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

export class FileKeySource implements KeySource {
  private key: HmacKey | undefined;

  constructor(
    private readonly path: string,
    private readonly version: string = CURRENT_HMAC_KEY_VERSION,
  ) {}

  async getKey(): Promise<HmacKey> {
    if (this.key === undefined) {
      const material = Buffer.from(readFileSync(this.path, 'utf8').trim(), 'base64');
      if (material.length < 32) throw new Error(`HMAC key file ${this.path} holds fewer than 32 bytes`);
      this.key = { version: this.version, material };
    }
    return this.key;
  }
}
