import { DynamoTokenRepository } from '../adapters/dynamo-token-repository.js';
import type { TokenRepository } from '../core/ports.js';
import { sharedDocumentClient } from '../runtime/clients.js';
import { ENV, requireEnv } from '../runtime/env.js';

// Wiring shared by the management handler modules. Called at module load (once per container), so
// a missing env var fails the cold start with its name.

export function tokenRepositoryFromEnv(env: NodeJS.ProcessEnv = process.env): TokenRepository {
  return new DynamoTokenRepository(sharedDocumentClient(), requireEnv(ENV.tableName, env));
}
