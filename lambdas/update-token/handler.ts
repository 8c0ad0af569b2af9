import { systemClock } from '../core/ports.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { updateTokenRoute } from './route.js';

export const handler = updateTokenRoute({
  tokens: tokenRepositoryFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
