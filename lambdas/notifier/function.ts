import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { logger } from '../runtime/logger.js';
import { createStreamNotifier, type StreamNotifierDeps } from './stream-notifier.js';

// The notifier's Lambda handler on the deps it is given (handler.ts builds them from the
// environment; tests pass their own): the stream batch, with the time this invocation has left.

export function notifierFunction(deps: StreamNotifierDeps) {
  const notify = createStreamNotifier(deps);
  return middy<DynamoDBStreamEvent, DynamoDBBatchResponse>()
    .use(injectLambdaContext(logger, { logEvent: false }))
    .handler((event, context) => notify(event, () => context.getRemainingTimeInMillis()));
}
