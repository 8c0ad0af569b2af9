import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fieldOf, JsonLineLogger, type LogFields } from '../../../lambdas/runtime/json-line-logger.js';
import { captureStdout, lambdaContext } from '../../support/authorizer-events.js';

// The token authorizer's hand-written logger against the Powertools Logger it replaces
// (runtime/logger.ts plus the injectLambdaContext middleware): for the same environment, context,
// message and fields, the same line, byte for byte (the clock is frozen so the timestamps agree),
// on the same stream, and the same lines left out by the log level.

type Level = 'debug' | 'info' | 'warn' | 'error';

const NOW = new Date('2026-03-01T12:34:56.789Z');

/** Runs `emit` against a fresh Powertools Logger and a fresh JsonLineLogger; returns both outputs. */
function both(
  context: Context | undefined,
  emit: (log: (level: Level, message: string, fields?: LogFields) => void) => void,
): { powertools: string[]; handWritten: string[] } {
  const logs = captureStdout();
  try {
    // As runtime/logger.ts builds it; the middleware's addContext per invocation.
    const powertools = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'access-tokens' });
    if (context !== undefined) powertools.addContext(context);
    emit((level, message, fields) => powertools[level](message, { ...fields }));
    const powertoolsText = logs.text();
    logs.clear();
    const handWritten = new JsonLineLogger();
    const invocation = handWritten.invocation(context);
    emit((level, message, fields) => handWritten[level](invocation, message, fields));
    return { powertools: lines(powertoolsText), handWritten: lines(logs.text()) };
  } finally {
    logs.restore();
  }
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

/** What Powertools writes before a line's own fields, with a Lambda context (no trace, no tenant). */
const BASE_KEYS = [
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'sampling_rate',
];

const DECISION: LogFields = {
  reason: 'VALID',
  gateway: 'rest',
  method: 'GET',
  area: 'content',
  tokenId: 'tok_0000000000000000000001',
  userId: 'user-1',
  latencyMs: 0.042,
};

