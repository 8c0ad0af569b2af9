import { expiredAuditEvent } from '../../../lambdas/core/audit.js';
import { ConflictError, LimitExceededError, TokenAccessDisabledError } from '../../../lambdas/core/errors.js';
import {
  type AuditEvent,
  type Caller,
  statusOf,
  type TokenChange,
  type TokenRecord,
  type UserAccess,
} from '../../../lambdas/core/model.js';
import type {
  ActiveTokenLimits,
  AuditLog,
  AuditScope,
  Clock,
  Page,
  PageRequest,
  TokenRepository,
  UserAccessRepository,
} from '../../../lambdas/core/ports.js';
import {
  type RevokeAllJob,
  type RevokeAllJobDeps,
  type RevokeAllJobStore,
  runRevokeAllSlice,
  startRevokeAll,
} from '../../../lambdas/core/revoke-all-job.js';

// In-memory ports for the use-case tests: the behaviour the ports' doc comments promise (limits
// by slot, conditional writes on version and state, audit events written with their change), no
// AWS. Cursors are plain offsets, which the service seals like any other.

function pageOf<T>(all: readonly T[], page: PageRequest): Page<T> {
  const start = page.cursor === undefined ? 0 : Number(page.cursor);
  const items = all.slice(start, start + page.limit);
  const next = start + page.limit;
  return { items, nextCursor: next < all.length ? String(next) : undefined };
}

export class MemoryAuditLog implements AuditLog {
  readonly events = new Map<string, AuditEvent>();

  async append(event: AuditEvent): Promise<void> {
    if (!this.events.has(event.id)) this.events.set(event.id, event);
  }

  async list(scope: AuditScope, page: PageRequest): Promise<Page<AuditEvent>> {
    const match = (event: AuditEvent) =>
      scope.kind === 'token'
        ? event.tokenId === scope.tokenId
        : scope.kind === 'user'
          ? event.accountId === scope.accountId && event.subjectUserId === scope.userId
          : event.accountId === scope.accountId;
    const all = [...this.events.values()]
      .filter(match)
      .sort((a, b) => `${b.at}#${b.id}`.localeCompare(`${a.at}#${a.id}`));
    return pageOf(all, page);
  }

  /** Oldest first, the order things happened. */
  all(): AuditEvent[] {
    return [...this.events.values()].sort((a, b) => `${a.at}#${a.id}`.localeCompare(`${b.at}#${b.id}`));
  }
}

interface Slot {
  readonly accountId: string;
  readonly userId: string;
}

interface CredentialState {
  readonly tokenId: string;
  disabled: boolean;
  generation: number;
}

export class MemoryTokenRepository implements TokenRepository {
  readonly tokens = new Map<string, TokenRecord>();
  readonly slots = new Map<string, Slot>();
  /** By secret hash: what the fan-out of a token access switch writes. */
  readonly credentials = new Map<string, CredentialState>();
  readonly access = new Map<string, UserAccess>();
  /** Registered override limit classes (never removed). */
  readonly limitClasses = new Set<string>();
  queries = 0;
  calls: string[] = [];

  constructor(readonly auditLog: MemoryAuditLog = new MemoryAuditLog()) {}

  activeCount(accountId: string, userId?: string): number {
    return [...this.slots.values()].filter(
      (slot) => slot.accountId === accountId && (userId === undefined || slot.userId === userId),
    ).length;
  }

  isDisabled(accountId: string, userId: string): boolean {
    return this.access.get(`${accountId}#${userId}`)?.enabled === false;
  }

  async create(token: TokenRecord, limits: ActiveTokenLimits, audit: AuditEvent): Promise<void> {
    this.calls.push('create');
    if (this.isDisabled(token.accountId, token.userId)) throw new TokenAccessDisabledError();
    if (this.activeCount(token.accountId, token.userId) >= limits.perUser) {
      throw new LimitExceededError('user limit');
    }
    if (this.activeCount(token.accountId) >= limits.perAccount) throw new LimitExceededError('account limit');
    if (this.slots.size >= limits.usageKeys) throw new LimitExceededError('usage key budget');
    this.tokens.set(token.id, token);
    this.slots.set(token.id, { accountId: token.accountId, userId: token.userId });
    this.credentials.set(token.secretHash, { tokenId: token.id, disabled: false, generation: 0 });
    await this.auditLog.append(audit);
  }

