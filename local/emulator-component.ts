import type { LocalComponent, RunningComponent } from './components.js';
import { type RunningService, startDynamoDbLocal, startSesEmulator } from './emulators.js';

// DynamoDB Local (data on disk, so a restart keeps the tokens) and the SES emulator, as child
// processes. If this process exits without stopping them (an uncaught error, process.exit), the
// exit hook kills them at once; if it is killed outright, they notice and exit by themselves
// (local/emulators.ts). Either way no java process outlives the stack.

function killOnExit(services: readonly RunningService[]): () => void {
  const kill = () => {
    for (const service of services) {
      if (service.process.exitCode === null && service.process.signalCode === null) {
        service.process.kill('SIGKILL');
      }
    }
  };
  process.once('exit', kill);
  return () => process.off('exit', kill);
}

export const emulatorComponent: LocalComponent = {
  name: 'emulators',
  async start(context): Promise<RunningComponent> {
    const started = await Promise.allSettled([
      startDynamoDbLocal({ port: context.settings.dynamoDbPort, dataDir: context.paths.dynamoDbData }),
      startSesEmulator({ port: context.settings.sesPort }),
    ]);
    const services = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const failure = started.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await Promise.all(services.map((service) => service.stop()));
      throw failure.reason;
    }
    const forget = killOnExit(services);
    return {
      stop: async () => {
        await Promise.all(services.map((service) => service.stop()));
        forget();
      },
    };
  },
};
