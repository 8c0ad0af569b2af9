import type { LeakDeps } from '../core/leaks.js';
import type { GithubPublicKeys } from '../core/leaks-signature.js';
import type {
  AuditLog,
  Clock,
  CredentialReader,
  KeySource,
  LastUsedRecorder,
  TokenRepository,
  UsagePlanGateway,
  UsageReader,
  UserAccessRepository,
} from '../core/ports.js';
import type { RevokeAllJobDeps, RevokeAllJobStore } from '../core/revoke-all-job.js';
import type { PolicySettings } from '../core/settings.js';
import type { TokenDetailDeps } from '../core/token-detail.js';
import type { UsageKeySyncDeps } from '../core/token-service.js';
import { logger } from '../runtime/logger.js';

/**
 * Every port a management route may use, by one name each. A route's factory
 * (`lambdas/<route>/route.ts`) takes the few it needs (`Pick<ManagementDeps, …>`): its `handler.ts`
 * builds just those from the environment (lambdas/runtime/), and a unit test passes adapters it
 * built itself (test/support/management-deps.ts), with no environment and no module reloading.
 */
export interface ManagementDeps {
  readonly tokens: TokenRepository;
  readonly userAccess: UserAccessRepository;
  readonly auditLog: AuditLog;
  readonly revokeAllJobs: RevokeAllJobStore;
  /** A revoke-all job's dependencies, including where the rest of a large job goes. */
  readonly revokeAll: RevokeAllJobDeps;
  /** The HMAC key that hashes token secrets (creating and rotating tokens, verifying them). */
  readonly hmacKey: KeySource;
  /**
   * Credentials by their secret's HMAC (the token authorizer's reader): the verify API's one read, and
   * leak reports' lookup of the reported secret.
   */
  readonly credentials: CredentialReader;
  /** The verify API's lastUsedAt update (the token authorizer's narrow write). */
  readonly lastUsed: LastUsedRecorder;
  /** The key list cursors are sealed with: a key of its own, not the HMAC key. */
  readonly cursorKey: KeySource;
  readonly settings: PolicySettings;
  readonly clock: Clock;
  /** A token's quota usage for its detail (docs/rate-limits.md); absent: the detail shows usage null. */
  readonly usage?: UsageReader | undefined;
  /**
   * The gateway's usage plans: create and edit put the token's usage key in place right after their
   * write (best effort; the usage-key stream consumer is the guarantee). Absent: the consumer only.
   */
  readonly usagePlans?: UsagePlanGateway | undefined;
  /** GitHub's secret scanning public keys (POST /leaks/github checks its reports' signatures). */
  readonly githubKeys: GithubPublicKeys;
}

/** What the leak reports' use case needs (core/leaks.ts), from a route's deps. */
export function leakDepsOf(
  deps: Pick<ManagementDeps, 'tokens' | 'credentials' | 'hmacKey' | 'settings' | 'clock'>,
): LeakDeps {
  return {
    credentials: deps.credentials,
    keySource: deps.hmacKey,
    repository: deps.tokens,
    clock: deps.clock,
    tokenPrefix: deps.settings.tokenPrefix,
  };
}

/** The create and edit routes' best-effort usage-key sync, failures logged (core/token-service.ts). */
export function usageKeySyncDeps(deps: Pick<ManagementDeps, 'usagePlans'>): UsageKeySyncDeps {
  return {
    usagePlans: deps.usagePlans,
    onUsageKeySyncError: (error, tokenId) =>
      logger.warn('Could not put the token usage key in place; the usage-key stream consumer will', {
        tokenId,
        error: errorFields(error),
      }),
  };
}

const errorFields = (error: unknown) =>
  error instanceof Error ? { name: error.name, message: error.message } : String(error);

/** How a route builds a token's detail: its settings, clock and usage reader, failures logged. */
export function tokenDetailDeps(deps: Pick<ManagementDeps, 'settings' | 'clock' | 'usage'>): TokenDetailDeps {
  return {
    settings: deps.settings,
    clock: deps.clock,
    usage: deps.usage,
    onUsageError: (error, tokenId) =>
      logger.warn('Could not read the token quota usage; the detail shows usage null', {
        tokenId,
        error: errorFields(error),
      }),
  };
}
