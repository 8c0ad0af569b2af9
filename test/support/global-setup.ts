import type { TestProject } from 'vitest/node';
import {
  findFreePort,
  type RunningService,
  startDynamoDbLocal,
  startSesEmulator,
} from '../../local/emulators.js';

// Starts the emulators once for the whole run, on free ports, and hands their URLs to the tests
// through vitest's provide/inject: the SES emulator, and one DynamoDB Local (in memory) per worker.
// DynamoDB Local answers one request at a time (one SQLite database), so two workers on one instance
// waited on each other while a core stayed idle. Each test file makes its own table on its worker's
// instance (`dynamoEndpoint()`, test/support/dynamo.ts).

declare module 'vitest' {
  export interface ProvidedContext {
    /** One per worker, by VITEST_POOL_ID. */
    dynamoEndpoints: string[];
    sesEndpoint: string;
  }
}

let services: RunningService[] = [];

export async function setup(project: TestProject): Promise<void> {
  const starting = [startSesEmulator({ port: await findFreePort() })];
  for (let worker = 0; worker < Math.max(1, project.config.maxWorkers); worker += 1) {
    starting.push(startDynamoDbLocal({ port: await findFreePort() }));
  }
  const started = await Promise.allSettled(starting);
  services = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) {
    await teardown();
    throw failed.reason;
  }
  const [ses, ...dynamos] = services;
  if (ses === undefined) throw new Error('the SES emulator did not start');
  project.provide('sesEndpoint', ses.url);
  project.provide(
    'dynamoEndpoints',
    dynamos.map((dynamo) => dynamo.url),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(services.map((service) => service.stop()));
  services = [];
}
