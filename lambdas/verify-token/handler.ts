import { DynamoCredentialReader } from '../adapters/dynamo-credential-reader.js';
import { DynamoLastUsedRecorder } from '../adapters/dynamo-last-used-recorder.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { verifyTokenRoute } from './route.js';

const tableName = requireEnv(ENV.tableName);

export const handler = verifyTokenRoute({
  hmacKey: keySourceFromEnv(),
  credentials: new DynamoCredentialReader(sharedDocumentClient(), tableName),
  lastUsed: new DynamoLastUsedRecorder(sharedDocumentClient(), tableName),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
