import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The layers of lambdas/ (docs/architecture.md), checked over the import graph so that they stay
// what the docs say. Every import of every module under lambdas/ (static, type-only, re-exports and
// dynamic imports alike, as TypeScript's own pre-processor reads them) is classified by the layer
// of the importing file and what it names: a layer, a package, or a Node built-in. A broken rule
// fails with the file and the import that breaks it.

const ROOT = path.resolve(import.meta.dirname, '../../..');
const LAMBDAS = path.join(ROOT, 'lambdas');

/** Folders of lambdas/ that are layers; every other folder is one function's handler folder. */
const LAYERS = ['core', 'contract', 'http', 'adapters', 'runtime'] as const;
type Layer = (typeof LAYERS)[number];
const isLayer = (folder: string): folder is Layer => (LAYERS as readonly string[]).includes(folder);
/** A function's own folder (`lambdas` is the top of lambdas/, which has a rule of its own). */
const isHandlerFolder = (folder: string | undefined) =>
  folder !== undefined && folder !== 'lambdas' && !isLayer(folder);

/**
 * Known violations in files another change owns (the authorizer rework), as
 * `file -> import` exactly as a failure names them. The rules stay strict: this list only lets
 * those lines through until their owner fixes them, and an entry that no longer occurs fails the
 * suite, so the list can only shrink. Empty it, then delete it.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

interface ImportEdge {
  /** Repository-relative path of the importing file. */
  readonly file: string;
  /** The specifier as written. */
  readonly specifier: string;
  /** Repository-relative path for a relative import; undefined for a package or built-in. */
  readonly target: string | undefined;
}

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function importsOf(file: string): ImportEdge[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const relativeFile = path.relative(ROOT, file);
  return info.importedFiles.map(({ fileName: specifier }) => ({
    file: relativeFile,
    specifier,
    target: specifier.startsWith('.')
      ? path.relative(ROOT, path.resolve(path.dirname(file), specifier)).replace(/\.js$/, '.ts')
      : undefined,
  }));
}

const EDGES = sourceFiles(LAMBDAS).flatMap(importsOf);

/** `core`, `contract`… for a layer, the folder name for a handler folder, `lambdas` for a top-level file. */
function folderOf(repoPath: string): string | undefined {
  const [top, folder, rest] = repoPath.split(path.sep);
  if (top !== 'lambdas') return undefined;
  return rest === undefined ? 'lambdas' : folder;
}

const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

type Rule = (edge: ImportEdge, from: string) => string | undefined;

const RULES: readonly Rule[] = [
  // The domain: node built-ins and itself, nothing else (no zod, no SDK, no wire DTOs, no route
  // table, no HTTP, no wiring).
  (edge, from) => {
    if (from !== 'core') return undefined;
    if (edge.target === undefined) {
      return edge.specifier.startsWith('node:') ? undefined : 'lambdas/core/ imports only node: built-ins';
    }
    return folderOf(edge.target) === 'core' ? undefined : 'lambdas/core/ imports only lambdas/core/';
  },
  // The AWS SDK: only adapters (which take clients by constructor) and the wiring layer.
  (edge, from) =>
    edge.target === undefined &&
    edge.specifier.startsWith('@aws-sdk/') &&
    from !== 'adapters' &&
    from !== 'runtime'
      ? '@aws-sdk/* is imported only in lambdas/adapters/ and lambdas/runtime/'
      : undefined,
  // The contract (schemas, OpenAPI, the API half of the route table): the domain's vocabulary and zod.
  (edge, from) => {
    if (from !== 'contract') return undefined;
    if (edge.target === undefined)
      return packageOf(edge.specifier) === 'zod' ? undefined : 'lambdas/contract/ imports only zod';
    const to = folderOf(edge.target);
    return to === 'core' || to === 'contract'
      ? undefined
      : 'lambdas/contract/ imports only lambdas/core/ and itself';
  },
  // Adapters implement the domain's ports; they build nothing from the environment.
  (edge, from) => {
    if (from !== 'adapters' || edge.target === undefined) return undefined;
    const to = folderOf(edge.target);
    return to === 'core' || to === 'adapters'
      ? undefined
      : 'lambdas/adapters/ imports only lambdas/core/ and itself';
  },
  // The HTTP layer maps requests to use cases: no SDK client, no adapter (runtime/ wires those).
  (edge, from) => {
    if (from !== 'http' || edge.target === undefined) return undefined;
    const to = folderOf(edge.target);
    return to === 'adapters' || isHandlerFolder(to)
      ? 'lambdas/http/ imports no adapter and no handler folder'
      : undefined;
  },
  // The wiring layer builds adapters from the environment; it serves handlers, it does not import them.
  (edge, from) => {
    if (from !== 'runtime' || edge.target === undefined) return undefined;
    const to = folderOf(edge.target);
    return to === 'http' || isHandlerFolder(to)
      ? 'lambdas/runtime/ imports no HTTP code and no handler folder'
      : undefined;
  },
  // Handler folders: each stands alone; what two of them share is a layer.
  (edge, from) => {
    if (!isHandlerFolder(from) || edge.target === undefined) return undefined;
    const to = folderOf(edge.target);
    return isHandlerFolder(to) && to !== from
      ? 'no handler folder imports another handler folder (shared code is a layer)'
      : undefined;
  },
  // Every module sits in a layer or a handler folder: no loose modules at the top of lambdas/.
  (edge) =>
    edge.target !== undefined && folderOf(edge.target) === 'lambdas'
      ? 'no module at the top of lambdas/: it belongs in a layer (the route table is lambdas/contract/routes.ts)'
      : undefined,
  // Nothing under lambdas/ reaches into the CDK app, the local stack or the tests.
  (edge) =>
    edge.target !== undefined && folderOf(edge.target) === undefined
      ? 'lambdas/ imports nothing outside lambdas/'
      : undefined,
];

