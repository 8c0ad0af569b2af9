import { systemClock } from '../core/ports.js';
import { tokenRepositoryFromEnv, userAccessRepositoryFromEnv } from '../runtime/repositories.js';
import { setUserTokenAccessRoute } from './route.js';

export const handler = setUserTokenAccessRoute({
  userAccess: userAccessRepositoryFromEnv(),
  tokens: tokenRepositoryFromEnv(),
  clock: systemClock,
});
