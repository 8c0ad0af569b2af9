import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import { findFreePort } from '../../local/emulators.js';
import {
  aliveAmong,
  descendantsOf,
  groupMembers,
  type ProcessRow,
  processTable,
} from '../support/processes.js';
import { holdersOf, isLoopback, listenersOnPort, listeningSocketsOf } from '../support/sockets.js';
import { pollUntil, scaled } from '../support/time.js';
import { type StackProcess, spawnLocalStack, stackTestTimeout } from './local-stack-process.js';

// What `npm start` leaves running, and where it listens: nothing beyond 127.0.0.1, and nothing at
// all once npm is stopped by a signal, or once npm or the stack's own process is killed outright.
// The same for the emulators the test setup (and the benchmark) start: killing that process leaves
// no java behind. Linux only: it reads /proc for the listening sockets.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Started {
  readonly stack: StackProcess;
  readonly ports: { readonly gateway: number; readonly dynamoDb: number; readonly ses: number };
  /** npm and every process below it, once ready. */
  readonly tree: ProcessRow[];
  /** Every process of the machine alive once the stack was ready. */
  readonly aliveWhenReady: ReadonlySet<number>;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function startViaNpm({ onTestFinished }: TestContext): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'atk-lifecycle-'));
  const ports = { gateway: await findFreePort(), dynamoDb: await findFreePort(), ses: await findFreePort() };
  const stack = spawnLocalStack(
    {
      LOCAL_GATEWAY_PORT: String(ports.gateway),
      LOCAL_DYNAMODB_PORT: String(ports.dynamoDb),
      LOCAL_SES_PORT: String(ports.ses),
      LOCAL_DATA_DIR: dataDir,
    },
    { via: 'npm' },
  );
  // The test's own hook, not the shared list nor the global onTestFinished: the stack tests run side
  // by side, and one test's end must not stop another's stack.
  onTestFinished(() => {
    stack.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await stack.ready;
  const npmPid = stack.child.pid ?? 0;
  const table = processTable();
  const tree = [...table.filter((row) => row.pid === npmPid), ...descendantsOf(npmPid, table)];
  return { stack, ports, tree, aliveWhenReady: new Set(table.map((row) => row.pid)) };
}

/** The process that started DynamoDB Local: the one running bin/local.ts (it also owns the gateway). */
function stackProcess(tree: readonly ProcessRow[]): ProcessRow {
  const found = tree.find((row) =>
    tree.some((child) => child.ppid === row.pid && /\bjava\b/.test(child.args)),
  );
  if (found === undefined) throw new Error(`no parent of java in:\n${describeRows(tree)}`);
  return found;
}

function describeRows(rows: readonly ProcessRow[]): string {
  return rows.map((row) => `${row.pid} ${row.stat} ${row.args}`).join('\n');
}

/** Waits until none of `rows`, and no member of the group, is alive; returns what still is. */
async function survivorsOf(rows: readonly ProcessRow[], group: number): Promise<ProcessRow[]> {
  const pids = rows.map((row) => row.pid);
  return pollUntil(
    () => {
      const table = processTable();
      const alive = aliveAmong(pids, table);
      const members = groupMembers(group, table).filter((row) => !pids.includes(row.pid));
      return [...alive, ...members];
    },
    (alive) => alive.length === 0,
    { ceilingMs: 30_000 },
  );
}

/**
 * Nothing of the stack listens on its ports any more, on any address, shortly after it stopped (on a
 * loaded machine the kernel may take a moment to close the sockets of a process that just exited). A
 * port the stack freed may be taken at once by another process of a busy machine (another test's
 * emulator): a listener whose holders were all either running before the stack was ready (and not
 * part of it) or started after it was stopped is not the stack's. Anything else, including a socket
 * no visible process holds, is; the failure names each one's holders.
 */
async function expectPortsFree(started: Started, aliveWhenStopped: ReadonlySet<number>): Promise<void> {
  const ours = new Set(started.tree.map((row) => row.pid));
  const notTheStacks = (pid: number) =>
    (started.aliveWhenReady.has(pid) && !ours.has(pid)) || !aliveWhenStopped.has(pid);
  const leftListeners = () =>
    [started.ports.gateway, started.ports.dynamoDb, started.ports.ses].flatMap((port) =>
      listenersOnPort(port).flatMap((socket) => {
        const holders = holdersOf(socket.inode);
        return holders.length === 0 || !holders.every(notTheStacks) ? [{ ...socket, holders }] : [];
      }),
    );
  const left = await pollUntil(leftListeners, (listeners) => listeners.length === 0, { ceilingMs: 15_000 });
  expect(left).toEqual([]);
}

/** The pids alive now: taken just before the stack is stopped. */
const alivePids = (): ReadonlySet<number> => new Set(processTable().map((row) => row.pid));

/**
 * Sends `signal` to `pid` (npm or the stack's own process) and checks that every process of the
 * stack is gone and its ports are free; resolves with how npm exited.
 */
async function stopAndExpectNothingLeft(
  started: Started,
  pid: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null }> {
  const { stack, tree } = started;
  const aliveWhenStopped = alivePids();
  process.kill(pid, signal);
  expect(describeRows(await survivorsOf(tree, stack.child.pid ?? 0))).toBe('');
  const exited = await stack.exited;
  await expectPortsFree(started, aliveWhenStopped);
  return exited;
}

// One after another: each test starts and stops its own stack on its own free ports, and every check
// about ports and processes is about its own stack's process tree, whatever else runs on the machine.
// Not side by side: a stack's start is CPU work (JVM, TypeScript), and four at once on two cores took
// 80 s each and slowed the other worker's stacks as much.
describe.runIf(process.platform === 'linux')('npm start: where it listens, and what it leaves behind', () => {
  it(
    'listens on 127.0.0.1 only (gateway, DynamoDB Local, SES emulator); SIGTERM to npm stops it all',
    async (context) => {
      const started = await startViaNpm(context);
      const { stack, ports, tree } = started;

      for (const port of [ports.gateway, ports.dynamoDb, ports.ses]) {
        const listeners = listenersOnPort(port);
        expect(listeners.length, `nothing listens on ${port}`).toBeGreaterThan(0);
        expect(listeners.map((socket) => socket.address).filter((address) => !isLoopback(address))).toEqual(
          [],
        );
      }
      // And no process of the stack listens anywhere else beyond loopback (a debug port, say).
      const all = listeningSocketsOf(tree.map((row) => row.pid));
      expect(all.filter((socket) => !isLoopback(socket.address))).toEqual([]);

      const exited = await stopAndExpectNothingLeft(started, stack.child.pid ?? 0, 'SIGTERM');
      expect(exited.code, stack.output()).toBe(0);
    },
    stackTestTimeout(),
  );

  it(
    'SIGINT to the npm process alone stops it all',
    async (context) => {
      const started = await startViaNpm(context);
      const exited = await stopAndExpectNothingLeft(started, started.stack.child.pid ?? 0, 'SIGINT');
      expect(exited.code, started.stack.output()).toBe(0);
    },
    stackTestTimeout(),
  );

  it(
    'kill -9 of the stack process: DynamoDB Local and the SES emulator exit by themselves',
    async (context) => {
      const started = await startViaNpm(context);
      const owner = stackProcess(started.tree);
      const emulators = descendantsOf(owner.pid, started.tree);
      expect(describeRows(emulators)).toMatch(/java/);
      expect(describeRows(emulators)).toMatch(/aws-ses-v2-local/);
      await stopAndExpectNothingLeft(started, owner.pid, 'SIGKILL');
    },
    stackTestTimeout(),
  );

  it(
    'kill -9 of npm: the stack notices it lost its parent and stops it all',
    async (context) => {
      const started = await startViaNpm(context);
      await stopAndExpectNothingLeft(started, started.stack.child.pid ?? 0, 'SIGKILL');
    },
    stackTestTimeout(),
  );
});

describe.runIf(process.platform === 'linux')('the test setup’s emulators', () => {
  it(
    'listen on 127.0.0.1 only, and exit when the process that started them is killed',
    async () => {
      // What test/support/global-setup.ts does in the vitest process, in a process of its own.
      const script = [
        "const { setup } = await import('./test/support/global-setup.ts');",
        'const provided = {};',
        'await setup({ config: { maxWorkers: 2 }, provide: (key, value) => { provided[key] = value; } });',
        "console.log('ready ' + JSON.stringify(provided));",
      ].join('\n');
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      cleanups.push(() => {
        try {
          process.kill(-(child.pid ?? 0), 'SIGKILL');
        } catch {
          // Already gone.
        }
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.stderr.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const endpoints = await new Promise<{ dynamoEndpoints: string[]; sesEndpoint: string }>(
        (resolveReady, reject) => {
          child.stdout.on('data', () => {
            const match = /^ready (.*)$/m.exec(output);
            if (match?.[1] !== undefined) resolveReady(JSON.parse(match[1]));
          });
          child.once('exit', (code) => reject(new Error(`the setup exited (${code}):\n${output}`)));
        },
      );
      expect(endpoints.dynamoEndpoints).toHaveLength(2);
      const ports = [...endpoints.dynamoEndpoints, endpoints.sesEndpoint].map((url) =>
        Number(new URL(url).port),
      );
      for (const port of ports) {
        const listeners = listenersOnPort(port);
        expect(listeners.length, `nothing listens on ${port}`).toBeGreaterThan(0);
        expect(listeners.map((socket) => socket.address).filter((address) => !isLoopback(address))).toEqual(
          [],
        );
      }

      const emulators = descendantsOf(child.pid ?? 0);
      expect(describeRows(emulators)).toMatch(/java/);
      process.kill(child.pid ?? 0, 'SIGKILL');
      expect(describeRows(await survivorsOf(emulators, child.pid ?? 0))).toBe('');
    },
    scaled(150_000),
  );
});
