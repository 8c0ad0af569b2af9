import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

// Running a handler module as Lambda would: the module is imported once (its top level is the cold
// start, which reads the environment), and each invocation gets a fresh context object. A handler
// that runs past its timeout is abandoned (its promise is left to settle) and reported as a timeout.
//
// Every handler runs in this one process and shares its modules, among them the one Powertools
// logger (lambdas/runtime/logger.ts); deployed, each function has its own. So that each log line
// still names the function (and request) it comes from while invocations overlap, every invocation
// runs inside its own context of the InvokeStore, as the Lambda runtime runs invocations that share
// an execution environment (Lambda Managed Instances): Powertools keeps a logger's Lambda context
// per invocation when AWS_LAMBDA_MAX_CONCURRENCY is set and the runtime exposes the store.

type LambdaFunction = (event: unknown, context: Context) => Promise<unknown>;

export interface LocalFunction {
  /** e.g. `access-tokens-local-createToken`. */
  readonly name: string;
  /** The module, relative to the repository root. */
  readonly entry: string;
  readonly invoke: (event: unknown) => Promise<unknown>;
}

export class LambdaTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName} timed out after ${timeoutMs} ms`);
    this.name = 'LambdaTimeoutError';
  }
}

const REGION = 'local';
const ACCOUNT = '000000000000';

/** Set before any handler module is loaded (local/handler-environment.ts sets the variable). */
export const MAX_CONCURRENCY_ENV = 'AWS_LAMBDA_MAX_CONCURRENCY';

/** The runtime's invocation store (`globalThis.awslambda.InvokeStore`), created once per process. */
const invokeStore = InvokeStore.getInstanceAsync(true);

function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const ignore = () => undefined;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: ignore,
    fail: ignore,
    succeed: ignore,
  };
}

/** Imports `<rootDir>/<entry>` and returns its `handler`, checked to be a function. */
export async function loadLambdaFunction(rootDir: string, entry: string): Promise<LambdaFunction> {
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(resolve(rootDir, entry)).href);
  } catch (error) {
    throw new Error(`could not load ${entry}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof module.handler !== 'function') {
    throw new Error(`${entry} does not export a handler function`);
  }
  const handler = module.handler as (event: unknown, context: Context) => unknown;
  return async (event, context) => handler(event, context);
}

export function localFunction(
  name: string,
  entry: string,
  handler: LambdaFunction,
  timeoutMs: number,
): LocalFunction {
  return {
    name,
    entry,
    invoke: async (event) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LambdaTimeoutError(name, timeoutMs)), timeoutMs);
      });
      const context = lambdaContext(name, timeoutMs);
      const store = await invokeStore;
      const invocation = store.run(
        { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId },
        () => handler(event, context),
      );
      try {
        return await Promise.race([invocation, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
