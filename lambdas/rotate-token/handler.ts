import { systemClock } from '../core/ports.js';
import { ENV, optionalEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { usageReaderFromEnv } from '../runtime/usage-plans.js';
import { rotateTokenRoute } from './route.js';

// The gateway's usage plans only where the stack names them (USAGE_PLAN_PREFIX): the detail then
// shows quota usage; without it, usage is null.
const usagePlansConfigured = optionalEnv(ENV.usagePlanPrefix) !== undefined;

export const handler = rotateTokenRoute({
  tokens: tokenRepositoryFromEnv(),
  hmacKey: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
  usage: usagePlansConfigured ? usageReaderFromEnv() : undefined,
});
