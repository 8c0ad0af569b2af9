import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Every child process the benchmark starts is registered here, so that an error, Ctrl-C or SIGTERM
// stops all of them: DynamoDB Local (java), the TypeScript workers, the timed `node` starts and the
// local stack (its own process group: node, java, the SES emulator). If the benchmark is killed
// outright, they go too: DynamoDB Local and the SES emulator exit when their parent does
// (local/emulators.ts), and so does the local stack (bin/local.ts).

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * `node` with tsx's loader, then the script: TypeScript run in one process, as `npm start` runs
 * bin/local.ts. (The `tsx` binary would put a process of its own in between, which outlives the
 * benchmark if that is killed, and keeps its child alive with it.)
 */
export function tsxCommand(script: string): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', script]];
}

interface Tracked {
  readonly name: string;
  readonly child: ChildProcess;
  /** Started with `detached: true`: signals go to its whole process group. */
  readonly group: boolean;
}

const live = new Set<Tracked>();

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function signal(tracked: Tracked, sig: NodeJS.Signals): void {
  const pid = tracked.child.pid;
  if (pid === undefined) return;
  try {
    if (tracked.group) process.kill(-pid, sig);
    else tracked.child.kill(sig);
  } catch {
    // Already gone.
  }
}

/** Registers a child; it is forgotten once it exits. */
export function track(name: string, child: ChildProcess, group = false): void {
  const tracked: Tracked = { name, child, group };
  live.add(tracked);
  child.once('exit', () => {
    if (!tracked.group) live.delete(tracked);
  });
}

/** Stops one child (its group if detached): `first` signal, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, first: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
  const tracked = [...live].find((entry) => entry.child === child);
  if (tracked === undefined) return;
  if (!exited(child)) {
    const done = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
    signal(tracked, first);
    const timer = setTimeout(() => signal(tracked, 'SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }
  // A group may outlive its leader (java under tsx): make sure nothing of it is left.
  if (tracked.group) signal(tracked, 'SIGKILL');
  live.delete(tracked);
}

/** Stops every registered child, politely first. */
export async function stopAllChildren(): Promise<void> {
  await Promise.all(
    [...live].map((tracked) => stopChild(tracked.child, tracked.group ? 'SIGINT' : 'SIGTERM')),
  );
}

/** Last resort (process exit): SIGKILL whatever is still registered, synchronously. */
function killAllChildrenNow(): void {
  for (const tracked of live) signal(tracked, 'SIGKILL');
  live.clear();
}

/** Keeps the last `limit` characters of a stream (draining it, so a chatty child never blocks). */
export function tail(stream: NodeJS.ReadableStream | null, limit = 6000): () => string {
  let text = '';
  stream?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-limit);
  });
  return () => text;
}

/** A minimal environment for children: no AWS profile or credentials of the caller leak in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  // The SDK's notice that its 2027 releases need Node 22 (README "Quick start"), once per process.
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
}

interface WorkerRun {
  readonly stderr: string;
}

/**
 * Runs a TypeScript script to completion with stdout discarded (the handler's log lines go there, as in
 * Lambda, at the deployed log level) and stderr kept for the error message. Rejects on a non-zero
 * exit or after `timeoutMs`.
 */
export async function runTsxScript(
  name: string,
  script: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<WorkerRun> {
  const [command, args] = tsxCommand(script);
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  track(name, child);
  const stderr = tail(child.stderr);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code, sig } = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>(
    (resolveExit, reject) => {
      child.once('error', reject);
      child.once('exit', (exitCode, exitSignal) => resolveExit({ code: exitCode, sig: exitSignal }));
    },
  );
  clearTimeout(timer);
  if (code !== 0) {
    throw new Error(`${name} failed (exit ${code ?? sig ?? '?'}):\n${stderr()}`);
  }
  return { stderr: stderr() };
}

/**
 * A temporary work directory for a run, and the cleanup on every way out: Ctrl-C or SIGTERM stops
 * every tracked child, removes the directory and exits 130; a normal exit kills what is left.
 */
export function runScope(prefix: string): {
  readonly dir: string;
  readonly removeDir: () => void;
  /** Whether a signal is stopping the run (its main flow should not report a failure then). */
  readonly interrupted: () => boolean;
} {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // One Ctrl-C arrives twice (the terminal, and tsx relaying it): act once.
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping child processes...`);
    void stopAllChildren().finally(() => {
      removeDir();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildrenNow);
  return { dir, removeDir, interrupted: () => interrupted };
}
