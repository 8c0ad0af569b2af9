import { readyBanner } from '../local/banner.js';
import { PortInUseError } from '../local/emulators.js';
import { LocalSettingsError, localSettingsFromEnv } from '../local/settings.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';

// `npm start`: the local stack. Ports and the data directory come from LOCAL_* env vars
// (local/settings.ts). Ctrl-C or SIGTERM stops every child process and the gateway, then exits 0;
// during start-up the stack finishes starting and then stops. One Ctrl-C reaches this process
// twice (from the terminal, and relayed by tsx), so only a signal more than a second after the
// first counts as a second Ctrl-C, which exits at once (the emulators' exit hook kills what runs).
// A port in use or a bad setting: one line, exit 1.

const startedAt = performance.now();
let stack: LocalStack | undefined;
let stopping = false;
let firstSignalAt = 0;

async function stopAndExit(running: LocalStack): Promise<never> {
  await running.stop();
  process.exit(0);
}

function onSignal(): void {
  if (stopping) {
    if (performance.now() - firstSignalAt > 1000) process.exit(130);
    return;
  }
  stopping = true;
  firstSignalAt = performance.now();
  console.log('\nStopping the local stack...');
  if (stack !== undefined) void stopAndExit(stack);
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

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
