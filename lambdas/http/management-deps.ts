import type { AuditLog, Clock, KeySource, TokenRepository, UserAccessRepository } from '../core/ports.js';
import type { RevokeAllJobDeps, RevokeAllJobStore } from '../core/revoke-all-job.js';
import type { PolicySettings } from '../core/settings.js';

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
  /** The HMAC key that hashes token secrets (creating and rotating tokens). */
  readonly hmacKey: KeySource;
  /** The key list cursors are sealed with: a key of its own, not the HMAC key. */
  readonly cursorKey: KeySource;
  readonly settings: PolicySettings;
  readonly clock: Clock;
}
