import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
import { ensureLocalKeyFile } from '../../lambdas/adapters/file-key-source.js';
import {
  DEFAULT_POLICY_SETTINGS,
  type PolicySettingsInput,
  parsePolicySettings,
} from '../../lambdas/contract/policy-settings.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { SDK_REQUEST_TIMEOUT_ENV } from '../../lambdas/runtime/sdk-options.js';

// Environment for importing handler modules in tests: the same variables the stack sets, pointed
// at DynamoDB Local (integration) or at nothing in particular (unit tests with client mocks).
// Call before `await import('.../handler.js')`; handler modules read their env at load.

interface HandlerEnvOptions {
  readonly tableName?: string;
  readonly dynamoEndpoint?: string;
  readonly policy?: PolicySettingsInput;
  /**
   * 'file' (a fresh temp key file; the cursor key file appears next to it) or 'kms' (fake
   * ciphertexts of the HMAC and cursor keys; mock KMS Decrypt).
   */
  readonly keySource?: 'file' | 'kms';
  readonly extra?: Record<string, string>;
}

export function stubHandlerEnv(options: HandlerEnvOptions = {}): { keyFile: string | undefined } {
  const policy = options.policy === undefined ? DEFAULT_POLICY_SETTINGS : parsePolicySettings(options.policy);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  vi.stubEnv(ENV.tableName, options.tableName ?? 'access-tokens-test');
  vi.stubEnv(ENV.policySettings, JSON.stringify(policy));
  if (options.dynamoEndpoint !== undefined) vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', options.dynamoEndpoint);
  // The SES emulator has no send quota to read: the notifier and the reminder job pace at this.
  vi.stubEnv(ENV.notificationMaxSendRate, '1000');
  // DynamoDB Local on a loaded machine can take seconds per call (lambdas/runtime/sdk-options.ts).
  vi.stubEnv(SDK_REQUEST_TIMEOUT_ENV, '30000');
  let keyFile: string | undefined;
  if ((options.keySource ?? 'file') === 'file') {
    keyFile = join(mkdtempSync(join(tmpdir(), 'atk-key-')), 'hmac.key');
    ensureLocalKeyFile(keyFile);
    vi.stubEnv(ENV.hmacKeyFile, keyFile);
  } else {
    vi.stubEnv(ENV.hmacKeyFile, '');
    vi.stubEnv(ENV.hmacKeyCiphertext, Buffer.from('fake-ciphertext').toString('base64'));
    vi.stubEnv(ENV.hmacKeyVersion, 'v1');
    vi.stubEnv(ENV.cursorKeyCiphertext, Buffer.from('fake-cursor-ciphertext').toString('base64'));
    vi.stubEnv(ENV.cursorKeyVersion, 'v1');
  }
  for (const [name, value] of Object.entries(options.extra ?? {})) vi.stubEnv(name, value);
  return { keyFile };
}
