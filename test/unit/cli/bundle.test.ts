import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freshBundle } from '../../../cli/bundle.mjs';

// The bin's start-up cache (cli/bundle.mjs): the CLI runs from a bundle of its TypeScript sources,
// rebuilt when a source changes, and from the sources through tsx when no bundle can be made.

function project(): { root: string; entry: string; helper: string; outfile: string } {
  const root = mkdtempSync(join(tmpdir(), 'cli-bundle-'));
  const entry = join(root, 'main.ts');
  const helper = join(root, 'helper.ts');
  writeFileSync(helper, "export const greeting: string = 'first';\n");
  writeFileSync(entry, "import { greeting } from './helper.js';\nexport const said: string = greeting;\n");
  return { root, entry, helper, outfile: join(root, 'main.bundle.mjs') };
}

async function said(bundle: string | undefined): Promise<unknown> {
  expect(bundle).toBeDefined();
  // A query string per load: the module cache would otherwise answer with the first build.
  const module = (await import(`${pathToFileURL(bundle ?? '').href}?at=${Math.random()}`)) as {
    said?: unknown;
  };
  return module.said;
}

describe('the CLI bundle', () => {
  it('is built on first use and runs the sources, imports resolved', async () => {
    const paths = project();
    await expect(said(await freshBundle(paths))).resolves.toBe('first');
  });

  it('is reused while no source changed, and rebuilt when one did', async () => {
    const paths = project();
    await freshBundle(paths);
    // Whole seconds: every file system keeps those exactly.
    const builtAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    utimesSync(paths.outfile, builtAt, builtAt);
    utimesSync(paths.helper, new Date(builtAt.getTime() - 60_000), new Date(builtAt.getTime() - 60_000));
    utimesSync(paths.entry, new Date(builtAt.getTime() - 60_000), new Date(builtAt.getTime() - 60_000));

    await freshBundle(paths);
    expect(statSync(paths.outfile).mtimeMs).toBe(builtAt.getTime());

    // An edit to a source the entry imports: the next command runs the new code.
    writeFileSync(paths.helper, "export const greeting: string = 'second';\n");
    await expect(said(await freshBundle(paths))).resolves.toBe('second');
  });

  it('is not made when it cannot be (sources that do not compile, nowhere to write): the caller uses tsx', async () => {
    const broken = project();
    writeFileSync(broken.helper, 'export const greeting: string = ;\n');
    await expect(freshBundle(broken)).resolves.toBeUndefined();

    const unwritable = project();
    const blocker = join(unwritable.root, 'a-file');
    writeFileSync(blocker, '');
    await expect(
      freshBundle({ ...unwritable, outfile: join(blocker, 'main.bundle.mjs') }),
    ).resolves.toBeUndefined();
  });

  it('a bundle whose list of inputs is gone is rebuilt, not trusted', async () => {
    const paths = project();
    await freshBundle(paths);
    writeFileSync(`${paths.outfile}.inputs.json`, '[]');
    writeFileSync(paths.helper, "export const greeting: string = 'third';\n");
    await expect(said(await freshBundle(paths))).resolves.toBe('third');
  });
});
