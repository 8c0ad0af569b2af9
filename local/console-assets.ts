import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

// The web console on the local gateway (README "Console"): `npm start` builds console/ with Vite when
// its sources are newer than console/dist (a couple of seconds, while the emulators start; nothing
// when it is current) and the gateway serves it at its root, same origin as the management API, so
// no CORS locally. A build rather than Vite's dev middleware: `npm start` then serves exactly the
// files a deployment uploads, under the same CSP (no inline script), and needs no dev server.
//
// Served, for GET and HEAD only and only where no API route matched (API routes keep priority):
//   /config.json        {apiUrl: <gateway origin>, auth: {kind: 'local'}} (console/src/config.ts);
//   /assets/<file>      the hashed bundle files, cached for good;
//   any other path      index.html when the request accepts text/html (the app's own routes:
//                       /, /token/<id>, /admin/..., /sign-in, none of them an API path).

interface ConsoleAnswer {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** What the deployed response-headers policy sends too: no inline script, no framing, no referrer. */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const consoleDir = (rootDir: string) => join(rootDir, 'console');
const distDir = (rootDir: string) => join(consoleDir(rootDir), 'dist');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Whether console/dist is missing or older than any of the console's sources. */
function consoleBuildIsStale(rootDir: string): boolean {
  const index = join(distDir(rootDir), 'index.html');
  if (!existsSync(index)) return true;
  const dir = consoleDir(rootDir);
  const sources = ['src', 'index.html', 'vite.config.ts'].map((name) => join(dir, name)).filter(existsSync);
  return Math.max(...sources.map(newestMtime)) > statSync(index).mtimeMs;
}

/**
 * Builds the console when it is stale. Into a directory of its own first, then swapped in, so that
 * two stacks starting at once (tests) never serve a half-written dist.
 */
export async function ensureConsoleBuilt(rootDir: string, log: (line: string) => void): Promise<void> {
  if (!consoleBuildIsStale(rootDir)) return;
  const dir = consoleDir(rootDir);
  const staging = join(dir, `.dist-${process.pid}-${Date.now()}`);
  const startedAt = performance.now();
  const { build } = await import('vite');
  try {
    await build({
      configFile: join(dir, 'vite.config.ts'),
      logLevel: 'error',
      build: { outDir: staging, emptyOutDir: true },
    });
    const old = `${staging}-old`;
    try {
      renameSync(distDir(rootDir), old);
    } catch {
      // No dist yet.
    }
    try {
      renameSync(staging, distDir(rootDir));
    } catch {
      // Another stack swapped its build in meanwhile: the same sources, keep that one.
    }
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`Console built in ${((performance.now() - startedAt) / 1000).toFixed(1)} s (console/dist).`);
}

function file(path: string, cache: string): ConsoleAnswer | undefined {
  try {
    const body = readFileSync(path);
    return {
      statusCode: 200,
      headers: {
        'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
        'cache-control': cache,
        ...SECURITY_HEADERS,
      },
      body,
    };
  } catch {
    return undefined;
  }
}

interface ConsoleRequest {
  readonly method: string;
  readonly path: string;
  readonly accept: string | undefined;
}

/** The console's answer to a request no API route matched, or undefined (the gateway's 404). */
export function consoleAssets(
  rootDir: string,
  apiUrl: string,
): (request: ConsoleRequest) => ConsoleAnswer | undefined {
  const dist = resolve(distDir(rootDir));
  const config = JSON.stringify({ apiUrl, auth: { kind: 'local' } });
  return ({ method, path, accept }) => {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    if (path === '/config.json') {
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...SECURITY_HEADERS },
        body: config,
      };
    }
    if (path.startsWith('/assets/')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(path);
      } catch {
        return undefined;
      }
      const target = resolve(dist, `.${decoded}`);
      if (!target.startsWith(`${dist}${sep}assets${sep}`)) return undefined;
      return file(target, 'public, max-age=31536000, immutable');
    }
    if (accept?.includes('text/html')) {
      return (
        file(join(dist, 'index.html'), 'no-cache') ?? {
          statusCode: 503,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: 'The console is not built: npm run build:console',
        }
      );
    }
    return undefined;
  };
}

/** The console's initial JavaScript budget (issue #13): what index.html loads before anything runs. */
export const INITIAL_JS_BUDGET_GZIP_BYTES = 80 * 1024;

/** The scripts index.html loads at once (entry + module preloads) and their gzip size (level 9). */
export function initialJavaScript(rootDir: string): { files: string[]; gzipBytes: number } {
  const dist = distDir(rootDir);
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const files = [
    ...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/([^"]+\.js)"/g),
  ]
    .map((match) => match[1] ?? '')
    .filter((file) => file !== '');
  const gzipBytes = files.reduce(
    (total, file) => total + gzipSync(readFileSync(join(dist, file)), { level: 9 }).length,
    0,
  );
  return { files, gzipBytes };
}
