import { policyView } from '../core/token-policy.js';
import { routeHandler } from '../http/route-handler.js';
import { policySettingsFromEnv } from '../runtime/settings.js';

const policy = policyView(policySettingsFromEnv());

export const handler = routeHandler('getPolicy', async () => ({ statusCode: 200, body: policy }));
