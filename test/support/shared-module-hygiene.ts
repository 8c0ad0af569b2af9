import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KMSClient } from '@aws-sdk/client-kms';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, vi } from 'vitest';

// The unit files that run with shared modules (vitest.config.ts, `isolate: false`: importing the
// modules again for each of ~100 files was most of the project's time) share their worker's module
// instances, so whatever a file patches globally must be undone when it ends, or the next file in
// the same worker sees it. Runs before every such file and undoes, after its last test:
// - aws-sdk-client-mock's `mockClient(SomeClient)`, which stubs `SomeClient.prototype.send` for every
//   instance (a later file's real client would talk to the stub). The library has no "restore every
//   mock" call, so each SDK client class the tests mock is checked here;
// - spies, stubbed env vars and globals, and fake timers.
const MOCKABLE_CLIENTS = [
  APIGatewayClient,
  DynamoDBClient,
  DynamoDBDocumentClient,
  DynamoDBStreamsClient,
  KMSClient,
  SESClient,
  SQSClient,
];

afterAll(() => {
  for (const client of MOCKABLE_CLIENTS) {
    const restore: unknown = Reflect.get(client.prototype.send, 'restore');
    if (typeof restore === 'function') restore.call(client.prototype.send);
  }
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});
