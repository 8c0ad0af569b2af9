import { beforeEach } from 'vitest';

// The handlers' Powertools logger writes its JSON lines straight to process.stdout and
// process.stderr (through a Console of its own, which vitest does not capture), so every handler a
// test invokes would print into the run's output. This setup file (every project) holds those lines
// back instead, and prints the held lines of a test that fails, after its error.
//
// Tests that read log lines keep working: they replace process.stdout.write / process.stderr.write
// with a spy (test/support/proxy-events.ts, authorizer-events.ts), which sits on top of this filter
// and sees every line; restoring the spy brings the filter back. Anything that is not a Powertools
// line (vitest's own output, a test's console.info) passes through untouched.

const POWERTOOLS_LINE = /^\{"level":"(?:TRACE|DEBUG|INFO|WARN|ERROR|CRITICAL|SILENT)"/;

/** The last lines of a test are the ones that explain its failure. */
const MAX_HELD = 500;

type Write = typeof process.stdout.write;
const HELD = Symbol.for('access-tokens.quiet-logs');
// On globalThis: a worker that runs several files loads this module once per file, and the wrapper
// installed by the first must feed the buffer the later ones read.
const store = globalThis as { [HELD]?: string[] };
store[HELD] ??= [];
const held = (): string[] => store[HELD] ?? [];

function hold(stream: NodeJS.WriteStream & { [HELD]?: true }): void {
  if (stream[HELD] === true) return; // a worker that runs several files: wrap once
  stream[HELD] = true;
  const write: Write = stream.write.bind(stream);
  const filtered = ((
    chunk: string | Uint8Array,
    encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (!POWERTOOLS_LINE.test(text)) {
      return typeof encodingOrCallback === 'function'
        ? write(chunk, encodingOrCallback)
        : write(chunk, encodingOrCallback, callback);
    }
    const lines = held();
    lines.push(text.trimEnd());
    if (lines.length > MAX_HELD) lines.shift();
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (done !== undefined) queueMicrotask(() => done());
    return true;
  }) as Write;
  stream.write = filtered;
}

hold(process.stdout);
hold(process.stderr);

beforeEach((context) => {
  store[HELD] = [];
  context.onTestFailed(() => {
    const lines = held();
    if (lines.length === 0) return;
    store[HELD] = [];
    console.error(`log lines of the failed test (${lines.length}):\n${lines.join('\n')}`);
  });
});
