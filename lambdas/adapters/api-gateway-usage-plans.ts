import { createHash, randomUUID } from 'node:crypto';
import {
  type APIGatewayClient,
  type ApiKey,
  type ApiStage,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlansCommand,
  NotFoundException,
  TooManyRequestsException,
  UpdateUsagePlanCommand,
  type UsagePlan,
} from '@aws-sdk/client-api-gateway';
import type { UsagePlanGateway, UsageReader } from '../core/ports.js';
import {
  nextQuotaPeriodStart,
  type QuotaUsage,
  quotaPeriodStart,
  type TokenLimits,
} from '../core/rate-limits.js';

// The usage-plan ports on API Gateway's management API (docs/rate-limits.md): the ONE
// implementation, deployed and local (the local stack serves the same operations over HTTP and
// points the client at it with AWS_ENDPOINT_URL_API_GATEWAY).
//
// API Gateway operations this adapter calls (and the only ones the local emulator must serve):
//   GetApiKeys          nameQuery=<key value>, includeValues=true, limit, position (paginated)
//   CreateApiKey        name=value=<key value>, enabled=true, description; also the lock of a plan's
//                       creation: name=value=plan-lock-<plan name>, enabled=false (ConflictException:
//                       another container holds it)
//   DeleteApiKey        apiKey=<key id> (a token's key, or a plan creation lock)
//   GetUsagePlans       limit, position (paginated); and keyId=<key id> (the plans a key is in)
//   CreateUsagePlan     name, description, throttle, quota, apiStages (override classes only)
//   UpdateUsagePlan     patchOperations [{op: 'add', path: '/apiStages', value: '<apiId>:<stage>'}]
//   CreateUsagePlanKey  usagePlanId, keyId, keyType=API_KEY
//   DeleteUsagePlanKey  usagePlanId, keyId
//   GetUsage            usagePlanId, keyId, startDate, endDate (yyyy-MM-dd, UTC)
// Errors it relies on: ConflictException (CreateApiKey: the value exists; CreateUsagePlanKey: the
// key is in the plan already), NotFoundException (DeleteApiKey, DeleteUsagePlanKey: gone already),
// TooManyRequestsException (retried here with backoff and jitter, then thrown).
//
// Hand-written retries, on top of the SDK's own (3 attempts): UpdateUsagePlan is limited to one
// call per 20 s per account, longer than the SDK's backoff, and a stream record is better retried
// here a few times than sent back to the stream for the whole batch.

export interface RetryPolicy {
  /** Attempts of one call, the first included. */
  readonly attempts: number;
  /** The delay before the first retry; doubled per retry, with full jitter. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface ApiGatewayUsagePlansOptions {
  /** `<planPrefix>-<limitClass>` names this deployment's plans: the stack's name deployed. */
  readonly planPrefix: string;
  /** @default 4 attempts, 200 ms doubling to at most 5 s */
  readonly retry?: RetryPolicy;
  /** UpdateUsagePlan (1 call per 20 s per account). @default 4 attempts, 5 s doubling to at most 21 s */
  readonly updatePlanRetry?: RetryPolicy;
  /** How long a plan id looked up by name is remembered. @default 5 minutes */
  readonly planCacheMs?: number;
  /** Test seams. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };
const DEFAULT_UPDATE_PLAN_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 5_000, maxDelayMs: 21_000 };
const PAGE_SIZE = 500;

/** A usage plan's limits differ from a class's, or a type plan is missing: a deployment problem. */
export class UsagePlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsagePlanError';
  }
}

function isThrottle(error: unknown): boolean {
  if (error instanceof TooManyRequestsException) return true;
  const named = error as { name?: unknown; $retryable?: { throttling?: boolean } } | null;
  return (
    typeof named === 'object' &&
    named !== null &&
    (named.name === 'TooManyRequestsException' ||
      named.name === 'ThrottlingException' ||
      named.$retryable?.throttling === true)
  );
}