function violations(): string[] {
  return EDGES.flatMap((edge) => {
    const from = folderOf(edge.file) ?? '';
    return RULES.flatMap((rule) => {
      const broken = rule(edge, from);
      return broken === undefined ? [] : [`${edge.file} -> ${edge.specifier}: ${broken}`];
    });
  });
}

const withoutReason = (violation: string) => violation.slice(0, violation.indexOf(': '));

describe('architecture: the import rules of lambdas/', () => {
  it('reads the import graph (a sanity check that the scan sees the code)', () => {
    expect(EDGES.length).toBeGreaterThan(200);
    expect(EDGES.some((edge) => edge.file === path.join('lambdas', 'core', 'token-service.ts'))).toBe(true);
  });

  it('no import breaks a layer rule', () => {
    const found = violations().filter((violation) => !KNOWN_VIOLATIONS.includes(withoutReason(violation)));
    expect(found, `layer rules broken (docs/architecture.md):\n${found.join('\n')}\n`).toEqual([]);
  });

  it('every known violation still occurs (the list only shrinks)', () => {
    const found = new Set(violations().map(withoutReason));
    expect(KNOWN_VIOLATIONS.filter((known) => !found.has(known))).toEqual([]);
  });

  it('every *FromEnv factory and every SDK client is created in lambdas/runtime/', () => {
    const misplaced = sourceFiles(LAMBDAS)
      .filter((file) => folderOf(path.relative(ROOT, file)) !== 'runtime')
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, index) =>
            /export (async )?function \w+FromEnv\b|new \w+Client\(/.test(line)
              ? [`${path.relative(ROOT, file)}:${index + 1}: ${line.trim()}`]
              : [],
          ),
      )
      .filter((line) => !KNOWN_VIOLATIONS.includes(line.slice(0, line.indexOf(':'))));
    expect(misplaced, `create these in lambdas/runtime/:\n${misplaced.join('\n')}\n`).toEqual([]);
  });

  it('the domain speaks no HTTP: no status code in lambdas/core/', () => {
    const http = sourceFiles(path.join(LAMBDAS, 'core')).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, index) => {
          const code = line.trim();
          if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return [];
          return /statusCode|STATUS_BY_CODE|httpStatus/.test(code)
            ? [`${path.relative(ROOT, file)}:${index + 1}: ${code}`]
            : [];
        }),
    );
    expect(http, `map domain errors to statuses in lambdas/http/:\n${http.join('\n')}\n`).toEqual([]);
  });

  it('no item key is built or parsed by hand outside the item modules', () => {
    // Keys and queried partitions are built in adapters/table-definition.ts (KEYS, PARTITIONS,
    // tokenIdOfKey) and mapped to items in adapters/items.ts; anywhere else a `TOKEN#…` written out
    // could drift from them.
    const ITEM_MODULES = new Set(
      ['table-definition.ts', 'items.ts'].map((name) => path.join('lambdas', 'adapters', name)),
    );
    const KEY_LITERAL = /[`'"](TOKEN|CREDENTIAL|LIMIT|SLOTS|SLOT|ACCESS|AUDIT|USER|ACCOUNT|EXPIRES)#/;
    const handBuilt = sourceFiles(LAMBDAS)
      .filter((file) => !ITEM_MODULES.has(path.relative(ROOT, file)))
      .flatMap((file) =>
        readFileSync(file, 'utf8')
          .split('\n')
          .flatMap((line, index) => {
            const code = line.trim();
            if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return [];
            return KEY_LITERAL.test(code) ? [`${path.relative(ROOT, file)}:${index + 1}: ${code}`] : [];
          }),
      );
    expect(handBuilt, `build these keys with KEYS / PARTITIONS:\n${handBuilt.join('\n')}\n`).toEqual([]);
  });
});
