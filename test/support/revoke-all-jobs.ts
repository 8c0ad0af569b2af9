import {
  type DynamoDBDocumentClientResolvedConfig,
  GetCommand,
  PutCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

// Revoke-all job items (lambdas/adapters/dynamo-revoke-all-jobs.ts) on a mocked document client,
// kept as the table would keep them: tests that mock DynamoDB for DELETE /tokens install this.

type DocumentClientStub = AwsStub<
  ServiceInputTypes,
  ServiceOutputTypes,
  DynamoDBDocumentClientResolvedConfig
>;

export function fakeRevokeAllJobs(dynamo: DocumentClientStub): {
  job: () => Record<string, unknown> | undefined;
} {
  let job: Record<string, unknown> | undefined;
  dynamo.on(PutCommand, { Item: { entity: 'revokeAllJob' } }).callsFake((input: { Item: object }) => {
    job = { ...input.Item };
    return {};
  });
  dynamo.on(GetCommand, { Key: { sk: 'REVOKE_ALL' } }).callsFake(() => ({ Item: job }));
  dynamo
    .on(UpdateCommand, { Key: { sk: 'REVOKE_ALL' } })
    .callsFake((input: { ExpressionAttributeValues: Record<string, unknown> }) => {
      const values = input.ExpressionAttributeValues;
      if (job === undefined) throw new Error('no revoke-all job stored');
      if (typeof values[':count'] === 'number') job.revoked = Number(job.revoked) + values[':count'];
      if (typeof values[':at'] === 'string') job.finishedAt ??= values[':at'];
      if (values[':done'] === 'done') job.status = 'done';
      return { Attributes: job };
    });
  return { job: () => job };
}
