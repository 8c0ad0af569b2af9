import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRevokeAllContinuation } from '../adapters/sqs-revoke-all-continuation.js';
import { systemClock } from '../core/ports.js';
import {
  type RevokeAllContinuation,
  type RevokeAllJobDeps,
  runRevokeAllSlice,
  WORKER_SLICE_MS,
} from '../core/revoke-all-job.js';
import { ENV, optionalEnv } from './env.js';
import { logger } from './logger.js';
import { auditLogFromEnv, revokeAllJobsFromEnv, tokenRepositoryFromEnv } from './repositories.js';
import { sdkClientConfig } from './sdk-options.js';

// What the revoke-all route and its worker share: the job's dependencies, and where the rest of a
// job goes: the SQS queue in AWS; without one (the local stack), the next slice runs in this
// process after the response.

export function revokeAllJobDepsFromEnv(env: NodeJS.ProcessEnv = process.env): RevokeAllJobDeps {
  const queueUrl = optionalEnv(ENV.revokeAllQueueUrl, env);
  const deps: { -readonly [K in keyof RevokeAllJobDeps]: RevokeAllJobDeps[K] } = {
    repository: tokenRepositoryFromEnv(env),
    auditLog: auditLogFromEnv(env),
    jobs: revokeAllJobsFromEnv(env),
    clock: systemClock,
    continuation: { continueLater: async () => {} },
  };
  deps.continuation =
    queueUrl === undefined
      ? inProcessRevokeAllContinuation(deps)
      : new SqsRevokeAllContinuation(new SQSClient(sdkClientConfig()), queueUrl);
  return deps;
}

/** The local stack's worker (and the unit tests'): the next slice, once the current one returned. */
export function inProcessRevokeAllContinuation(deps: RevokeAllJobDeps): RevokeAllContinuation {
  return {
    continueLater: async (jobId) => {
      setImmediate(() => {
        runRevokeAllSlice(deps, jobId, WORKER_SLICE_MS).catch((error: unknown) =>
          logger.error('revoke-all job slice failed', {
            jobId,
            errorName: error instanceof Error ? error.name : typeof error,
          }),
        );
      });
    },
  };
}
