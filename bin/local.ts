import { readyBanner } from '../local/banner.js';
import { PortInUseError } from '../local/emulators.js';
import { LocalSettingsError, localSettingsFromEnv } from '../local/settings.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';

// `npm start`: the local stack. Ports and the data directory come from LOCAL_* env vars
// (local/settings.ts). Ctrl-C, SIGTERM or SIGHUP stops every child process and the gateway, then
// exits 0; during start-up the stack finishes starting and then stops. So does the death of the
// process that started this one (npm, a test, the benchmark): when it is gone, this process has
// been re-parented, which a one-second check of the parent id notices (Node has no parent-death
// signal). The emulators in turn exit when this process does, however it exits (local/emulators.ts).
//
// One Ctrl-C reaches this process twice (from the terminal, and relayed by npm), so only a signal
// more than a second after the first counts as a second Ctrl-C, which exits at once (the emulators'
// exit hook kills what runs). A port in use or a bad setting: one line, exit 1.

const startedAt = performance.now();
const PARENT_CHECK_MS = 1000;
let stack: LocalStack | undefined;
let stopping = false;
let firstSignalAt = 0;

async function stopAndExit(running: LocalStack): Promise<never> {
  await running.stop();
  process.exit(0);
}

function stop(reason: string): void {
  if (stopping) {
    if (performance.now() - firstSignalAt > 1000) process.exit(130);
    return;
  }
  stopping = true;
  firstSignalAt = performance.now();
  console.log(`\n${reason}: stopping the local stack...`);
  if (stack !== undefined) void stopAndExit(stack);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));

// With the parent gone, stdout and stderr may be pipes nobody reads: a failed write must not crash
// the stop.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) stop('the parent process exited');
}, PARENT_CHECK_MS).unref();

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

try {
  stack = await startLocalStack({ settings: localSettingsFromEnv() });
} catch (error) {
  if (stopping) process.exit(0);
  if (error instanceof PortInUseError || error instanceof LocalSettingsError) fail(error.message);
  fail(`The local stack could not start: ${error instanceof Error ? error.message : String(error)}`);
}
if (stopping) await stopAndExit(stack);
console.log(readyBanner(stack, performance.now() - startedAt));
