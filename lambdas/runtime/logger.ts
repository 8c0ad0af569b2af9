import { Logger } from '@aws-lambda-powertools/logger';

// One JSON logger per container. Event logging stays off: events carry Authorization headers.
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'access-tokens' });
