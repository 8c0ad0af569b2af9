#!/usr/bin/env node
// The `access-tokens` bin (package.json): registers tsx's loader, then runs the TypeScript sources.
// No build step: `npx access-tokens` from the repository and an installed package run the same
// files (tsx is a runtime dependency for this). See docs/cli.md.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
