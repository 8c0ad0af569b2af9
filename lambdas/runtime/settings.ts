import { parsePolicySettings } from '../contract/policy-settings.js';
import type { PolicySettings } from '../core/settings.js';
import { ENV, requireEnv } from './env.js';

export function policySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PolicySettings {
  let raw: unknown;
  try {
    raw = JSON.parse(requireEnv(ENV.policySettings, env));
  } catch (error) {
    throw new Error(`${ENV.policySettings} is not valid JSON: ${(error as Error).message}`);
  }
  return parsePolicySettings(raw, ENV.policySettings);
}