function retryAfterMs(error: unknown): number {
  const seconds = error instanceof TooManyRequestsException ? Number(error.retryAfterSeconds) : Number.NaN;
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

function stageId(stage: ApiStage): string | undefined {
  return stage.apiId === undefined || stage.stage === undefined ? undefined : `${stage.apiId}:${stage.stage}`;
}

function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

interface CachedPlan {
  readonly id: string;
  readonly until: number;
}

export class ApiGatewayUsagePlans implements UsagePlanGateway, UsageReader {
  private readonly planPrefix: string;
  private readonly retry: RetryPolicy;
  private readonly updatePlanRetry: RetryPolicy;
  private readonly planCacheMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly planIds = new Map<string, CachedPlan>();
  /** Lookups of a class's plan under way in this container: concurrent callers share one. */
  private readonly planLookups = new Map<string, Promise<string>>();
  /** Names this container's plan creation locks, so it knows its own after a lost response. */
  private readonly lockOwner = randomUUID();
  /** Lock keys whose deletion failed: deleted again at the next plan lookup. */
  private readonly leftoverLocks = new Set<string>();

  constructor(
    private readonly client: APIGatewayClient,
    options: ApiGatewayUsagePlansOptions,
  ) {
    this.planPrefix = options.planPrefix;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.updatePlanRetry = options.updatePlanRetry ?? DEFAULT_UPDATE_PLAN_RETRY;
    this.planCacheMs = options.planCacheMs ?? 5 * 60_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** The usage plan name of a limit class in this deployment. */
  planName(limitClass: string): string {
    return `${this.planPrefix}-${limitClass}`;
  }

  async ensurePlan(limitClass: string, limits: TokenLimits): Promise<string> {
    const cached = this.planIds.get(limitClass);
    if (cached !== undefined && cached.until > this.now()) return cached.id;
    const underWay = this.planLookups.get(limitClass);
    if (underWay !== undefined) return underWay;
    const lookup = this.lookUpPlan(limitClass, limits).finally(() => this.planLookups.delete(limitClass));
    this.planLookups.set(limitClass, lookup);
    return lookup;
  }

  private async lookUpPlan(limitClass: string, limits: TokenLimits): Promise<string> {
    await this.deleteLeftoverLocks();
    const plans = await this.listPlans();
    const name = this.planName(limitClass);
    let plan = canonicalPlan(plans, name);
    if (limitClass.startsWith('type-')) {
      // A type's plan is the stack's (CDK creates it on the protected stages): never created here.
      if (plan?.id === undefined) {
        throw new UsagePlanError(
          `Usage plan ${name} does not exist: deploy the stack (or start the local stack) first`,
        );
      }
    } else {
      const stages = this.typePlanStages(plans);
      if (plan?.id === undefined) plan = await this.createPlan(name, limits, stages);
      await this.addMissingStages(plan, stages);
    }
    const id = plan.id;
    if (id === undefined) throw new UsagePlanError(`Usage plan ${name} has no id`);
    this.planIds.set(limitClass, { id, until: this.now() + this.planCacheMs });
    return id;
  }

  async assignKey(keyValue: string, tokenId: string, planId: string): Promise<void> {
    const key = (await this.findKey(keyValue)) ?? (await this.createKey(keyValue, tokenId));
    const keyId = key.id;
    if (keyId === undefined) throw new UsagePlanError(`API key ${keyValue} has no id`);
    const current = await this.plansOfKey(keyId);
    // Out of its other plans first: API Gateway refuses a key in two plans on the same stage.
    for (const plan of current) {
      if (plan.id !== undefined && plan.id !== planId && this.isOurs(plan)) {
        await this.call(
          () => this.client.send(new DeleteUsagePlanKeyCommand({ usagePlanId: plan.id, keyId })),
          {
            ignore: NotFoundException,
          },
        );
      }
    }
    if (current.some((plan) => plan.id === planId)) return;
    try {
      await this.call(() =>
        this.client.send(new CreateUsagePlanKeyCommand({ usagePlanId: planId, keyId, keyType: 'API_KEY' })),
      );
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
      // In the plan already (a concurrent sync was first), or still in another plan on the same
      // stage (a concurrent move put it there): only the first is done; the second is retried.
      const plansNow = await this.plansOfKey(keyId);
      if (!plansNow.some((plan) => plan.id === planId)) {
        throw new UsagePlanError(`API key ${keyValue} could not join usage plan ${planId}: ${error.message}`);
      }
    }
  }

  async deleteKey(keyValue: string): Promise<void> {
    for (const key of await this.findKeys(keyValue)) {
      const apiKey = key.id;
      if (apiKey === undefined) continue;
      await this.call(() => this.client.send(new DeleteApiKeyCommand({ apiKey })), {
        ignore: NotFoundException,
      });
    }
  }

  async quotaUsage(keyValue: string, limits: TokenLimits, now: Date): Promise<QuotaUsage | undefined> {
    const quota = limits.quota;
    if (quota === null) return undefined;
    const key = await this.findKey(keyValue);
    if (key?.id === undefined) return undefined;
    const keyId = key.id;
    const plan = (await this.plansOfKey(keyId)).find((candidate) => this.isOurs(candidate));
    if (plan?.id === undefined) return undefined;
    const usagePlanId = plan.id;
    const periodStart = quotaPeriodStart(quota.period, now);
    let used = 0;
    let position: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new GetUsageCommand({
            usagePlanId,
            keyId,
            startDate: utcDate(periodStart),
            endDate: utcDate(now),
            position,
          }),
        ),
      );
      // items: key id → one [used, remaining] per day of the range.
      for (const day of page?.items?.[keyId] ?? []) used += day[0] ?? 0;
      position = page?.position;
    } while (position !== undefined);
    return {
      used,
      limit: quota.limit,
      remaining: Math.max(0, quota.limit - used),
      period: quota.period,
      periodStart: periodStart.toISOString(),
      resetsAt: nextQuotaPeriodStart(quota.period, now).toISOString(),
    };
  }

  // --- keys -----------------------------------------------------------------------------------

  private async findKeys(keyValue: string): Promise<ApiKey[]> {
    const found: ApiKey[] = [];
    let position: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new GetApiKeysCommand({ nameQuery: keyValue, includeValues: true, limit: PAGE_SIZE, position }),
        ),
      );
      // nameQuery is a prefix match: keep the exact one (name and value are the key value).
      for (const key of page?.items ?? []) {
        if (key.name === keyValue || key.value === keyValue) found.push(key);
      }
      position = page?.position;
    } while (position !== undefined);
    return found;
  }

  private async findKey(keyValue: string): Promise<ApiKey | undefined> {
    return (await this.findKeys(keyValue))[0];
  }

  private async createKey(keyValue: string, tokenId: string): Promise<ApiKey> {
    try {
      const created = await this.call(() =>
        this.client.send(
          new CreateApiKeyCommand({
            name: keyValue,
            value: keyValue,
            enabled: true,
            description: `Access Tokens usage key of token ${tokenId} (${this.planPrefix}); not a credential`,
          }),
        ),
      );
      if (created?.id !== undefined) return created;
    } catch (error) {
      // Created meanwhile by a concurrent sync of the same token: use that one.
      if (!(error instanceof ConflictException)) throw error;
    }
    const existing = await this.findKey(keyValue);
    if (existing === undefined)
      throw new UsagePlanError(`API key ${keyValue} exists but cannot be found by its name`);
    return existing;
  }

  // --- plans ----------------------------------------------------------------------------------

  private isOurs(plan: UsagePlan): boolean {
    const name = plan.name ?? '';
    return name.startsWith(`${this.planPrefix}-type-`) || name.startsWith(`${this.planPrefix}-limit-`);
  }

  private async listPlans(keyId?: string): Promise<UsagePlan[]> {
    const plans: UsagePlan[] = [];
    let position: string | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(new GetUsagePlansCommand({ limit: PAGE_SIZE, position, keyId })),
      );
      plans.push(...(page?.items ?? []));
      position = page?.position;
    } while (position !== undefined);
    return plans;
  }

  private plansOfKey(keyId: string): Promise<UsagePlan[]> {
    return this.listPlans(keyId);
  }

  /** The stages of this deployment's type plans (CDK puts every protected stage on each). */
  private typePlanStages(plans: readonly UsagePlan[]): ApiStage[] {
    const stages = new Map<string, ApiStage>();
    for (const plan of plans) {
      if (!(plan.name ?? '').startsWith(`${this.planPrefix}-type-`)) continue;
      for (const stage of plan.apiStages ?? []) {
        const id = stageId(stage);
        if (id !== undefined) stages.set(id, { apiId: stage.apiId, stage: stage.stage });
      }
    }
    return [...stages.values()];
  }

  /**
   * Creates an override class's plan, on the type plans' stages, exactly once across containers.
   * API Gateway keeps API key values unique but not plan names, so an API key serves as the lock:
   * the container whose CreateApiKey of the class's lock value succeeds lists the plans again
   * (another holder may have created the plan since its first listing), creates the plan if it is
   * still missing, and deletes the lock. The others wait for the plan to appear; a lock older than
   * LOCK_STALE_MS (its holder died) is deleted so a later attempt can take it. The lock key is in no
   * plan, so it grants nothing, and exists for a few calls' time.
   */
  private async createPlan(name: string, limits: TokenLimits, apiStages: ApiStage[]): Promise<UsagePlan> {
    const lockValue = planLockValue(name);
    for (let attempt = 1; attempt <= this.retry.attempts * 2; attempt += 1) {
      const lockId = await this.tryLock(lockValue);
      if (lockId !== undefined) {
        try {
          const existing = canonicalPlan(await this.listPlans(), name);
          if (existing?.id !== undefined) return existing;
          const created = await this.call(() =>
            this.client.send(
              new CreateUsagePlanCommand({
                name,
                description: `Access Tokens: tokens with these limits; created ${new Date(this.now()).toISOString()} by the usage-key consumer`,
                throttle: {
                  rateLimit: limits.rateLimit.requestsPerSecond,
                  burstLimit: limits.rateLimit.burst,
                },
                quota:
                  limits.quota === null
                    ? undefined
                    : { limit: limits.quota.limit, period: limits.quota.period },
                apiStages,
              }),
            ),
          );
          if (created?.id === undefined) throw new UsagePlanError(`CreateUsagePlan ${name} returned no id`);
          return created;
        } finally {
          await this.deleteLock(lockId);
        }
      }
      // Another container holds the lock: its plan shortly appears.
      await this.sleep(this.backoffMs(this.retry, attempt));
      const plan = canonicalPlan(await this.listPlans(), name);
      if (plan?.id !== undefined) return plan;
      await this.breakStaleLock(lockValue);
    }
    throw new UsagePlanError(`Usage plan ${name} is being created by another container; retry later`);
  }

  /**
   * The lock key's id when this container holds it; undefined when another container does. A lock
   * that exists already is this container's own when its description names this container (an
   * earlier attempt whose response was lost).
   */
  private async tryLock(lockValue: string): Promise<string | undefined> {
    try {
      const lock = await this.call(() =>
        this.client.send(
          new CreateApiKeyCommand({
            name: lockValue,
            value: lockValue,
            enabled: false,
            description: `Access Tokens usage plan creation lock of ${this.lockOwner}; created ${new Date(this.now()).toISOString()} by the usage-key consumer`,
          }),
        ),
      );
      if (lock?.id === undefined) throw new UsagePlanError(`CreateApiKey ${lockValue} returned no id`);
      return lock.id;
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error;
      const own = (await this.findKeys(lockValue)).find((lock) => lock.description?.includes(this.lockOwner));
      return own?.id;
    }
  }

  /** Deletes a lock; one that could not be deleted now is deleted at the next plan lookup. */
  private async deleteLock(lockId: string): Promise<void> {
    try {
      await this.call(() => this.client.send(new DeleteApiKeyCommand({ apiKey: lockId })), {
        ignore: NotFoundException,
      });
      this.leftoverLocks.delete(lockId);
    } catch {
      this.leftoverLocks.add(lockId);
    }
  }

  private async deleteLeftoverLocks(): Promise<void> {
    for (const lockId of [...this.leftoverLocks]) await this.deleteLock(lockId);
  }

  private async breakStaleLock(lockValue: string): Promise<void> {
    for (const lock of await this.findKeys(lockValue)) {
      const createdAt = lock.createdDate?.getTime() ?? createdAtOf(lock);
      if (lock.id !== undefined && this.now() - createdAt > LOCK_STALE_MS) {
        const apiKey = lock.id;
        await this.call(() => this.client.send(new DeleteApiKeyCommand({ apiKey })), {
          ignore: NotFoundException,
        });
      }
    }
  }

  /** Puts stages added to the type plans since the override plan was created on it too. */
  private async addMissingStages(plan: UsagePlan, stages: readonly ApiStage[]): Promise<void> {
    const present = new Set((plan.apiStages ?? []).map(stageId));
    const missing = stages.map(stageId).filter((id): id is string => id !== undefined && !present.has(id));
    if (missing.length === 0) return;
    await this.call(
      () =>
        this.client.send(
          new UpdateUsagePlanCommand({
            usagePlanId: plan.id,
            patchOperations: missing.map((value) => ({ op: 'add', path: '/apiStages', value })),
          }),
        ),
      { retry: this.updatePlanRetry, ignore: ConflictException },
    );
  }

  // --- calls ----------------------------------------------------------------------------------

  /** Exponential backoff with full jitter: up to base × 2^(attempt-1), at most the policy's maximum. */
  private backoffMs(policy: RetryPolicy, attempt: number): number {
    return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)) * this.random();
  }

  /**
   * One API Gateway call, retried on throttling with exponential backoff and full jitter (at least
   * the Retry-After the service sends), at most `attempts` times, then thrown. `ignore`: an error
   * class that means the call's effect is already there (returns undefined).
   */
  private async call<T>(
    send: () => Promise<T>,
    options: { retry?: RetryPolicy; ignore?: abstract new (...args: never[]) => Error } = {},
  ): Promise<T | undefined> {
    const policy = options.retry ?? this.retry;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await send();
      } catch (error) {
        if (options.ignore !== undefined && error instanceof options.ignore) return undefined;
        if (!isThrottle(error) || attempt >= policy.attempts) throw error;
        await this.sleep(
          Math.min(policy.maxDelayMs, Math.max(retryAfterMs(error), this.backoffMs(policy, attempt))),
        );
      }
    }
  }
}

