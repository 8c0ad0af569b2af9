import { systemClock } from '../core/ports.js';
import { tokenRepositoryFromEnv } from '../runtime/repositories.js';
import { getTokenRoute } from './route.js';

export const handler = getTokenRoute({ tokens: tokenRepositoryFromEnv(), clock: systemClock });
