import { stopChild } from '../bench/children.js';
import { type LocalStackProcess, startLocalStack } from '../bench/gateway.js';
import { HttpClient, stringField } from './http.js';

// What the load scenarios share about the local stack: its endpoints (from its ready banner) and a
// dev-identity session (a JWT) for a user.

export interface Endpoints {
  readonly gateway: string;
  readonly ses: string;
  readonly dynamoDb: string;
  readonly tableName: string;
}

function endpointsOf(stack: LocalStackProcess): Endpoints {
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

/**
 * Starts the local stack on `dataDir`, runs `scenario` with an HTTP client of `connections` sockets to its
 * gateway, and stops the stack again; a failure carries the tail of the stack's output.
 */
export async function withLocalStack<T>(
  dataDir: string,
  connections: number,
  log: (line: string) => void,
  scenario: (client: HttpClient, endpoints: Endpoints) => Promise<T>,
): Promise<T> {
  log(`starting the local stack (data in ${dataDir})...`);
  const stack = await startLocalStack(dataDir);
  try {
    const endpoints = endpointsOf(stack);
    log(
      `gateway ${endpoints.gateway}, SES ${endpoints.ses}, DynamoDB ${endpoints.dynamoDb} (${endpoints.tableName})`,
    );
    const client = new HttpClient(endpoints.gateway, connections);
    try {
      return await scenario(client, endpoints);
    } finally {
      client.close();
    }
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- local stack output (tail) ---\n${stack.output().slice(-3000)}`,
    );
  } finally {
    log('stopping the local stack...');
    await stopChild(stack.child, 'SIGINT', 10_000);
  }
}
