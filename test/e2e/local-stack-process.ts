import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { READY_MARKER } from '../../local/banner.js';
import { findFreePort } from '../../local/emulators.js';
import { scaled } from '../support/time.js';

// `npm start` as a user runs it, for the end-to-end tests, in its own process group, so that
// "Ctrl-C" can be sent the way a terminal sends it: SIGINT to the whole foreground group (npm, node,
// java, the SES emulator), and so that a failed test can kill whatever is left.
//
// `via: 'node'` (the default) runs the command of the `start` script, `node --import tsx
// bin/local.ts`, without npm: on a Ctrl-C to the group npm kills itself with the signal, so behind
// npm the exit code is npm's, never the local stack's; and npm prints its own header lines, which
// are not this project's output. `via: 'npm'` runs `npm start` itself, for the tests of what npm
// does with signals.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Last-resort guard: the stack either prints its banner or exits long before. */
const READY_CEILING_MS = 120_000;

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

interface SpawnOptions {
  readonly via?: 'node' | 'npm';
}

export function spawnLocalStack(env: Record<string, string>, options: SpawnOptions = {}): StackProcess {
  const [command, args] =
    options.via === 'npm' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'bin/local.ts']];
  const child = spawn(command, args, {
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
  const ceilingMs = scaled(READY_CEILING_MS);
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready banner within ${ceilingMs} ms:\n${output}`)),
      ceilingMs,
    );
    const check = () => {
      if (output.includes(READY_MARKER) && output.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolveReady();
      }
    };
    child.stdout?.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited (${code ?? signal}) before it was ready:\n${output}`));
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

/** How long a test that starts the local stack may take: the ready guard plus `restMs` for the rest. */
export function stackTestTimeout(restMs = 30_000): number {
  return scaled(READY_CEILING_MS + restMs);
}

/** The non-empty lines of an output. */
export function linesOf(output: string): string[] {
  return output
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '');
}

/** A stack on three free ports with its data in `dataDir`, revocation immediate, and its URLs. */
export async function spawnLocalStackOnFreePorts(dataDir: string): Promise<{
  readonly stack: StackProcess;
  readonly urls: { readonly gateway: string; readonly dynamoDb: string; readonly ses: string };
}> {
  const [gatewayPort, dynamoPort, sesPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const stack = spawnLocalStack({
    LOCAL_GATEWAY_PORT: String(gatewayPort),
    LOCAL_DYNAMODB_PORT: String(dynamoPort),
    LOCAL_SES_PORT: String(sesPort),
    LOCAL_DATA_DIR: dataDir,
    LOCAL_REVOCATION_WINDOW_SECONDS: '',
  });
  const url = (port: number) => `http://127.0.0.1:${port}`;
  return { stack, urls: { gateway: url(gatewayPort), dynamoDb: url(dynamoPort), ses: url(sesPort) } };
}
