import { fileURLToPath } from 'node:url';

/**
 * `node_modules/.cache/access-tokens`: what the local stack makes once per checkout and keeps between
 * runs (the compiled DynamoDB Local launcher, the passed function-environment checks). It goes with
 * `node_modules`, so a fresh `npm ci` starts without it.
 */
export const LOCAL_CACHE_ROOT = fileURLToPath(
  new URL('../node_modules/.cache/access-tokens', import.meta.url),
);
