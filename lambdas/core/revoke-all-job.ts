import { actorOf, auditEvent } from './audit.js';
import { NotFoundError } from './errors.js';
import { WHOLE_ACCOUNT } from './identity.js';
import { newAuditEventId } from './ids.js';
import type { RevokeAllInput } from './inputs.js';
import type { Caller, TokenChange } from './model.js';
import type { AuditLog } from './ports.js';
import { revokeOwnedTokens } from './token-lifecycle.js';
import { changeBy, ownersOf, type TokenDeps, type TokenOwners } from './token-service.js';

// "Revoke all" as a job (docs/security.md, "Revoke-all on a large account"). An account may hold
// up to 1,000,000 active tokens (settings.ts), and every revocation is its own transaction on the
// account's counter: no request can promise to finish that. So DELETE /tokens records a job and
// works on it for a bounded slice of the request (REQUEST_SLICE_MS); a small account is done by
// then (200, as before), a large one answers 202 with the job id and a worker continues it in
// slices of its own (lambdas/revoke-all-tokens/worker.ts) until no active token is left. Progress
// is readable at GET /revoke-all-jobs/{jobId}; the summary audit event (and with it the one
// summary email) is written once, at the end.
//
// Safe to repeat: a slice lists the tokens still holding a limit slot and revokes them; revoking
// is idempotent (a token revoked by an earlier slice, another job or a user is not counted again),
// so a slice run twice, a retried message or a second revoke-all only revoke what is left.

/** What a request spends on the job before answering 202 (the function's timeout is 10 s). */
export const REQUEST_SLICE_MS = 5_000;
/** What a worker invocation spends before handing the rest to the next one (its timeout: 60 s). */
export const WORKER_SLICE_MS = 40_000;
/** A job is readable this long after it started (then DynamoDB's TTL removes it). */
export const JOB_RETENTION_DAYS = 7;

export type RevokeAllJobStatus = 'running' | 'done';

export interface RevokeAllJob {
  /** Also the id of the summary audit event and the `bulkId` on every token the job revokes. */
  readonly jobId: string;
  readonly accountId: string;
  /** Who asked, as they were when they asked: the actor of every revocation. */
  readonly caller: Caller;
  /** Whose tokens, as the API shows it: the user's id, or `*` for the whole account. */
  readonly target: string;
  /**
   * The whole account (an admin's `?userId=*`), decided once from the query when the job started.
   * Never re-read from `target`: a user id and the `*` sentinel must not be confused (docs/security.md).
   */
  readonly wholeAccount: boolean;
  readonly status: RevokeAllJobStatus;
  /** Tokens revoked so far. */
  readonly revoked: number;
  readonly startedAt: string;
  /** Set once the job found nothing left to revoke; the summary event carries this time. */
  readonly finishedAt: string | null;
}

/** Where jobs are kept (DynamoDB: lambdas/adapters/dynamo-revoke-all-jobs.ts). */
export interface RevokeAllJobStore {
  create(job: RevokeAllJob): Promise<void>;
  /** Strongly consistent. */
  get(jobId: string): Promise<RevokeAllJob | undefined>;
  /** Adds to `revoked` (atomic counter: slices running side by side add up). */
  addRevoked(jobId: string, count: number): Promise<void>;
  /** Sets finishedAt if not set yet and returns the job as stored (the first finish time wins). */
  markFinishing(jobId: string, at: string): Promise<RevokeAllJob>;
  markDone(jobId: string): Promise<void>;
}

/** Hands a job's remaining work to a worker (SQS in AWS; in-process on the local stack). */
export interface RevokeAllContinuation {
  continueLater(jobId: string): Promise<void>;
}

export interface RevokeAllJobDeps extends TokenDeps {
  readonly auditLog: AuditLog;
  readonly jobs: RevokeAllJobStore;
  readonly continuation: RevokeAllContinuation;
  readonly concurrency?: number;
}

/**
 * DELETE /tokens?userId=: records the job (authorized now: viewers and members their own tokens,
 * admins another user's or `*`), runs it for up to `sliceMs`, and hands what is left to a worker.
 * Returns the job as it stands: `done` for a small account, `running` for a large one.
 */
