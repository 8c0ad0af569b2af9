import { policySettingsFromEnv } from '../runtime/settings.js';
import { usagePlanGatewayFromEnv } from '../runtime/usage-plans.js';
import { usageKeysFunction } from './function.js';

// Env → deps → handler (function.ts does the work): the plan prefix (USAGE_PLAN_PREFIX) and the
// token types' limits (POLICY_SETTINGS).
export const handler = usageKeysFunction({
  plans: usagePlanGatewayFromEnv(),
  settings: policySettingsFromEnv(),
});
