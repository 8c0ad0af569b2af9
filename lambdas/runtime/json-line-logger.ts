import { randomInt } from 'node:crypto';
import type { Context } from 'aws-lambda';

// The token authorizer's logger: the same JSON lines the Powertools Logger writes (runtime/logger.ts
// with its middy middleware, as every other function of this stack logs), written by hand.
//
// Why by hand: the authorizer logs every decision, and on an in-process cache hit the decision is
// only a few microseconds of work; Powertools spent about 30 µs of a 45 µs verification on the one
// line (deep merges of attribute objects, a level-name lookup by scanning a table, the env read
// twice per line, a JSON replacer called for every key, a Console), and it and the middy
// middleware that gives it the Lambda context were the last 24 KB keeping the bundle above
// 400 KB. docs/performance.md has the figures. Nothing else in the stack uses this.
//
// What is kept, as Powertools 2.x writes it (a unit test compares lines with a real Powertools
// Logger, key by key and in order, for the same input and environment):
//   - keys, in order: level, message, timestamp, service, cold_start, function_arn,
//     function_memory_size, function_name, function_request_id, sampling_rate, xray_trace_id,
//     tenant_id, then the line's own fields in their order; a value that is undefined, null or ''
//     is left out;
//   - the level: AWS_LAMBDA_LOG_LEVEL (Lambda's advanced logging controls; FATAL means CRITICAL)
//     wins, then POWERTOOLS_LOG_LEVEL, then LOG_LEVEL, else INFO; a line below it is not written.
//     POWERTOOLS_LOGGER_SAMPLE_RATE lowers the level to DEBUG for that share of invocations (and
//     says so in a DEBUG line), unless the advanced logging controls set it;
//   - the timestamp: ISO 8601 in UTC, or with the offset of TZ when TZ names another zone;
//   - cold_start true on the first invocation of an on-demand container only;
//   - INFO and below to stdout, WARN and above to stderr, one line each (what Powertools' Console
//     does; Lambda ships both streams to the function's log group).
// Not kept, because this function never uses them: persistent or temporary keys, own fields named
// like Powertools' keys (it drops or overwrites those), error objects and other non-primitive
// values, log buffering, POWERTOOLS_DEV pretty printing, event logging.