/** A lock older than this has lost its holder (creating a plan takes a few calls, retries included). */
const LOCK_STALE_MS = 2 * 60_000;

/** The value of the API key that locks the creation of the plan of this name (20–128 characters). */
function planLockValue(planName: string): string {
  const readable = `plan-lock-${planName}`;
  return readable.length <= 128
    ? readable.padEnd(20, '-')
    : `plan-lock-${createHash('sha256').update(planName).digest('hex')}`;
}

/** When a plan or lock was created, from its description (written at creation); without: the oldest. */
function createdAtOf(plan: { readonly description?: string | undefined }): number {
  const match = /created (\S+) by /.exec(plan.description ?? '');
  const at = match?.[1] === undefined ? Number.NaN : Date.parse(match[1]);
  return Number.isNaN(at) ? Number.NEGATIVE_INFINITY : at;
}

/** The oldest plan of this name, ties to the smallest id: the one every container settles on after a race. */
function canonicalPlan(plans: readonly UsagePlan[], name: string): UsagePlan | undefined {
  let best: UsagePlan | undefined;
  for (const plan of plans) {
    if (plan.name !== name || plan.id === undefined) continue;
    if (best?.id === undefined) {
      best = plan;
      continue;
    }
    const [mine, theirs] = [createdAtOf(plan), createdAtOf(best)];
    if (mine < theirs || (mine === theirs && plan.id < best.id)) best = plan;
  }
  return best;
}