  async registerLimitClass(limitClass: string, budget: number): Promise<void> {
    this.calls.push(`registerLimitClass:${limitClass}`);
    if (this.limitClasses.has(limitClass)) return;
    if (this.limitClasses.size >= budget) throw new LimitExceededError('limit class budget');
    this.limitClasses.add(limitClass);
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    this.calls.push(`get:${tokenId}`);
    return this.tokens.get(tokenId);
  }

  async listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.page((token) => token.accountId === accountId && token.userId === userId, page);
  }

  async listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenRecord>> {
    return this.page((token) => token.accountId === accountId, page);
  }

  async revoke(
    tokenId: string,
    change: TokenChange,
    audit: (revoked: TokenRecord) => AuditEvent,
  ): Promise<TokenRecord | undefined> {
    this.calls.push(`revoke:${tokenId}`);
    const token = this.tokens.get(tokenId);
    if (token === undefined || token.state === 'revoked') return undefined;
    if (statusOf(token, new Date(change.at)) === 'expired') return undefined;
    const revoked: TokenRecord = {
      ...token,
      state: 'revoked',
      revokedAt: change.at,
      lastChange: change,
      version: token.version + 1,
    };
    this.tokens.set(tokenId, revoked);
    this.slots.delete(tokenId);
    await this.auditLog.append(audit(revoked));
    return revoked;
  }

  async update(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void> {
    this.calls.push(`update:${current.id}`);
    this.assertUnchanged(current);
    if (this.isDisabled(current.accountId, current.userId)) throw new TokenAccessDisabledError();
    this.tokens.set(next.id, next);
    await this.auditLog.append(audit);
  }

  async rotate(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void> {
    this.calls.push(`rotate:${current.id}`);
    this.assertUnchanged(current);
    if (this.isDisabled(current.accountId, current.userId)) throw new TokenAccessDisabledError();
    this.tokens.set(next.id, next);
    this.credentials.set(next.secretHash, { tokenId: next.id, disabled: false, generation: 0 });
    await this.auditLog.append(audit);
  }

  async listSlotHolders(accountId: string, userId: string | undefined): Promise<string[]> {
    this.calls.push(`listSlotHolders:${accountId}:${userId ?? '*'}`);
    return this.slotHolders(accountId, userId);
  }

  private slotHolders(accountId: string, userId: string | undefined): string[] {
    return [...this.slots.entries()]
      .filter(([, slot]) => slot.accountId === accountId && (userId === undefined || slot.userId === userId))
      .map(([id]) => id);
  }

  async releaseExpiredSlots(accountId: string, userId: string | undefined, now: Date): Promise<number> {
    this.calls.push(`releaseExpiredSlots:${accountId}:${userId ?? '*'}`);
    let released = 0;
    for (const id of this.slotHolders(accountId, userId)) {
      const token = this.tokens.get(id);
      if (token?.expiresAt == null || Date.parse(token.expiresAt) >= now.getTime()) continue;
      this.slots.delete(id);
      await this.auditLog.append(expiredAuditEvent(token));
      released += 1;
    }
    return released;
  }

  async releaseSlotOfDeletedToken(token: TokenRecord, audit: AuditEvent): Promise<boolean> {
    if (!this.slots.delete(token.id)) return false;
    await this.auditLog.append(audit);
    return true;
  }

  private assertUnchanged(current: TokenRecord): void {
    const stored = this.tokens.get(current.id);
    if (stored === undefined || stored.version !== current.version || stored.state !== 'active') {
      throw new ConflictError('The token was changed by another request; read it again');
    }
  }

  private page(match: (token: TokenRecord) => boolean, page: PageRequest): Page<TokenRecord> {
    this.queries += 1;
    const all = [...this.tokens.values()]
      .filter(match)
      .sort((a, b) => `${b.createdAt}#${b.id}`.localeCompare(`${a.createdAt}#${a.id}`));
    return pageOf(all, page);
  }
}

/** Shares the token repository's access map and credentials, as the one table does. */
export class MemoryUserAccessRepository implements UserAccessRepository {
  constructor(readonly tokens: MemoryTokenRepository) {}

  async get(accountId: string, userId: string): Promise<UserAccess> {
    return (
      this.tokens.access.get(`${accountId}#${userId}`) ?? {
        accountId,
        userId,
        enabled: true,
        generation: 0,
        updatedAt: null,
        updatedBy: null,
      }
    );
  }

  async set(
    accountId: string,
    userId: string,
    enabled: boolean,
    by: { readonly at: string; readonly actorUserId: string },
    audit: AuditEvent,
  ): Promise<{ readonly access: UserAccess; readonly changed: boolean }> {
    const current = await this.get(accountId, userId);
    if (current.enabled === enabled) return { access: current, changed: false };
    const access: UserAccess = {
      accountId,
      userId,
      enabled,
      generation: current.generation + 1,
      updatedAt: by.at,
      updatedBy: by.actorUserId,
    };
    this.tokens.access.set(`${accountId}#${userId}`, access);
    await this.tokens.auditLog.append(audit);
    return { access, changed: true };
  }

  async applyToCredentials(access: UserAccess, tokenIds: readonly string[]): Promise<number> {
    let written = 0;
    for (const credential of this.tokens.credentials.values()) {
      if (!tokenIds.includes(credential.tokenId) || credential.generation >= access.generation) continue;
      credential.disabled = !access.enabled;
      credential.generation = access.generation;
      written += 1;
    }
    return written;
  }
}

export class TestClock implements Clock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export const testCaller = (overrides: Partial<Caller> = {}): Caller => ({
  userId: 'alice',
  accountId: 'acct-1',
  role: 'member',
  email: 'alice@example.com',
  sourceIp: '198.51.100.7',
  userAgent: 'curl/8',
  ...overrides,
});

/** Revoke-all jobs in a map, with the store's promises (an atomic counter, the first finish time wins). */
export class MemoryRevokeAllJobs implements RevokeAllJobStore {
  readonly jobs = new Map<string, RevokeAllJob>();

  async create(job: RevokeAllJob): Promise<void> {
    this.jobs.set(job.jobId, job);
  }

  async get(jobId: string): Promise<RevokeAllJob | undefined> {
    return this.jobs.get(jobId);
  }

  async addRevoked(jobId: string, count: number): Promise<void> {
    const job = this.stored(jobId);
    this.jobs.set(jobId, { ...job, revoked: job.revoked + count });
  }

  async markFinishing(jobId: string, at: string): Promise<RevokeAllJob> {
    const job = this.stored(jobId);
    const finishing = { ...job, finishedAt: job.finishedAt ?? at };
    this.jobs.set(jobId, finishing);
    return finishing;
  }

  async markDone(jobId: string): Promise<void> {
    this.jobs.set(jobId, { ...this.stored(jobId), status: 'done' });
  }

  private stored(jobId: string): RevokeAllJob {
    const job = this.jobs.get(jobId);
    if (job === undefined) throw new Error(`no revoke-all job ${jobId}`);
    return job;
  }
}

/**
 * DELETE /tokens?userId= run to its end as the route and its worker run it: the job's first slice,
 * then each slice it hands on. Resolves to how many it revoked; rejects with a slice's error.
 */
export async function revokeAllToCompletion(
  deps: Omit<RevokeAllJobDeps, 'jobs' | 'continuation'> & { readonly jobs?: MemoryRevokeAllJobs },
  caller: Caller,
  query: { readonly userId?: string | undefined },
): Promise<number> {
  const handedOn: string[] = [];
  const jobDeps: RevokeAllJobDeps = {
    ...deps,
    jobs: deps.jobs ?? new MemoryRevokeAllJobs(),
    continuation: { continueLater: async (jobId) => void handedOn.push(jobId) },
  };
  let job = await startRevokeAll(jobDeps, caller, { userId: query.userId });
  for (let jobId = handedOn.shift(); jobId !== undefined; jobId = handedOn.shift()) {
    job = await runRevokeAllSlice(jobDeps, jobId, 60_000);
  }
  if (job.status !== 'done') throw new Error(`revoke-all job ${job.jobId} did not finish`);
  return job.revoked;
}
