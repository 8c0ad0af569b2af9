import { ENV, optionalEnv } from '../runtime/env.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { expiryLedgerFunction } from './function.js';

// Env → deps → handler (function.ts does the work). The repository's audit retention comes from the
// policy settings, like every function that writes audit events.
export const handler = expiryLedgerFunction({
  repository: tokenRepositoryFromEnv(),
  replicated: optionalEnv(ENV.globalTable) === 'true',
});
