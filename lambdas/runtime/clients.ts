import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sdkClientConfig } from './sdk-options.js';

// SDK clients, built once per container at module load and shared by the handler modules that
// import them. Endpoints come from the SDK's own configuration (AWS_ENDPOINT_URL_DYNAMODB etc.), which
// is how the local stack and the tests point them at the emulators. Timeouts and attempts come
// from sdkClientConfig (sdk-options.ts), as for every SDK client the functions build.

let documentClient: DynamoDBDocumentClient | undefined;
let kmsClient: KMSClient | undefined;

export function sharedDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient(sdkClientConfig()), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return documentClient;
}

export function sharedKmsClient(): KMSClient {
  kmsClient ??= new KMSClient(sdkClientConfig());
  return kmsClient;
}
