#!/usr/bin/env node
// The `access-tokens` bin (package.json): runs the CLI's TypeScript sources (cli/main.ts) from a
// bundle kept fresh next to them (cli/bundle.mjs), or through tsx's loader when no bundle can be
// written. No build step either way: `npx access-tokens` from the repository and an installed package
// run the same sources. See docs/cli.md.
import { fileURLToPath } from 'node:url';
import { freshBundle } from './bundle.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// The bundle sits in cli/ like the sources, so what they resolve relative to their own file
// (../package.json) resolves the same from it.
const bundle = await freshBundle({
  entry: fileURLToPath(new URL('main.ts', import.meta.url)),
  outfile: fileURLToPath(new URL('access-tokens.bundle.mjs', import.meta.url)),
  root,
});
if (bundle === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
} else {
  await import(bundle);
}
