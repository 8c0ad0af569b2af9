import { getRevokeAllJob, type RevokeAllJob } from '../core/revoke-all-job.js';
import { routeHandler } from '../http/route-handler.js';
import { revokeAllJobsFromEnv } from '../runtime/repositories.js';

const deps = { jobs: revokeAllJobsFromEnv() };

/** The job as the API shows it: who asked, not the whole caller (their address and IP stay out). */
export function toRevokeAllJobView(job: RevokeAllJob) {
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

export const handler = routeHandler('getRevokeAllJob', async ({ caller, path }) => ({
  statusCode: 200,
  body: toRevokeAllJobView(await getRevokeAllJob(deps, caller, path.jobId)),
}));
