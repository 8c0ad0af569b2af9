import { userAccessRepositoryFromEnv } from '../runtime/repositories.js';
import { getUserTokenAccessRoute } from './route.js';

export const handler = getUserTokenAccessRoute({ userAccess: userAccessRepositoryFromEnv() });