export async function startRevokeAll(
  deps: RevokeAllJobDeps,
  caller: Caller,
  query: RevokeAllInput,
  sliceMs = REQUEST_SLICE_MS,
): Promise<RevokeAllJob> {
  const owners = ownersOf(caller, query.userId, "Only an admin can revoke other users' tokens");
  const job: RevokeAllJob = {
    jobId: newAuditEventId(),
    accountId: caller.accountId,
    caller,
    target: owners.kind === 'account' ? WHOLE_ACCOUNT : owners.userId,
    wholeAccount: owners.kind === 'account',
    status: 'running',
    revoked: 0,
    startedAt: deps.clock.now().toISOString(),
    finishedAt: null,
  };
  await deps.jobs.create(job);
  return runSlice(deps, job, sliceMs);
}

/**
 * One slice of a job: revokes what is left until `sliceMs` have passed, then either finishes the
 * job (nothing left: summary event, done) or hands the rest on. Idempotent.
 */
export async function runRevokeAllSlice(
  deps: RevokeAllJobDeps,
  jobId: string,
  sliceMs: number,
): Promise<RevokeAllJob> {
  const job = await deps.jobs.get(jobId);
  if (job === undefined) throw new Error(`revoke-all job ${jobId} not found`);
  return runSlice(deps, job, sliceMs);
}

async function runSlice(deps: RevokeAllJobDeps, job: RevokeAllJob, sliceMs: number): Promise<RevokeAllJob> {
  if (job.status === 'done') return job;
  const deadline = deps.clock.now().getTime() + sliceMs;
  const { caller } = job;
  const owners = ownersOfJob(job);

  if (job.finishedAt === null) {
    const ids = await deps.repository.listSlotHolders(
      job.accountId,
      owners.kind === 'account' ? undefined : owners.userId,
    );
    // One change per slice: a slice's revocations carry its start time and the job's id.
    const change: TokenChange = {
      ...changeBy(caller, 'revoked', deps.clock.now()),
      bulk: true,
      bulkId: job.jobId,
    };
    let revoked = 0;
    let complete = false;
    try {
      complete = await revokeOwnedTokens(
        deps,
        caller,
        owners,
        ids,
        change,
        () => {
          revoked += 1;
        },
        () => deps.clock.now().getTime() >= deadline,
      );
    } finally {
      // Also after a failure: what was revoked counts (the summary names exactly those tokens).
      if (revoked > 0) await deps.jobs.addRevoked(job.jobId, revoked);
    }
    if (!complete) {
      await deps.continuation.continueLater(job.jobId);
      return { ...job, revoked: job.revoked + revoked };
    }
  }
  return finish(deps, job.jobId, owners.kind === 'account' ? caller.userId : owners.userId);
}

/** The owners a job was authorized for when it started (startRevokeAll's ownersOf). */
function ownersOfJob(job: RevokeAllJob): TokenOwners {
  return job.wholeAccount ? { kind: 'account' } : { kind: 'user', userId: job.target };
}

/**
 * Summary event (also for 0 revoked: the audit trail shows the revoke-all; the notifier sends
 * nothing for it), then done; a retry repeats both harmlessly.
 */
async function finish(deps: RevokeAllJobDeps, jobId: string, subjectUserId: string): Promise<RevokeAllJob> {
  const job = await deps.jobs.markFinishing(jobId, deps.clock.now().toISOString());
  const finishedAt = job.finishedAt ?? deps.clock.now().toISOString();
  await deps.auditLog.append(
    auditEvent({
      id: job.jobId,
      action: 'tokens.revoked-all',
      at: finishedAt,
      actor: actorOf(job.caller),
      accountId: job.accountId,
      // For the whole account there is no one subject: the admin who did it is.
      subjectUserId,
      details: { revokedCount: job.revoked, target: job.target },
    }),
  );
  await deps.jobs.markDone(jobId);
  return { ...job, finishedAt, status: 'done' };
}

/**
 * GET /revoke-all-jobs/{jobId}: the job's progress, for whoever started it and the admins of its
 * account; anyone else gets "not found" (as for another user's token).
 */
export async function getRevokeAllJob(
  deps: Pick<RevokeAllJobDeps, 'jobs'>,
  caller: Caller,
  jobId: string,
): Promise<RevokeAllJob> {
  const job = await deps.jobs.get(jobId);
  const visible =
    job !== undefined &&
    job.accountId === caller.accountId &&
    (caller.role === 'admin' || job.caller.userId === caller.userId);
  if (!visible) throw new NotFoundError('Revoke-all job not found');
  return job;
}
