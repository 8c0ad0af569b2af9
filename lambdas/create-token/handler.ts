import { systemClock } from '../core/ports.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { createTokenRoute } from './route.js';

export const handler = createTokenRoute({
  tokens: tokenRepositoryFromEnv(),
  hmacKey: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
