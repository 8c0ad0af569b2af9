import { systemClock } from '../core/ports.js';
import { ENV, optionalEnv } from '../runtime/env.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { usagePlanGatewayFromEnv, usageReaderFromEnv } from '../runtime/usage-plans.js';
import { createTokenRoute } from './route.js';

// The gateway's usage plans only where the stack names them (USAGE_PLAN_PREFIX): the detail then
// shows quota usage and the token's usage key is put in place right after the write; without it,
// usage is null and the usage-key stream consumer alone puts keys in place.
const usagePlansConfigured = optionalEnv(ENV.usagePlanPrefix) !== undefined;

export const handler = createTokenRoute({
  tokens: tokenRepositoryFromEnv(),
  hmacKey: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
  usage: usagePlansConfigured ? usageReaderFromEnv() : undefined,
  usagePlans: usagePlansConfigured ? usagePlanGatewayFromEnv() : undefined,
});
