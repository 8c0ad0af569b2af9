import type { LocalStackProcess } from '../bench/gateway.js';
import type { HttpClient } from './http.js';
import { stringField } from './http.js';

// What the load scenarios share about the local stack: its endpoints (from its ready banner) and a
// dev-identity session (a JWT) for a user.

export interface Endpoints {
  readonly gateway: string;
  readonly ses: string;
  readonly dynamoDb: string;
  readonly tableName: string;
}

export function endpointsOf(stack: LocalStackProcess): Endpoints {
  const output = stack.output();
  const ses = /Emails \(SES\)\s+(http:\/\/\S+)/.exec(output)?.[1];
  const dynamo = /DynamoDB Local\s+(http:\/\/\S+)\s+table (\S+),/.exec(output);
  if (ses === undefined || dynamo?.[1] === undefined || dynamo[2] === undefined) {
    throw new Error(`could not read the SES / DynamoDB URLs from the ready banner:\n${output}`);
  }
  return { gateway: stack.url, ses, dynamoDb: dynamo[1], tableName: dynamo[2] };
}

export async function session(
  client: HttpClient,
  accountId: string,
  userId: string,
  role: 'member' | 'admin' = 'member',
): Promise<string> {
  const reply = await client.send('POST', '/_local/session', {
    body: { email: `${userId}@${accountId}.example.com`, accountId, role, userId },
  });
  if (reply.status !== 200) throw new Error(`POST /_local/session: ${reply.status} ${reply.text}`);
  return stringField(reply, 'jwt');
}
