import { systemClock } from '../core/ports.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { credentialReaderFromEnv, tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { reportLeakRoute } from './route.js';

export const handler = reportLeakRoute({
  tokens: tokenRepositoryFromEnv(),
  credentials: credentialReaderFromEnv(),
  hmacKey: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