describe('JsonLineLogger writes the lines Powertools writes', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    for (const name of [
      'POWERTOOLS_LOG_LEVEL',
      'LOG_LEVEL',
      'AWS_LAMBDA_LOG_LEVEL',
      'POWERTOOLS_LOGGER_SAMPLE_RATE',
      'AWS_LAMBDA_INITIALIZATION_TYPE',
      '_X_AMZN_TRACE_ID',
      'TZ',
    ]) {
      vi.stubEnv(name, undefined);
    }
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'access-tokens');
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
  });

  const emitAll = (log: (level: Level, message: string, fields?: LogFields) => void) => {
    log('info', 'token authorizer decision', DECISION);
    log('warn', 'token authorizer decision', {
      reason: 'NOT_FOUND',
      gateway: 'http',
      method: 'POST',
      area: undefined,
      hint: 'atk_…Ab3d',
      latencyMs: 1.5,
    });
    log('error', 'token authorizer decision', {
      reason: 'DEPENDENCY_FAILURE',
      gateway: undefined,
      method: undefined,
      area: undefined,
      errorName: 'CorruptCredentialError',
      latencyMs: 3,
    });
    log('warn', 'lastUsedAt not recorded', { tokenId: 'tok_1', errorName: 'Throttling' });
    log('info', 'odd values', { empty: '', nothing: null, quote: 'a "b"\n\\c', flag: false, zero: 0 });
    log('info', 'more odd values', {
      text: 'é 😀 \ud800 \u007f \t',
      nan: Number.NaN,
      infinite: Number.POSITIVE_INFINITY,
      negativeZero: -0,
      '"key"': 'k',
      '2': 'an integer-like key',
    });
    log('debug', 'debug line', { a: 1 });
  };

  it('with the Lambda context of an invocation', () => {
    const { powertools, handWritten } = both(lambdaContext(), emitAll);
    expect(handWritten).toEqual(powertools);
    expect(handWritten).toHaveLength(6);
    expect(Object.keys(JSON.parse(handWritten[0] ?? '{}'))).toEqual([
      ...BASE_KEYS,
      'reason',
      'gateway',
      'method',
      'area',
      'tokenId',
      'userId',
      'latencyMs',
    ]);
  });

  it('without a context (no context fields at all)', () => {
    const { powertools, handWritten } = both(undefined, emitAll);
    expect(handWritten).toEqual(powertools);
  });

  it('on the first invocation of an on-demand container: cold_start true, once', () => {
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const { powertools, handWritten } = both(lambdaContext(), emitAll);
    expect(handWritten).toEqual(powertools);
    expect(JSON.parse(handWritten[0] ?? '{}').cold_start).toBe(true);
    const logger = new JsonLineLogger();
    expect(logger.invocation(lambdaContext()).head).toContain('"cold_start":true');
    expect(logger.invocation(lambdaContext()).head).toContain('"cold_start":false');
  });

  it('with an X-Ray trace, a tenant, another service name, a sample rate of 0 written as such', () => {
    vi.stubEnv(
      '_X_AMZN_TRACE_ID',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=557abcec3ee5a047;Sampled=1',
    );
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', 'tokens "prod"');
    vi.stubEnv('POWERTOOLS_LOGGER_SAMPLE_RATE', '0');
    const context = { ...lambdaContext(), tenantId: 'tenant-7' } as Context;
    const { powertools, handWritten } = both(context, emitAll);
    expect(handWritten).toEqual(powertools);
    expect(JSON.parse(handWritten[0] ?? '{}')).toMatchObject({
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      tenant_id: 'tenant-7',
    });
  });

  it('with any X-Ray trace header: the same trace id (its Root) as Powertools reads', () => {
    const piece = fc.oneof(
      fc.constantFrom('Root', 'Parent', 'Sampled', 'root', 'Root ', ' Root', '1-5759e988-bd862e3f', ''),
      fc.string({ maxLength: 6 }),
    );
    const separator = fc.constantFrom('=', ';', '==', ';;', '=;', ';=');
    const header = fc
      .array(fc.tuple(piece, separator), { minLength: 1, maxLength: 6 })
      .map((parts) => parts.map(([text, sep]) => `${text}${sep}`).join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          header,
          header.map((text) => text.slice(0, -1)),
          fc.string(),
        ),
        (trace) => {
          vi.stubEnv('_X_AMZN_TRACE_ID', trace);
          const { powertools, handWritten } = both(lambdaContext(), (log) => log('info', 'm', { a: 1 }));
          expect(handWritten).toEqual(powertools);
        },
      ),
      // Headers with more than one Root part: the last one counts, as in Powertools' object.
      { numRuns: 300, examples: [['Root;Root= ;'], ['Root=a;Root=b'], ['Root=a;Parent=p;Root']] },
    );
  });

  it('with TZ set to a zone: local time with its offset', () => {
    vi.stubEnv('TZ', 'Asia/Kolkata');
    const { powertools, handWritten } = both(lambdaContext(), emitAll);
    expect(handWritten).toEqual(powertools);
    expect(JSON.parse(handWritten[0] ?? '{}').timestamp).toBe('2026-03-01T18:04:56.789+05:30');
  });

  it('for any message and fields of primitive values', () => {
    // Own fields never reuse Powertools' own keys (it drops or overwrites those; see the logger).
    const powertoolsKeys = new Set([...BASE_KEYS, 'xray_trace_id', 'tenant_id']);
    const ownKey = fc.string().filter((key) => !powertoolsKeys.has(key));
    const value = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('', null, undefined, true, false),
      fc.double(),
      fc.integer(),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.dictionary(ownKey, value), (message, fields) => {
        const { powertools, handWritten } = both(lambdaContext(), (log) => log('info', message, fields));
        expect(handWritten).toEqual(powertools);
      }),
      {
        numRuns: 300,
        // Numeric keys that are not array indexes keep their place; '7' moves first (a landing run found '0.1').
        examples: [
          ['', { '0.1': 0 }],
          ['m', { b: 1, '1.5': 'x', '7': true, '07': 2, '-1': 3, '1e3': 4, '4294967295': 5 }],
        ],
      },
    );
  });

  it('writeRendered (fields rendered by the caller with fieldOf) writes the same line as info/warn with those fields', () => {
    const isIndex = (key: string) => /^(0|[1-9][0-9]*)$/.test(key);
    const ownKey = fc.string().filter((key) => !isIndex(key) && !['__proto__', 'constructor'].includes(key));
    const value = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('', null, undefined, true, false),
      fc.double(),
    );
    fc.assert(
      fc.property(
        fc.constantFrom('INFO', 'WARN') as fc.Arbitrary<'INFO' | 'WARN'>,
        fc.string(),
        fc.dictionary(ownKey, value),
        (level, message, fields) => {
          const logs = captureStdout();
          try {
            const logger = new JsonLineLogger();
            const invocation = logger.invocation(lambdaContext());
            if (level === 'INFO') logger.info(invocation, message, fields);
            else logger.warn(invocation, message, fields);
            const expected = logs.text();
            logs.clear();
            let rendered = '';
            for (const [key, fieldValue] of Object.entries(fields)) rendered += fieldOf(key)(fieldValue);
            logger.writeRendered(invocation, level, message, rendered);
            expect(logs.text()).toBe(expected);
          } finally {
            logs.restore();
          }
        },
      ),
      { numRuns: 200, examples: [['INFO', '', { '0.1': 0 }]] },
    );
  });

  it('INFO and DEBUG to stdout, WARN and ERROR to stderr', () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const sink = (into: string[]) => ({ write: (line: string) => into.push(line) }) as never;
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    const logger = new JsonLineLogger(process.env, { stdout: sink(stdout), stderr: sink(stderr) });
    const invocation = logger.invocation(lambdaContext());
    logger.debug(invocation, 'd');
    logger.info(invocation, 'i');
    logger.warn(invocation, 'w');
    logger.error(invocation, 'e');
    expect(stdout.map((line) => JSON.parse(line).message)).toEqual(['d', 'i']);
    expect(stderr.map((line) => JSON.parse(line).message)).toEqual(['w', 'e']);
    expect(
      [...stdout, ...stderr].every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n')),
    ).toBe(true);
  });

  it.each([
    [{ POWERTOOLS_LOG_LEVEL: 'DEBUG' }],
    [{ POWERTOOLS_LOG_LEVEL: 'WARN' }],
    [{ POWERTOOLS_LOG_LEVEL: 'ERROR' }],
    [{ POWERTOOLS_LOG_LEVEL: 'SILENT' }],
    [{ POWERTOOLS_LOG_LEVEL: 'CRITICAL' }],
    [{ POWERTOOLS_LOG_LEVEL: 'warn' }],
    [{ POWERTOOLS_LOG_LEVEL: ' WARN ' }],
    [{ POWERTOOLS_LOG_LEVEL: 'nonsense' }],
    [{ LOG_LEVEL: 'ERROR' }],
    [{ POWERTOOLS_LOG_LEVEL: 'DEBUG', LOG_LEVEL: 'ERROR' }],
    [{ AWS_LAMBDA_LOG_LEVEL: 'ERROR', POWERTOOLS_LOG_LEVEL: 'DEBUG' }],
    [{ AWS_LAMBDA_LOG_LEVEL: 'FATAL' }],
    [{ AWS_LAMBDA_LOG_LEVEL: 'DEBUG', POWERTOOLS_LOG_LEVEL: 'ERROR' }],
  ])('honours the log level as Powertools does: %o', (env) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const { powertools, handWritten } = both(lambdaContext(), emitAll);
    // Powertools warns once about a level below Lambda's advanced logging controls; that is not a decision line.
    expect(handWritten).toEqual(powertools.filter((line) => !line.includes('Advanced Logging Controls')));
  });

  it('a sample rate of 1 lowers the level to DEBUG and says so, as Powertools does', () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'ERROR');
    vi.stubEnv('POWERTOOLS_LOGGER_SAMPLE_RATE', '1');
    const { powertools, handWritten } = both(lambdaContext(), emitAll);
    // Powertools says it at construction, before the context; this logger at the start of the invocation.
    expect(handWritten).toEqual(powertools);
    expect(JSON.parse(handWritten[0] ?? '{}')).toMatchObject({
      level: 'DEBUG',
      message: 'Setting log level to DEBUG due to sampling rate',
      sampling_rate: 1,
    });
    expect(handWritten).toHaveLength(8);
  });
});
