import { toTokenView } from '../core/model.js';
import { systemClock } from '../core/ports.js';
import { type UpdateDeps, updateToken } from '../core/token-lifecycle.js';
import { routeHandler } from '../http/route-handler.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';

const deps: UpdateDeps = {
  repository: tokenRepositoryFromEnv(),
  settings: policySettingsFromEnv(),
  clock: systemClock,
};

export const handler = routeHandler('updateToken', async ({ caller, path, body }) => {
  const token = await updateToken(deps, caller, path.id, body);
  return { statusCode: 200, body: toTokenView(token, deps.clock.now()) };
});
