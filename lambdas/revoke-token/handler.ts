import { systemClock } from '../core/ports.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { revokeTokenRoute } from './route.js';

export const handler = revokeTokenRoute({ tokens: tokenRepositoryFromEnv(), clock: systemClock });