const LEVELS = { TRACE: 6, DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
type LogLevelName = keyof typeof LEVELS;

const isLevelName = (value: string): value is LogLevelName => Object.hasOwn(LEVELS, value);

/** Primitive values only: what the authorizer's lines carry. */
export type LogValue = string | number | boolean | null | undefined;
export type LogFields = Readonly<Record<string, LogValue>>;

/** What one invocation's lines share: its Lambda context fields, its trace id and its log level. */
export interface InvocationLog {
  /** `,"cold_start":…` through `,"function_request_id":…`, or '' without a context. */
  readonly head: string;
  /** `,"sampling_rate":…` through `,"tenant_id":…`. */
  readonly tail: string;
  readonly level: number;
}

/** The Lambda runtime's per-invocation store (concurrent invocations); Powertools reads the trace id there first. */
interface LambdaGlobal {
  readonly awslambda?: { readonly InvokeStore?: { getXRayTraceId(): string | undefined } };
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * A JSON string literal. Most values (ids, ARNs, reason codes) need no escaping, and a call of
 * JSON.stringify costs more than the rest of the line: they are quoted as they are; anything with
 * a quote, a backslash, a control or a non-ASCII character goes through JSON.stringify.
 */
function quote(value: string): string {
  return NEEDS_ESCAPING.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/**
 * A character that is not printable ASCII, or a quote or a backslash. A regular expression, not a
 * loop over the characters: about half the time for the request id every line quotes anew
 * (docs/performance.md). No `g` flag, so test() keeps no state between calls.
 */
const NEEDS_ESCAPING = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/** A primitive as JSON: what JSON.stringify gives (a number that is not finite is null). */
function json(value: string | number | boolean): string {
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return value ? 'true' : 'false';
}

/** `,"name":value`, or '' for undefined, null and '' (which Powertools leaves out). */
const field = (name: string, value: LogValue): string =>
  value === undefined || value === null || value === '' ? '' : `,${quote(name)}:${json(value)}`;

/**
 * field() for one name, its `,"name":` rendered once: this logger's own keys, and the fields a
 * caller renders for writeRendered().
 */
export const fieldOf = (name: string) => {
  const prefix = `,${quote(name)}:`;
  return (value: LogValue): string =>
    value === undefined || value === null || value === '' ? '' : `${prefix}${json(value)}`;
};
const traceIdField = fieldOf('xray_trace_id');
const requestIdField = fieldOf('function_request_id');
const tenantIdField = fieldOf('tenant_id');

/**
 * The `Root` of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`), as Powertools reads it: it
 * puts each `;`-separated part in an object under the text before its first `=`, so the last part
 * whose key is `Root` wins, with the text between its first and second `=` (undefined when it has
 * none). Found with indexOf, not Powertools' split(';') and split('='): Lambda sets a new header for
 * every invocation, and the arrays and strings of the splits took about 1 µs of it, 0.1 µs this way
 * (docs/performance.md). A property in test/unit/authorizer/json-line-logger.test.ts compares the
 * lines with Powertools' for any header.
 */
function traceRoot(header: string | undefined): string | undefined {
  if (header === undefined || header === '') return undefined;
  if (!header.includes('=')) return header;
  const length = header.length;
  let root: string | undefined;
  for (let start = 0; start <= length; ) {
    const semicolon = header.indexOf(';', start);
    const end = semicolon < 0 ? length : semicolon;
    const equals = header.indexOf('=', start);
    const keyEnd = equals < 0 || equals > end ? end : equals;
    if (keyEnd - start === 4 && header.startsWith('Root', start)) {
      if (keyEnd === end) {
        root = undefined;
      } else {
        const secondEquals = header.indexOf('=', equals + 1);
        root = header.slice(equals + 1, secondEquals < 0 || secondEquals > end ? end : secondEquals);
      }
    }
    start = end + 1;
  }
  return root;
}

const dateFormatter = (timeZone: string) =>
  new Intl.DateTimeFormat('en', {
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZone,
  });

/** TZ as Powertools applies it: a zone other than UTC gives local time with its offset; an unknown zone, UTC with +00:00. */
interface ZonedTime {
  readonly formatter: Intl.DateTimeFormat;
  readonly withOffset: boolean;
}

function zonedTime(timeZone: string): ZonedTime | undefined {
  if (timeZone === '' || timeZone.includes('UTC')) return undefined;
  try {
    return { formatter: dateFormatter(timeZone), withOffset: true };
  } catch {
    return { formatter: dateFormatter('UTC'), withOffset: false };
  }
}

const NO_FIELDS = { leading: '', rest: '' };

export class JsonLineLogger {
  private readonly baseLevel: number;
  /** Set by Lambda's advanced logging controls: sampling cannot change it. */
  private readonly levelIsFixed: boolean;
  /** `,"service":"…"`: the same on every line. */
  private readonly serviceField: string;
  private readonly sampleRate: number;
  private readonly samplingField: string;
  private readonly onDemand: boolean;
  private coldStart = true;
  private readonly zoned: ZonedTime | undefined;
  private lastLevel: LogLevelName | undefined;
  private lastMessage: string | undefined;
  /** `"level":"…","message":"…","timestamp":"` of the last line: every decision line has the same. */
  private lastOpening = '';
  private lastStampMs = Number.NaN;
  private lastStamp = '';
  /** The rendered function_arn, function_memory_size and function_name of the last context seen. */
  private lastFunction: { arn: unknown; memory: unknown; name: unknown; rendered: string } | undefined;

  constructor(
    private readonly env: Env = process.env,
    private readonly out: {
      readonly stdout: NodeJS.WritableStream;
      readonly stderr: NodeJS.WritableStream;
    } = {
      stdout: process.stdout,
      stderr: process.stderr,
    },
  ) {
    const trimmed = (name: string) => env[name]?.trim() ?? '';
    const lambdaLevel =
      trimmed('AWS_LAMBDA_LOG_LEVEL') === 'FATAL' ? 'CRITICAL' : trimmed('AWS_LAMBDA_LOG_LEVEL');
    const configured = trimmed('POWERTOOLS_LOG_LEVEL') || trimmed('LOG_LEVEL');
    this.levelIsFixed = isLevelName(lambdaLevel);
    this.baseLevel = isLevelName(lambdaLevel)
      ? LEVELS[lambdaLevel]
      : isLevelName(configured)
        ? LEVELS[configured]
        : LEVELS.INFO;
    // runtime/logger.ts passes POWERTOOLS_SERVICE_NAME ?? 'access-tokens'; Powertools replaces '' with its default.
    this.serviceField = `","service":${quote((env.POWERTOOLS_SERVICE_NAME ?? 'access-tokens') || 'service_undefined')}`;
    const rate = Number(trimmed('POWERTOOLS_LOGGER_SAMPLE_RATE') || '0');
    this.sampleRate = Number.isFinite(rate) && rate >= 0 && rate <= 1 ? rate : 0;
    this.samplingField = `,"sampling_rate":${json(this.sampleRate)}`;
    this.onDemand = trimmed('AWS_LAMBDA_INITIALIZATION_TYPE') === 'on-demand';
    this.zoned = zonedTime(trimmed('TZ'));
  }

  /**
   * Starts an invocation (Powertools' addContext): renders what its lines share once, and decides
   * its level (debug sampling). Without a context, lines carry no context fields.
   */
  invocation(context: Context | undefined): InvocationLog {
    const store = (globalThis as LambdaGlobal).awslambda?.InvokeStore;
    const traceId = traceRoot(store?.getXRayTraceId() ?? this.env._X_AMZN_TRACE_ID?.trim());
    const tail = traceId === undefined ? this.samplingField : `${this.samplingField}${traceIdField(traceId)}`;
    const level = this.invocationLevel(tail);
    if (context === undefined) return { head: '', tail, level };
    const coldStart = this.onDemand && this.coldStart;
    this.coldStart = false;
    return {
      head: `${coldStart ? ',"cold_start":true' : ',"cold_start":false'}${this.functionFields(context)}${requestIdField(context.awsRequestId)}`,
      tail: `${tail}${tenantIdField((context as { readonly tenantId?: string }).tenantId)}`,
      level,
    };
  }

  enabled(invocation: InvocationLog, level: LogLevelName): boolean {
    return LEVELS[level] >= invocation.level;
  }

  debug(invocation: InvocationLog, message: string, fields?: LogFields): void {
    this.write(invocation, 'DEBUG', message, fields);
  }

  info(invocation: InvocationLog, message: string, fields?: LogFields): void {
    this.write(invocation, 'INFO', message, fields);
  }

  warn(invocation: InvocationLog, message: string, fields?: LogFields): void {
    this.write(invocation, 'WARN', message, fields);
  }

  error(invocation: InvocationLog, message: string, fields?: LogFields): void {
    this.write(invocation, 'ERROR', message, fields);
  }

  /**
   * A line whose own fields the caller has rendered already: `rendered` is fieldOf(name)(value) for
   * each, in order, concatenated, and no name is an array index or one of this logger's keys. The
   * same line as info()/warn()/error() with those fields, without building and walking an object:
   * the token authorizer writes its decision line this way (docs/performance.md).
   */
  writeRendered(invocation: InvocationLog, level: LogLevelName, message: string, rendered: string): void {
    const threshold = LEVELS[level];
    if (threshold < invocation.level) return;
    this.emit(invocation, level, threshold, message, '', rendered);
  }

  private write(invocation: InvocationLog, level: LogLevelName, message: string, fields?: LogFields): void {
    const threshold = LEVELS[level];
    if (threshold < invocation.level) return;
    const own = fields === undefined ? NO_FIELDS : ownFields(fields);
    this.emit(invocation, level, threshold, message, own.leading, own.rest);
  }

  private emit(
    invocation: InvocationLog,
    level: LogLevelName,
    threshold: number,
    message: string,
    leading: string,
    rest: string,
  ): void {
    const start = leading === '' ? '{' : `{${leading.slice(1)},`;
    // Few pieces: a line is a new string each time, and each piece is one more to join (docs/performance.md).
    const line = `${start}${this.opening(level, message)}${this.timestamp()}${this.serviceField}${invocation.head}${invocation.tail}${rest}}\n`;
    (threshold >= LEVELS.WARN ? this.out.stderr : this.out.stdout).write(line);
  }

  /** A line's level and message up to the timestamp's value, rendered once while they repeat. */
  private opening(level: LogLevelName, message: string): string {
    if (level !== this.lastLevel || message !== this.lastMessage) {
      this.lastLevel = level;
      this.lastMessage = message;
      this.lastOpening = `"level":"${level}"${field('message', message)},"timestamp":"`;
    }
    return this.lastOpening;
  }

  /** The base level, or DEBUG for a sampled invocation (said in a DEBUG line without context, as Powertools does). */
  private invocationLevel(tail: string): number {
    if (this.sampleRate === 0 || this.levelIsFixed || this.baseLevel <= LEVELS.TRACE) return this.baseLevel;
    if (randomInt(0, 100) / 100 > this.sampleRate) return this.baseLevel;
    this.debug({ head: '', tail, level: LEVELS.DEBUG }, 'Setting log level to DEBUG due to sampling rate');
    return LEVELS.DEBUG;
  }

  /** Function ARN, memory and name rarely change between invocations: rendered once while they do not. */
  private functionFields(context: Context): string {
    const last = this.lastFunction;
    const { invokedFunctionArn: arn, memoryLimitInMB: memory, functionName: name } = context;
    if (last !== undefined && last.arn === arn && last.memory === memory && last.name === name) {
      return last.rendered;
    }
    const rendered = `${field('function_arn', arn)}${field('function_memory_size', memory)}${field('function_name', name)}`;
    this.lastFunction = { arn, memory, name, rendered };
    return rendered;
  }

  /** Formatted at most once per millisecond: many lines share one at a high request rate. */
  private timestamp(): string {
    const nowMs = Date.now();
    if (nowMs !== this.lastStampMs) {
      this.lastStampMs = nowMs;
      this.lastStamp =
        this.zoned === undefined ? new Date(nowMs).toISOString() : zonedStamp(this.zoned, nowMs);
    }
    return this.lastStamp;
  }
}

/** A canonical array index ('0', '7', not '07' nor '0.1'): JavaScript objects list such keys first. */
function isArrayIndex(key: string): boolean {
  const first = key.charCodeAt(0);
  if (first < 0x30 || first > 0x39) return false;
  const index = Number(key);
  return Number.isInteger(index) && index < 4294967295 && String(index) === key;
}

/**
 * A line's own fields, `,"reason":"VALID",…`, in their order. Keys that are array indexes come first
 * in any JavaScript object, so Powertools writes them before `level`: `leading` holds those.
 */
function ownFields(fields: LogFields): { readonly leading: string; readonly rest: string } {
  let leading = '';
  let rest = '';
  for (const key in fields) {
    // Powertools' merge skips these two (prototype pollution), so they never reach its line.
    if (key === '__proto__' || key === 'constructor') continue;
    if (isArrayIndex(key)) leading += field(key, fields[key]);
    else rest += field(key, fields[key]);
  }
  return { leading, rest };
}

/** `2026-01-01T13:00:00.000+06:00`: Powertools' timestamp when TZ names a zone other than UTC. */
function zonedStamp(zoned: ZonedTime, nowMs: number): string {
  const date = new Date(nowMs);
  const parts: Record<string, string> = {};
  for (const part of zoned.formatter.formatToParts(date)) parts[part.type] = part.value;
  const offset = zoned.withOffset ? -date.getTimezoneOffset() : 0;
  const hours = String(Math.abs(Math.floor(offset / 60))).padStart(2, '0');
  const minutes = String(Math.abs(offset % 60)).padStart(2, '0');
  const millis = String(date.getMilliseconds()).padStart(3, '0');
  const time = `${parts.hour}:${parts.minute}:${parts.second}.${millis}`;
  return `${parts.year}-${parts.month}-${parts.day}T${time}${offset >= 0 ? '+' : '-'}${hours}:${minutes}`;
}
