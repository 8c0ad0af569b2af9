import { systemClock } from '../core/ports.js';
import { cursorKeySourceFromEnv } from '../runtime/key-source.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { listTokensRoute } from './route.js';

// The cursor key only: this function is deployed without the HMAC key (docs/security.md).
export const handler = listTokensRoute({
  tokens: tokenRepositoryFromEnv(),
  cursorKey: cursorKeySourceFromEnv(),
  clock: systemClock,
});
