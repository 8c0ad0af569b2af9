import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { LOCAL_CACHE_ROOT } from './cache-root.js';
import {
  checkFunctionEnvironments,
  type FunctionEnvironmentSpec,
  functionEnvironment,
  LOCAL_FUNCTION_ENVIRONMENTS,
} from './function-environments.js';

// The check of local/function-environments.ts loads every handler module in ten worker threads: about
// 12 s of CPU, as much as the rest of `npm start` together. Its outcome depends only on the code the
// workers load and on each function's environment, so a passed check is remembered under a key of
// both, and a start with the same code and the same environments skips it (a restart, and every
// local stack of the end-to-end tests after the first). A failed check is never remembered.
//
// Only the run's own places are left out of the key: the URLs of the gateway and the emulators and the
// data directory, which differ between runs on other ports (the tests) but are never what makes a
// handler load or not (it reads them; it connects nowhere while loading). Each is written as its role
// instead, so a variable that goes missing or empty, or changes in any other way, still changes the key.

/** Files whose content decides what a worker loads: the handlers and all they import, and the check. */
function keyedFiles(rootDir: string, specs: readonly FunctionEnvironmentSpec[]): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(rootDir, 'lambdas'));
  for (const name of ['package-lock.json', 'tsconfig.json', 'local/function-environments.ts']) {
    const path = join(rootDir, name);
    if (existsSync(path)) files.push(path);
  }
  // An entry outside lambdas/ (a test fixture) counts too.
  for (const spec of specs) files.push(resolve(rootDir, spec.entry));
  return [...new Set(files)].sort();
}

export interface RunPlaces {
  /** Role → this run's value, e.g. `{ gateway: 'http://127.0.0.1:4010', dataDir: '/…/.data' }`. */
  readonly [role: string]: string;
}

/** The environment with each of this run's places written as its role (longest first: ports share prefixes). */
function withRoles(env: Readonly<Record<string, string>>, places: RunPlaces): Record<string, string> {
  const byLength = Object.entries(places)
    .filter(([, value]) => value !== '')
    .sort(([, a], [, b]) => b.length - a.length);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env).sort(([a], [b]) => a.localeCompare(b))) {
    let keyed = value;
    for (const [role, place] of byLength) keyed = keyed.split(place).join(`<${role}>`);
    out[name] = keyed;
  }
  return out;
}

function checkKey(
  rootDir: string,
  localEnvironment: Readonly<Record<string, string>>,
  places: RunPlaces,
  specs: readonly FunctionEnvironmentSpec[],
): string {
  const hash = createHash('sha256');
  for (const file of keyedFiles(rootDir, specs)) {
    if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
    hash.update(relative(rootDir, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  const environments = specs.map((spec) => [
    spec.name,
    spec.entry,
    withRoles(functionEnvironment(spec, localEnvironment), places),
  ]);
  return hash.update(JSON.stringify(environments)).digest('hex').slice(0, 32);
}

/** A few environments at once (stacks with other settings); older passes are of code that has changed since. */
const KEPT_PASSES = 8;

function forgetAllButNewest(cacheDir: string, kept: number): void {
  const passes = readdirSync(cacheDir)
    .map((name) => ({
      path: join(cacheDir, name),
      mtime: statSync(join(cacheDir, name), { throwIfNoEntry: false })?.mtimeMs ?? 0,
    }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { path } of passes.slice(kept)) rmSync(path, { force: true });
}

interface CachedCheckOptions {
  readonly specs?: readonly FunctionEnvironmentSpec[];
  /** @default `node_modules/.cache/access-tokens/function-environments` (local/cache-root.ts) */
  readonly cacheDir?: string;
  /** @default checkFunctionEnvironments */
  readonly check?: typeof checkFunctionEnvironments;
}

/**
 * `checkFunctionEnvironments`, skipped when the same code and environments passed it before. Resolves
 * `'checked'` or `'unchanged'`; rejects as the check does.
 */
export async function checkFunctionEnvironmentsOnce(
  rootDir: string,
  localEnvironment: Readonly<Record<string, string>>,
  places: RunPlaces,
  options: CachedCheckOptions = {},
): Promise<'checked' | 'unchanged'> {
  const specs = options.specs ?? LOCAL_FUNCTION_ENVIRONMENTS;
  const cacheDir = options.cacheDir ?? join(LOCAL_CACHE_ROOT, 'function-environments');
  const passed = join(cacheDir, checkKey(rootDir, localEnvironment, places, specs));
  if (existsSync(passed)) return 'unchanged';
  await (options.check ?? checkFunctionEnvironments)(rootDir, localEnvironment, specs);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(passed, '');
  forgetAllButNewest(cacheDir, KEPT_PASSES);
  return 'checked';
}
