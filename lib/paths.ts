import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The repository root, found from this file rather than the working directory, so that `cdk synth`,
// the tests and any other caller resolve handler entries the same way.
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** An absolute path for a path relative to the repository root (as in lambdas/contract/routes.ts). */
export function repoPath(relativePath: string): string {
  return join(REPO_ROOT, relativePath);
}
