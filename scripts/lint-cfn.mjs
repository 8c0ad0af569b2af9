#!/usr/bin/env node
// `npm run lint:cfn`: cfn-lint (AWS CloudFormation Linter, a Python tool: `pip install cfn-lint`) on
// every template this repository synthesizes: the Access Tokens stack as cdk.json ships it (no
// sender, no emails), the same with every optional part on (emails to a domain identity), and the
// example app in examples/protected-api. Without cfn-lint it says so in one line and exits 0:
// `npm test` asserts each constraint itself and does not depend on this.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
if (probe.error !== undefined || probe.status !== 0) {
  console.log('cfn-lint is not installed (pip install cfn-lint): skipping the CloudFormation lint.');
  process.exit(0);
}
console.log(`cfn-lint ${probe.stdout.trim()}`);

const apps = [
  { name: 'AccessTokens (cdk.json as shipped)', cwd: root, context: [] },
  {
    name: 'AccessTokens (emails on, domain identity)',
    cwd: root,
    context: ['senderAddress=tokens@mail.example.com', 'sesIdentity=mail.example.com'],
  },
  { name: 'examples/protected-api', cwd: join(root, 'examples', 'protected-api'), context: [] },
];

const scratch = mkdtempSync(join(tmpdir(), 'access-tokens-cfn-lint-'));
// Removed on every way out, an interrupt included: no temp files left behind.
const cleanUp = () => rmSync(scratch, { recursive: true, force: true });
process.once('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

let failed = 0;
for (const [index, app] of apps.entries()) {
  const outdir = join(scratch, String(index));
  console.log(`\n▶ ${app.name}: cdk synth`);
  const synth = spawnSync(
    'npx',
    ['cdk', 'synth', '--quiet', '--ci', '--output', outdir, ...app.context.flatMap((pair) => ['-c', pair])],
    { cwd: app.cwd, stdio: 'inherit' },
  );
  if (synth.status !== 0) {
    console.log(`✘ ${app.name}: cdk synth failed`);
    failed += 1;
    continue;
  }
  const templates = readdirSync(outdir)
    .filter((file) => file.endsWith('.template.json'))
    .map((file) => join(outdir, file));
  console.log(`▶ ${app.name}: cfn-lint ${templates.length} template(s)`);
  // Errors fail the run; warnings and informational findings are printed for a reviewer to judge.
  const lint = spawnSync('cfn-lint', ['--non-zero-exit-code', 'error', ...templates], { stdio: 'inherit' });
  if (lint.status === 0) {
    console.log(`✔ ${app.name}`);
  } else {
    console.log(`✘ ${app.name}: cfn-lint exit code ${lint.status}`);
    failed += 1;
  }
}

console.log(`\n${apps.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
