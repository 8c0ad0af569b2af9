import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { type CreateDeps, createToken } from '../core/token-service.js';
import { routeHandler } from '../http/route-handler.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';

const deps: CreateDeps = {
  repository: tokenRepositoryFromEnv(),
  keySource: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('createToken', async ({ caller, body }) => {
  const { token, secret } = await createToken(deps, caller, body);
  return { statusCode: 201, body: { ...toTokenView(token, deps.clock.now()), secret } };
});
