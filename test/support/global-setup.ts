import type { TestProject } from 'vitest/node';
import {
  findFreePort,
  type RunningService,
  startDynamoDbLocal,
  startSesEmulator,
} from '../../local/emulators.js';

// Starts DynamoDB Local (in memory) and the SES emulator once for the whole run, on free ports, and
// hands their URLs to the tests through vitest's provide/inject. Each test file makes its own table.

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    sesEndpoint: string;
  }
}

let services: RunningService[] = [];

export async function setup(project: TestProject): Promise<void> {
  const [dynamoPort, sesPort] = [await findFreePort(), await findFreePort()];
  services = await Promise.all([
    startDynamoDbLocal({ port: dynamoPort }),
    startSesEmulator({ port: sesPort }),
  ]);
  const [dynamo, ses] = services;
  if (dynamo === undefined || ses === undefined) throw new Error('emulators did not start');
  project.provide('dynamoEndpoint', dynamo.url);
  project.provide('sesEndpoint', ses.url);
}

export async function teardown(): Promise<void> {
  await Promise.all(services.map((service) => service.stop()));
  services = [];
}
