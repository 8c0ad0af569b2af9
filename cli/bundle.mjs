// The CLI's start-up cache: one JavaScript file bundled from the TypeScript sources with esbuild
// (tsx's own compiler, so nothing new is installed), kept next to them and rebuilt whenever a source
// it was built from is newer. Why by hand: loading the sources through tsx's loader costs each
// command 0.6 s here (2 to 4 s on a loaded machine); importing the bundle costs a fraction of that,
// and a build step at install time would leave a stale bundle after every edit of the sources. No
// library keeps a bundle fresh against its inputs this way; tsx's own cache still transforms and
// resolves each file on every start.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The bundle of `entry` at `outfile`, rebuilt first if any of its inputs changed since. Returns the
 * bundle's path, or `undefined` when it cannot be built or written (no esbuild, a read-only
 * install): the caller then runs the sources through tsx instead.
 * @param {{ entry: string, outfile: string, root: string }} paths
 * @returns {Promise<string | undefined>}
 */
export async function freshBundle({ entry, outfile, root }) {
  const inputsFile = `${outfile}.inputs.json`;
  if (isFresh(outfile, inputsFile)) return outfile;
  try {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      // Packages load from node_modules as usual; only the repository's TypeScript is bundled.
      packages: 'external',
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      outfile,
      absWorkingDir: root,
      logLevel: 'silent',
    });
    const code = result.outputFiles.find((file) => file.path === resolve(root, outfile));
    if (code === undefined) return undefined;
    const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(root, input));
    mkdirSync(dirname(outfile), { recursive: true });
    // Written beside and renamed into place: a command running at the same time never reads half a file.
    const temporary = `${outfile}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, code.contents);
      renameSync(temporary, outfile);
      writeFileSync(`${inputsFile}.${process.pid}.tmp`, JSON.stringify(inputs));
      renameSync(`${inputsFile}.${process.pid}.tmp`, inputsFile);
    } finally {
      rmSync(temporary, { force: true });
      rmSync(`${inputsFile}.${process.pid}.tmp`, { force: true });
    }
    return outfile;
  } catch {
    return undefined;
  }
}

/** True when the bundle exists and no input it was built from is missing or newer than it. */
function isFresh(outfile, inputsFile) {
  try {
    const builtAt = statSync(outfile).mtimeMs;
    const inputs = JSON.parse(readFileSync(inputsFile, 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return false;
    return inputs.every((input) => typeof input === 'string' && statSync(input).mtimeMs <= builtAt);
  } catch {
    return false;
  }
}
