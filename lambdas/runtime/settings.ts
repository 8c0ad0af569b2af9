import { parsePolicySettings } from '../contract/policy-settings.js';
import type { PolicySettings } from '../core/settings.js';
import { ENV, requireJsonEnv } from './env.js';

export function policySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PolicySettings {
  return parsePolicySettings(requireJsonEnv(ENV.policySettings, env), ENV.policySettings);
}
