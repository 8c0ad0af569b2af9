import type { Context } from 'aws-lambda';

// The Lambda contexts the bench hands the token authorizer's handler: what the runtime passes, with
// a distinct request id per invocation (the decision line carries it). One set for every bench worker.

const contexts: Context[] = Array.from({ length: 1024 }, (_, index) => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'access-tokens-token-authorizer',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:access-tokens-token-authorizer',
  memoryLimitInMB: '512',
  awsRequestId: `0b1f6a8e-7b61-41e6-9a41-${String(index).padStart(12, '0')}`,
  logGroupName: '/aws/lambda/access-tokens-token-authorizer',
  logStreamName: '2026/01/01/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => 3000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
}));

/** The context of the `index`th invocation (1,024 distinct request ids, reused in turn). */
export const lambdaContextFor = (index: number): Context => contexts[index & 1023] as Context;
