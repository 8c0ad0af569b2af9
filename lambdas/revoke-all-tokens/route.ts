import { startRevokeAll } from '../core/revoke-all-job.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

// DELETE /tokens: a revoke-all job (lambdas/core/revoke-all-job.ts). Done within the request for
// any but a large account (200); otherwise 202 with the job, which a worker finishes.
export function revokeAllTokensRoute(deps: Pick<ManagementDeps, 'revokeAll'>): RouteHandler {
  return routeHandler('revokeAllTokens', async ({ caller, query }) => {
    const job = await startRevokeAll(deps.revokeAll, caller, query);
    const body = { jobId: job.jobId, status: job.status, revoked: job.revoked };
    return job.status === 'done'
      ? { statusCode: 200, body }
      : { statusCode: 202, body, headers: { Location: `/revoke-all-jobs/${job.jobId}` } };
  });
}
