import { DynamoCredentialReader } from '../adapters/dynamo-credential-reader.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { reportLeakRoute } from './route.js';

export const handler = reportLeakRoute({
  tokens: tokenRepositoryFromEnv(),
  credentials: new DynamoCredentialReader(sharedDocumentClient(), requireEnv(ENV.tableName)),
  hmacKey: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
