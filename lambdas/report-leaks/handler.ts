import { HttpGithubPublicKeys } from '../adapters/github-public-keys.js';
import { systemClock } from '../core/ports.js';
import { keySourceFromEnv } from '../runtime/key-source.js';
import { credentialReaderFromEnv, tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { policySettingsFromEnv } from '../runtime/settings.js';
import { reportLeaksRoute } from './route.js';

const settings = policySettingsFromEnv();

// The public keys are kept for the container's life (lambdas/adapters/github-public-keys.ts).
export const handler = reportLeaksRoute({
  tokens: tokenRepositoryFromEnv(),
  credentials: credentialReaderFromEnv(),
  hmacKey: keySourceFromEnv(),
  githubKeys: new HttpGithubPublicKeys(settings.leaksPublicKeysUrl),
  settings,
  clock: systemClock,
});
