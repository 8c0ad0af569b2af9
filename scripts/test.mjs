#!/usr/bin/env node
// `npm test`: first typecheck, lint and a real `cdk synth` with cdk-nag, side by side; then the four
// vitest projects in one run (unit; integration on DynamoDB Local + the SES emulator; infra: CDK
// assertions + cdk-nag; e2e: the local stack; see vitest.config.ts). Every step runs even if an
// earlier one failed, so one run shows every problem; the exit code is non-zero if any failed.
// The last line is `N passed, N failed`: vitest's test counts from its JSON report, plus one for each
// non-vitest step.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const resultsDir = '.test-results';
const vitestReport = `${resultsDir}/vitest.json`;
mkdirSync(resultsDir, { recursive: true });
rmSync(vitestReport, { force: true });

const extraVitestArgs = process.argv.slice(2);
// The checks that need no emulator run side by side first (each is mostly one core): the two
// TypeScript projects, the linters and a real `cdk synth` with cdk-nag. Their output is printed
// whole when each ends, not interleaved.
const checks = [
  { name: 'typecheck', command: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'typecheck (console)', command: ['npx', 'tsc', '--noEmit', '-p', 'console/tsconfig.json'] },
  { name: 'lint', command: ['npm', 'run', '--silent', 'lint'] },
  { name: 'synth (cdk-nag)', command: ['npx', 'cdk', 'synth', '--quiet', '--ci'] },
];
const steps = [
  {
    name: 'vitest',
    command: [
      'npx',
      'vitest',
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${vitestReport}`,
      ...extraVitestArgs,
    ],
  },
];

let stepsPassed = 0;
let stepsFailed = 0;
const outcomes = [];

function runCaptured(step) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(step.command[0], step.command.slice(1), { env: process.env });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)));
    child.on('close', (code) =>
      resolve({
        step,
        ok: code === 0,
        output: Buffer.concat(output),
        seconds: (Date.now() - started) / 1000,
      }),
    );
  });
}

console.log(`\n▶ ${checks.map((check) => check.name).join(', ')}, side by side`);
for (const { step, ok, output, seconds } of await Promise.all(checks.map(runCaptured))) {
  console.log(`\n▶ ${step.name}: ${step.command.join(' ')}`);
  process.stdout.write(output);
  outcomes.push(`${ok ? '✔' : '✘'} ${step.name} (${seconds.toFixed(1)} s)`);
  if (ok) stepsPassed += 1;
  else stepsFailed += 1;
}

for (const step of steps) {
  const started = Date.now();
  console.log(`\n▶ ${step.name}: ${step.command.join(' ')}`);
  const result = spawnSync(step.command[0], step.command.slice(1), { stdio: 'inherit', env: process.env });
  const ok = result.status === 0;
  outcomes.push(`${ok ? '✔' : '✘'} ${step.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (step.name === 'vitest') continue;
  if (ok) stepsPassed += 1;
  else stepsFailed += 1;
}

let testsPassed = 0;
let testsFailed = 0;
let vitestOk = false;
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
  testsPassed = report.numPassedTests ?? 0;
  testsFailed = (report.numFailedTests ?? 0) + countFilesThatFailedToRun(report);
  vitestOk = report.success === true && testsPassed > 0;
  if (!vitestOk && testsFailed === 0) testsFailed = 1; // e.g. a suite that failed to load, or no test ran
} else {
  testsFailed = 1;
}

// A test file that fails to load (or whose hooks fail) reports no failed test; count it once. A file
// whose tests failed is already counted through its tests.
function countFilesThatFailedToRun(report) {
  return (report.testResults ?? []).filter(
    (file) =>
      file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  ).length;
}

console.log(`\n${outcomes.join('\n')}`);
const passed = testsPassed + stepsPassed;
const failed = testsFailed + stepsFailed;
const summary = `${passed} passed, ${failed} failed`;
writeFileSync(`${resultsDir}/summary.txt`, `${summary}\n`);
console.log(summary);
process.exit(failed === 0 && vitestOk ? 0 : 1);
