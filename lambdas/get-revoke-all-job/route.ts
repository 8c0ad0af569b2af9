import { getRevokeAllJob, type RevokeAllJob } from '../core/revoke-all-job.js';
import type { ManagementDeps } from '../http/management-deps.js';
import { type RouteHandler, routeHandler } from '../http/route-handler.js';

/** The job as the API shows it: who asked, not the whole caller (their address and IP stay out). */
function toRevokeAllJobView(job: RevokeAllJob) {
  return {
    jobId: job.jobId,
    status: job.status,
    revoked: job.revoked,
    target: job.target,
    requestedBy: job.caller.userId,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  };
}

export function getRevokeAllJobRoute(deps: Pick<ManagementDeps, 'revokeAllJobs'>): RouteHandler {
  const get = { jobs: deps.revokeAllJobs };
  return routeHandler('getRevokeAllJob', async ({ caller, path }) => ({
    statusCode: 200,
    body: toRevokeAllJobView(await getRevokeAllJob(get, caller, path.jobId)),
  }));
}
