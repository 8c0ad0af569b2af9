import { revokeAllJobDepsFromEnv } from '../runtime/revoke-all-jobs.js';
import { revokeAllTokensRoute } from './route.js';

export const handler = revokeAllTokensRoute({ revokeAll: revokeAllJobDepsFromEnv() });
