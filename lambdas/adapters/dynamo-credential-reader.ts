import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CredentialRecord } from '../core/model.js';
import type { CredentialReader } from '../core/ports.js';
import { checkCredentialItem } from './credential-item-check.js';
import { KEYS } from './table-definition.js';

/**
 * A credential item exists under the requested key but cannot be read as one. Thrown, not mapped to
 * "not found": see DynamoCredentialReader.
 */
export class CorruptCredentialError extends Error {
  constructor() {
    // Deliberately carries no item content: the message reaches logs.
    super('The credential item under the requested key does not parse');
    this.name = 'CorruptCredentialError';
  }
}

/**
 * The authorizer's only read: one strongly consistent GetItem on the base table, keyed by the
 * secret's HMAC (GSIs are eventually consistent and never on this path).
 *
 * An item that is there but does not parse is a dependency failure, not NOT_FOUND. Its key is the
 * HMAC of the presented secret, so the token was issued by us: the item is damaged, or written by a
 * newer or older schema during a deploy. Answering NOT_FOUND would turn a bug into a confident "this
 * token does not exist" 401 that the gateway may cache and that clients treat as final, and would
 * hide the fault among ordinary bad tokens. Throwing fails closed with a 500 that is not cached,
 * shows in the function's error metrics and alarms, and heals by itself once the item is fixed.
 */
export class DynamoCredentialReader implements CredentialReader {
  constructor(
    private readonly documentClient: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findByHash(secretHash: string): Promise<CredentialRecord | undefined> {
    const { Item } = await this.documentClient.send(
      new GetCommand({ TableName: this.tableName, Key: KEYS.credential(secretHash), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    let credential: CredentialRecord;
    try {
      // Hand-written, same rules as items.ts's credentialItemSchema: keeps zod out of the authorizer.
      credential = checkCredentialItem(Item);
    } catch {
      throw new CorruptCredentialError();
    }
    if (credential.secretHash !== secretHash) throw new CorruptCredentialError();
    return credential;
  }
}
