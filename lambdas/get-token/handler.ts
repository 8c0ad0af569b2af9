import { systemClock } from '../core/ports.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { getTokenRoute } from './route.js';

export const handler = getTokenRoute({
  tokens: tokenRepositoryFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
});
