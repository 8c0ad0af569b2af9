import { DynamoLastUsedRecorder } from '../adapters/dynamo-last-used-recorder.js';
import { systemClock } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { credentialReaderFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { verifyTokenRoute } from './route.js';

const tableName = requireEnv(ENV.tableName);

export const handler = verifyTokenRoute({
  hmacKey: keySourceFromEnv(),
  credentials: credentialReaderFromEnv(),
  lastUsed: new DynamoLastUsedRecorder(sharedDocumentClient(), tableName),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
