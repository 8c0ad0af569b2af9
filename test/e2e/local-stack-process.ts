import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { READY_MARKER } from '../../local/banner.js';

// `npm start` as a user runs it, for the end-to-end test: `tsx bin/local.ts` in its own process
// group, so that "Ctrl-C" can be sent the way a terminal sends it: SIGINT to the whole foreground
// group (tsx, node, java, the SES emulator).
//
// It runs the tsx binary that `npx tsx` (and `npm start`) resolve to, without the npm wrapper: on a
// Ctrl-C npm's `sh -c` dies of the SIGINT and npm then kills itself with it, so behind npx the
// exit code is npm's (null, SIGINT), never the local stack's; and npm prints its own config
// warnings, which are not this project's output.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export interface StackProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves once the ready banner is printed; rejects if the process exits first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ctrl-C. */
  interrupt(): void;
  /** SIGKILL to the whole group: cleanup after a failed test. */
  kill(): void;
}

export function spawnLocalStack(env: Record<string, string>, readyTimeoutMs = 45_000): StackProcess {
  const child = spawn(TSX, ['bin/local.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready banner within ${readyTimeoutMs} ms:\n${output}`)),
      readyTimeoutMs,
    );
    const check = () => {
      if (output.includes(READY_MARKER) && output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited with ${code} before it was ready:\n${output}`));
    });
  });
  ready.catch(() => undefined);
  const signalGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  return {
    child,
    output: () => output,
    ready,
    exited,
    interrupt: () => signalGroup('SIGINT'),
    kill: () => signalGroup('SIGKILL'),
  };
}

/** The non-empty lines of an output. */
export function linesOf(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
}
