import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { WHOLE_ACCOUNT } from '../core/identity.js';
import { JOB_RETENTION_DAYS, type RevokeAllJob, type RevokeAllJobStore } from '../core/revoke-all-job.js';
import { KEYS, TTL_ATTRIBUTE } from './table-definition.js';

// Revoke-all jobs on the single table: one item per job (`JOB#<jobId>` / `REVOKE_ALL`), its
// counter updated atomically by each slice, removed by TTL JOB_RETENTION_DAYS after it started.

const DAY_SECONDS = 86_400;

const jobItemSchema = z.object({
  jobId: z.string(),
  accountId: z.string(),
  caller: z.object({
    userId: z.string(),
    accountId: z.string(),
    role: z.enum(['admin', 'member', 'viewer']),
    email: z.string().optional(),
    sourceIp: z.string().optional(),
    userAgent: z.string().optional(),
  }),
  target: z.string(),
  // Absent on jobs stored before it existed, when `*` was the only way to say the whole account.
  wholeAccount: z.boolean().optional(),
  status: z.enum(['running', 'done']),
  revoked: z.number().int().min(0),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
});

function itemToJob(item: Record<string, unknown>): RevokeAllJob {
  const parsed = jobItemSchema.parse(item);
  return {
    ...parsed,
    caller: {
      ...parsed.caller,
      email: parsed.caller.email,
      sourceIp: parsed.caller.sourceIp,
      userAgent: parsed.caller.userAgent,
    },
    wholeAccount: parsed.wholeAccount ?? parsed.target === WHOLE_ACCOUNT,
    finishedAt: parsed.finishedAt ?? null,
  };
}

export class DynamoRevokeAllJobs implements RevokeAllJobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: RevokeAllJob): Promise<void> {
    const { finishedAt: _unset, ...stored } = job;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        // Through JSON: the caller's optional fields are left out rather than stored as undefined.
        Item: JSON.parse(
          JSON.stringify({
            ...KEYS.revokeAllJob(job.jobId),
            entity: 'revokeAllJob',
            ...stored,
            [TTL_ATTRIBUTE]: Math.floor(Date.parse(job.startedAt) / 1000) + JOB_RETENTION_DAYS * DAY_SECONDS,
          }),
        ) as Record<string, unknown>,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(jobId: string): Promise<RevokeAllJob | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEYS.revokeAllJob(jobId), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : itemToJob(Item);
  }

  async addRevoked(jobId: string, count: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEYS.revokeAllJob(jobId),
        UpdateExpression: 'ADD revoked :count',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':count': count },
      }),
    );
  }

  async markFinishing(jobId: string, at: string): Promise<RevokeAllJob> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEYS.revokeAllJob(jobId),
        UpdateExpression: 'SET finishedAt = if_not_exists(finishedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (Attributes === undefined) throw new Error(`revoke-all job ${jobId}: no attributes returned`);
    return itemToJob(Attributes);
  }

  async markDone(jobId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: KEYS.revokeAllJob(jobId),
        UpdateExpression: 'SET #status = :done',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':done': 'done' },
      }),
    );
  }
}
