import { DynamoAuditLog } from '../adapters/dynamo-audit-log.js';
import { DynamoCredentialReader } from '../adapters/dynamo-credential-reader.js';
import { DynamoRevokeAllJobs } from '../adapters/dynamo-revoke-all-jobs.js';
import { DynamoTokenRepository } from '../adapters/dynamo-token-repository.js';
import { DynamoUserAccessRepository } from '../adapters/dynamo-user-access.js';
import type { AuditLog, CredentialReader, TokenRepository, UserAccessRepository } from '../core/ports.js';
import type { RevokeAllJobStore } from '../core/revoke-all-job.js';
import { sharedDocumentClient } from './clients.js';
import { ENV, requireEnv } from './env.js';
import { policySettingsFromEnv } from './settings.js';
import { tableIndexesFromEnv } from './table-indexes.js';

// Wiring shared by the management handler modules. Called at module load (once per container), so
// a missing env var fails the cold start with its name. Every repository that writes audit events
// takes the retention from the same policy settings, so all of a change's events expire alike.

function auditRetentionFromEnv(env: NodeJS.ProcessEnv): { auditRetentionDays: number } {
  return { auditRetentionDays: policySettingsFromEnv(env).auditRetentionDays };
}

function optionsFromEnv(env: NodeJS.ProcessEnv) {
  return { ...auditRetentionFromEnv(env), indexes: tableIndexesFromEnv(env) };
}

export function tokenRepositoryFromEnv(env: NodeJS.ProcessEnv = process.env): TokenRepository {
  return new DynamoTokenRepository(
    sharedDocumentClient(),
    requireEnv(ENV.tableName, env),
    optionsFromEnv(env),
  );
}

export function userAccessRepositoryFromEnv(env: NodeJS.ProcessEnv = process.env): UserAccessRepository {
  return new DynamoUserAccessRepository(
    sharedDocumentClient(),
    requireEnv(ENV.tableName, env),
    auditRetentionFromEnv(env),
  );
}

export function auditLogFromEnv(env: NodeJS.ProcessEnv = process.env): AuditLog {
  return new DynamoAuditLog(sharedDocumentClient(), requireEnv(ENV.tableName, env), optionsFromEnv(env));
}

export function revokeAllJobsFromEnv(env: NodeJS.ProcessEnv = process.env): RevokeAllJobStore {
  return new DynamoRevokeAllJobs(sharedDocumentClient(), requireEnv(ENV.tableName, env));
}

/** Credentials by their secret's HMAC: the one consistent read of the verify API and the leak reports. */
export function credentialReaderFromEnv(env: NodeJS.ProcessEnv = process.env): CredentialReader {
  return new DynamoCredentialReader(sharedDocumentClient(), requireEnv(ENV.tableName, env));
}
