import { startRevokeAll } from '../core/revoke-all-job.js';
import { routeHandler } from '../http/route-handler.js';
import { revokeAllJobDepsFromEnv } from '../runtime/revoke-all-jobs.js';

const deps = revokeAllJobDepsFromEnv();

// DELETE /tokens: a revoke-all job (lambdas/core/revoke-all-job.ts). Done within the request for
// any but a large account (200); otherwise 202 with the job, which a worker finishes.
export const handler = routeHandler('revokeAllTokens', async ({ caller, query }) => {
  const job = await startRevokeAll(deps, caller, query);
  const body = { jobId: job.jobId, status: job.status, revoked: job.revoked };
  return job.status === 'done'
    ? { statusCode: 200, body }
    : { statusCode: 202, body, headers: { Location: `/revoke-all-jobs/${job.jobId}` } };
});
