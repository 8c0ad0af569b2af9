import { policySettingsFromEnv } from '../runtime/settings.js';
import { getPolicyRoute } from './route.js';

export const handler = getPolicyRoute({ settings: policySettingsFromEnv() });
