import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../lambdas/runtime/logger.js';
import { localFunction, MAX_CONCURRENCY_ENV } from '../../../local/lambda-runtime.js';

// Every handler of the local stack runs in one process and shares the one Powertools logger; each
// log line must still carry the name of the function (and the request id) it comes from while
// invocations overlap, as it does deployed, where each function logs on its own.

/** A handler as the service writes them: middy with the logger's Lambda context injected. */
function loggingHandler(steps: (log: (message: string) => void) => Promise<void>) {
  return middy(async (_event: unknown, _context: Context) => {
    await steps((message) => logger.info(message));
    return { ok: true };
  }).use(injectLambdaContext(logger, { logEvent: false }));
}

interface LogLine {
  readonly message: string;
  readonly function_name?: string;
  readonly function_request_id?: string;
}

describe('local Lambda runtime', () => {
  let lines: LogLine[];
  beforeEach(() => {
    vi.stubEnv(MAX_CONCURRENCY_ENV, '64');
    lines = [];
    const capture = (chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      for (const line of text.split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
      return true;
    };
    vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('log lines of overlapping invocations name their own function and request', async () => {
    let releaseFirst: () => void = () => undefined;
    const secondStarted = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = localFunction(
      'access-tokens-local-first',
      'first.ts',
      loggingHandler(async (log) => {
        log('first: before');
        await secondStarted; // the second invocation starts (and logs) meanwhile
        log('first: after');
      }),
      60_000,
    );
    const second = localFunction(
      'access-tokens-local-second',
      'second.ts',
      loggingHandler(async (log) => {
        log('second');
        releaseFirst();
      }),
      60_000,
    );

    await Promise.all([first.invoke({}), second.invoke({})]);

    const functionOf = (message: string) => lines.find((line) => line.message === message)?.function_name;
    expect(functionOf('first: before')).toBe('access-tokens-local-first');
    expect(functionOf('second')).toBe('access-tokens-local-second');
    // Fails without a context per invocation: the second invocation's context replaced the first's.
    expect(functionOf('first: after')).toBe('access-tokens-local-first');
    const requestOf = (message: string) =>
      lines.find((line) => line.message === message)?.function_request_id;
    expect(requestOf('first: after')).toBe(requestOf('first: before'));
    expect(requestOf('first: after')).not.toBe(requestOf('second'));
  });
});
