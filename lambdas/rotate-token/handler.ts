import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { type RotateDeps, rotateToken } from '../core/token-lifecycle.js';
import { routeHandler } from '../http/route-handler.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';

const deps: RotateDeps = {
  repository: tokenRepositoryFromEnv(),
  keySource: keySourceFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('rotateToken', async ({ caller, path, body }) => {
  const { token, secret } = await rotateToken(deps, caller, path.id, body);
  return { statusCode: 201, body: { ...toTokenView(token, deps.clock.now()), secret } };
});
