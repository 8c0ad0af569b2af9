import { revokeAllJobsFromEnv } from '../runtime/repositories.js';
import { getRevokeAllJobRoute } from './route.js';

export const handler = getRevokeAllJobRoute({ revokeAllJobs: revokeAllJobsFromEnv() });
