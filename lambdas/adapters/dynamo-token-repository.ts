import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { expiredAuditEvent } from '../core/audit.js';
import { invalidCursorError } from '../core/cursor-seal.js';
import { ConflictError, LimitExceededError, TokenAccessDisabledError } from '../core/errors.js';
import {
  type AuditEvent,
  statusOf,
  type TokenChange,
  type TokenListing,
  type TokenRecord,
  type UserAccess,
} from '../core/model.js';
import type { ActiveTokenLimits, Page, PageRequest, TokenRepository } from '../core/ports.js';
import { DEFAULT_RETRY, type RetryOptions, type TaggedItem, Transactor } from './dynamo-token-transact.js';
import { TokenWrites } from './dynamo-token-writes.js';
import {
  credentialFor,
  credentialToItem,
  isSlotItem,
  isTokenItem,
  itemToSlot,
  itemToToken,
  itemToTokenListing,
  type SlotRecord,
  slotFor,
  tokenToItem,
} from './items.js';
import { decodeKeyCursor, encodeKeyCursor } from './key-cursor.js';
import {
  INDEXES,
  type IndexDefinition,
  KEYS,
  PARTITIONS,
  TABLE_KEYS,
  type TableIndexes,
  tokenIdOfKey,
} from './table-definition.js';

// TokenRepository on the single table. Every change is one TransactWriteItems: the token item,
// the credential snapshots the authorizer reads, the limit slot with the active-token counters (the
// owner's, the account's and the deployment's usage keys), and the audit event, so none of them can
// exist without the others. (The usage-key counter starts at 0 when a deployment upgrades to it:
// tokens created before are released without having been counted, so it may undercount by at most
// the tokens active at the upgrade; usageKeyBudget's default leaves room below API Gateway's 10,000.)
//
// The counters equal the number of slot items at all times: an increment is only ever written
// with the Put of a new slot, a decrement only with the conditional Delete of an existing one.
// Whoever releases a slot (revoke, the expiry sweep, the stream's TTL deletion) therefore
// decrements exactly once, however many try at the same moment.

interface DynamoTokenRepositoryOptions {
  readonly auditRetentionDays: number;
  /** Tests shorten it; the default lets 30 concurrent writers of one account through. */
  readonly retry?: RetryOptions;
  /** The indexes to query: the legacy ones during an upgrade (table-definition.ts). @default INDEXES */
  readonly indexes?: TableIndexes;
}

type CreatePart =
  | 'token'
  | 'credential'
  | 'userLimit'
  | 'accountLimit'
  | 'slot'
  | 'access'
  | 'audit'
  | 'usageKeys';
type RevokePart =
  | 'token'
  | 'credential'
  | 'previous'
  | 'slot'
  | 'userLimit'
  | 'accountLimit'
  | 'audit'
  | 'usageKeys';
type UpdatePart = 'token' | 'credential' | 'previous' | 'slot' | 'access' | 'audit';
type RotatePart = 'token' | 'newCredential' | 'access' | 'oldCredential' | 'olderCredential' | 'audit';
type ReleasePart = 'slot' | 'userLimit' | 'accountLimit' | 'audit' | 'usageKeys';
type RegisterPart = 'limitClass' | 'classLimit';

export class DynamoTokenRepository implements TokenRepository {
  private readonly transactor: Transactor;
  private readonly writes: TokenWrites;
  private readonly indexes: TableIndexes;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoTokenRepositoryOptions = { auditRetentionDays: 365 },
  ) {
    this.transactor = new Transactor(client, options.retry ?? DEFAULT_RETRY);
    this.writes = new TokenWrites(tableName, options.auditRetentionDays);
    this.indexes = options.indexes ?? INDEXES;
  }

  async create(token: TokenRecord, limits: ActiveTokenLimits, audit: AuditEvent): Promise<void> {
    const w = this.writes;
    const parts: TaggedItem<CreatePart>[] = [
      { tag: 'token', item: w.putNew(tokenToItem(token)) },
      { tag: 'credential', item: w.putNew(credentialToItem(credentialFor(token))) },
      {
        tag: 'userLimit',
        item: w.counterIncrement(KEYS.userLimit(token.accountId, token.userId), limits.perUser),
      },
      {
        tag: 'accountLimit',
        item: w.counterIncrement(KEYS.accountLimit(token.accountId), limits.perAccount),
      },
      { tag: 'slot', item: w.putSlot(slotFor(token)) },
      { tag: 'access', item: w.checkAccess(token.accountId, token.userId) },
      { tag: 'audit', item: w.putAudit(audit) },
      // Last, so the parts before keep their places (cancellation reasons are by index).
      { tag: 'usageKeys', item: w.counterIncrement(KEYS.usageKeyLimit(), limits.usageKeys) },
    ];
    for (let attempt = 1; ; attempt++) {
      const result = await this.transactor.send(parts);
      if (result.committed) return;
      const { failed } = result;
      // Disabled access outranks a full limit: releasing slots would not help the caller.
      if (failed.has('access')) throw new TokenAccessDisabledError();
      if (failed.has('userLimit')) {
        throw new LimitExceededError(
          `You have reached the limit of ${limits.perUser} active tokens; revoke one before creating another`,
        );
      }
      if (failed.has('accountLimit')) {
        throw new LimitExceededError(
          `Your account has reached its limit of ${limits.perAccount} active tokens`,
        );
      }
      if (failed.has('usageKeys')) {
        throw new LimitExceededError(
          `This deployment has reached its budget of ${limits.usageKeys} active tokens (usageKeyBudget: ` +
            'each holds a gateway usage key, and API Gateway allows 10,000 per account and Region); ' +
            'revoke tokens that are no longer used, or ask an operator to raise usageKeyBudget',
        );
      }
      // The token or credential key exists already: an id or hash collision, never worth a retry.
      if (failed.size > 0) throw result.error;
      await this.transactor.backoffOrThrow(attempt, result.error);
    }
  }

  async registerLimitClass(limitClass: string, budget: number): Promise<void> {
    const w = this.writes;
    const parts: TaggedItem<RegisterPart>[] = [
      { tag: 'limitClass', item: w.putLimitClass(limitClass) },
      { tag: 'classLimit', item: w.counterIncrement(KEYS.limitClassLimit(), budget) },
    ];
    for (let attempt = 1; ; attempt++) {
      const result = await this.transactor.send(parts);
      if (result.committed) return;
      const { failed } = result;
      // Registered already (by anyone, at any time): nothing to count, whatever the counter says.
      if (failed.has('limitClass')) return;
      if (failed.has('classLimit')) {
        throw new LimitExceededError(
          `This deployment has reached its budget of ${budget} distinct token limits (limitClassBudget: ` +
            'each needs a usage plan of its own, and API Gateway allows 300 per Region); give the ' +
            "token its type's limits or limits another token already has, or ask an operator to " +
            'raise limitClassBudget',
        );
      }
      await this.transactor.backoffOrThrow(attempt, result.error);
    }
  }

  async get(tokenId: string): Promise<TokenRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: KEYS.token(tokenId), ConsistentRead: true }),
    );
    return Item !== undefined && isTokenItem(Item) ? itemToToken(Item) : undefined;
  }

  listByOwner(accountId: string, userId: string, page: PageRequest): Promise<Page<TokenListing>> {
    return this.query(this.indexes.byOwner, PARTITIONS.tokensOfOwner(accountId, userId), page);
  }

  listByAccount(accountId: string, page: PageRequest): Promise<Page<TokenListing>> {
    return this.query(this.indexes.byAccount, PARTITIONS.tokensOfAccount(accountId), page);
  }

  async revoke(
    tokenId: string,
    change: TokenChange,
    audit: (revoked: TokenRecord) => AuditEvent,
    known?: TokenRecord,
  ): Promise<TokenRecord | undefined> {
    const w = this.writes;
    const at = Date.parse(change.at);
    // Keyed by hash, not by role: after a rotation re-read, the "current" credential is another item.
    const goneCredentials = new Set<string>();
    let slotGone = false;
    for (let attempt = 1; ; attempt++) {
      // The caller's own consistent read serves the first attempt; a lost race reads again.
      const current = attempt === 1 && known?.id === tokenId ? known : await this.get(tokenId);
      if (current === undefined || current.state === 'revoked') return undefined;
      // An expired token is never turned into a revoked one (that would send a "revoked" email about
      // a token that had already stopped): nothing to do. Exact, because the write below is
      // conditional on the version read, which pins expiresAt.
      if (statusOf(current, new Date(at)) === 'expired') return undefined;
      const revoked: TokenRecord = {
        ...current,
        state: 'revoked',
        revokedAt: change.at,
        lastChange: change,
        version: current.version + 1,
      };
      const parts: TaggedItem<RevokePart>[] = [{ tag: 'token', item: w.revokeToken(current, change) }];
      if (!goneCredentials.has(current.secretHash)) {
        parts.push({ tag: 'credential', item: w.revokeCredential(current.secretHash) });
      }
      const previous = previousInGrace(current, at);
      if (previous !== undefined && !goneCredentials.has(previous)) {
        parts.push({ tag: 'previous', item: w.revokeCredential(previous) });
      }
      if (!slotGone) {
        parts.push(
          { tag: 'slot', item: w.deleteSlot(slotFor(current)) },
          { tag: 'userLimit', item: w.counterDecrement(KEYS.userLimit(current.accountId, current.userId)) },
          { tag: 'accountLimit', item: w.counterDecrement(KEYS.accountLimit(current.accountId)) },
        );
      }
      parts.push({ tag: 'audit', item: w.putAudit(audit(revoked)) });
      if (!slotGone) parts.push({ tag: 'usageKeys', item: w.counterDecrement(KEYS.usageKeyLimit()) });

      const result = await this.transactor.send(parts);
      if (result.committed) return revoked;
      const { failed } = result;
      if (failed.has('audit') || failed.has('userLimit') || failed.has('accountLimit')) throw result.error;
      if (failed.size === 0) {
        await this.transactor.backoffOrThrow(attempt, result.error);
        continue;
      }
      // TTL removed the credential after expiry: that secret can no longer verify anyway.
      if (failed.has('credential')) goneCredentials.add(current.secretHash);
      if (failed.has('previous') && previous !== undefined) goneCredentials.add(previous);
      // Released after expiry: the counters no longer count this token.
      if (failed.has('slot')) slotGone = true;
      // A failed token condition needs nothing here: the re-read at the top of the loop tells a
      // concurrent revoke (done) from a concurrent edit or rotation (revoke the new version).
      this.transactor.checkBudget(attempt, result.error);
    }
  }

  async update(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void> {
    const w = this.writes;
    const previous = previousInGrace(current, Date.parse(next.lastChange.at));
    let previousGone = false;
    const slotChanged = current.expiresAt !== next.expiresAt || current.name !== next.name;
    for (let attempt = 1; ; attempt++) {
      const parts: TaggedItem<UpdatePart>[] = [
        { tag: 'token', item: w.replaceToken(current, next) },
        { tag: 'credential', item: w.editCredential(current.secretHash, next, null) },
      ];
      if (previous !== undefined && !previousGone) {
        parts.push({
          tag: 'previous',
          item: w.editCredential(previous, next, previousNotAfterMs(current) ?? null),
        });
      }
      if (slotChanged) parts.push({ tag: 'slot', item: w.editSlot(next) });
      // Like create and rotate: while an admin has the owner's token access off, their tokens
      // cannot be changed (an edit would otherwise widen scopes that take effect on re-enable).
      parts.push({ tag: 'access', item: w.checkAccess(current.accountId, current.userId) });
      parts.push({ tag: 'audit', item: w.putAudit(audit) });

      const result = await this.transactor.send(parts);
      if (result.committed) return;
      const { failed } = result;
      if (failed.has('access')) throw new TokenAccessDisabledError();
      if (failed.has('token'))
        throw new ConflictError('The token was changed or revoked meanwhile; reload it and try again');
      // Credential removed by TTL or slot released by the expiry sweep: the token expired
      // meanwhile, and an edit must not bring it back uncounted.
      if (failed.has('credential') || failed.has('slot')) {
        throw new ConflictError('The token expired meanwhile; it can no longer be edited');
      }
      if (failed.has('audit')) throw result.error;
      if (failed.has('previous')) {
        previousGone = true;
        this.transactor.checkBudget(attempt, result.error);
        continue;
      }
      await this.transactor.backoffOrThrow(attempt, result.error);
    }
  }

  async rotate(current: TokenRecord, next: TokenRecord, audit: AuditEvent): Promise<void> {
    const w = this.writes;
    const at = Date.parse(next.lastChange.at);
    const older = previousInGrace(current, at);
    const oldNotAfterMs = previousNotAfterMs(next) ?? at;
    let access = await this.readAccess(current.accountId, current.userId);
    let oldGone = false;
    let olderGone = false;
    for (let attempt = 1; ; attempt++) {
      if (!access.enabled) throw new TokenAccessDisabledError();
      const credential = credentialFor(next, null, { disabled: false, accessGeneration: access.generation });
      const parts: TaggedItem<RotatePart>[] = [
        { tag: 'token', item: w.replaceToken(current, next) },
        { tag: 'newCredential', item: w.putNew(credentialToItem(credential)) },
        { tag: 'access', item: w.checkAccess(current.accountId, current.userId, access.generation) },
      ];
      if (!oldGone) {
        parts.push({
          tag: 'oldCredential',
          item: w.endCredential(current.secretHash, current, oldNotAfterMs),
        });
      }
      if (older !== undefined && !olderGone) {
        parts.push({ tag: 'olderCredential', item: w.endCredential(older, current, at) });
      }
      parts.push({ tag: 'audit', item: w.putAudit(audit) });

      const result = await this.transactor.send(parts);
      if (result.committed) return;
      const { failed } = result;
      if (failed.has('token'))
        throw new ConflictError('The token was changed or revoked meanwhile; reload it and try again');
      if (failed.has('newCredential') || failed.has('audit')) throw result.error;
      if (failed.size === 0) {
        await this.transactor.backoffOrThrow(attempt, result.error);
        continue;
      }
      // Switched meanwhile: the new credential must carry the generation it was checked against.
      if (failed.has('access')) access = await this.readAccess(current.accountId, current.userId);
      // Gone by TTL: nothing left to shorten.
      if (failed.has('oldCredential')) oldGone = true;
      if (failed.has('olderCredential')) olderGone = true;
      this.transactor.checkBudget(attempt, result.error);
    }
  }

  async listSlotHolders(accountId: string, userId: string | undefined): Promise<string[]> {
    const slots = await this.querySlots(accountId, userId, undefined);
    return slots.map((slot) => slot.tokenId);
  }

  async releaseExpiredSlots(accountId: string, userId: string | undefined, now: Date): Promise<number> {
    const expired = (await this.querySlots(accountId, userId, now)).filter(
      (slot) => slot.expiresAt !== null && Date.parse(slot.expiresAt) <= now.getTime(),
    );
    let released = 0;
    // One after another: every release updates the same account counter, so running them side by
    // side would only turn into transaction conflicts and backoff.
    for (const slot of expired) {
      const token = await this.get(slot.tokenId);
      const event = token === undefined ? expiredEventOfSlot(slot) : expiredAuditEvent(token);
      if (await this.releaseSlot(slot, slot.expiresAt ?? undefined, event)) released++;
    }
    return released;
  }

  releaseSlotOfDeletedToken(token: TokenRecord, audit: AuditEvent): Promise<boolean> {
    return this.releaseSlot(slotFor(token), undefined, audit);
  }

  /** Returns false when the slot is gone, or (with `seenExpiresAt`) no longer expires then. */
  private async releaseSlot(
    slot: SlotRecord,
    seenExpiresAt: string | undefined,
    audit: AuditEvent,
  ): Promise<boolean> {
    const w = this.writes;
    let withAudit = true;
    for (let attempt = 1; ; attempt++) {
      const parts: TaggedItem<ReleasePart>[] = [
        { tag: 'slot', item: w.deleteSlot(slot, seenExpiresAt) },
        { tag: 'userLimit', item: w.counterDecrement(KEYS.userLimit(slot.accountId, slot.userId)) },
        { tag: 'accountLimit', item: w.counterDecrement(KEYS.accountLimit(slot.accountId)) },
      ];
      if (withAudit) parts.push({ tag: 'audit', item: w.putAudit(audit) });
      parts.push({ tag: 'usageKeys', item: w.counterDecrement(KEYS.usageKeyLimit()) });
      const result = await this.transactor.send(parts);
      if (result.committed) return true;
      const { failed } = result;
      if (failed.has('slot')) return false;
      if (failed.has('userLimit') || failed.has('accountLimit')) throw result.error;
      if (failed.has('audit')) {
        // Recorded already (the event id is derived from the token id): release without it.
        withAudit = false;
        this.transactor.checkBudget(attempt, result.error);
        continue;
      }
      await this.transactor.backoffOrThrow(attempt, result.error);
    }
  }

  private async readAccess(
    accountId: string,
    userId: string,
  ): Promise<Pick<UserAccess, 'enabled' | 'generation'>> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: KEYS.userAccess(accountId, userId),
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return { enabled: true, generation: 0 };
    return {
      enabled: Item.enabled !== false,
      generation: typeof Item.generation === 'number' ? Item.generation : 0,
    };
  }

  /**
   * A user's slots from the base table (strongly consistent), or an account's from the byAccount
   * index; with `expiredAt`, an account's are narrowed to those whose expiry sorts at or before it.
   */
  private async querySlots(
    accountId: string,
    userId: string | undefined,
    expiredAt: Date | undefined,
  ): Promise<SlotRecord[]> {
    const base: QueryCommandInput =
      userId === undefined
        ? {
            TableName: this.tableName,
            IndexName: this.indexes.byAccount.indexName,
            KeyConditionExpression: expiredAt === undefined ? '#pk = :pk' : '#pk = :pk AND #sk < :before',
            ExpressionAttributeNames: {
              '#pk': this.indexes.byAccount.partitionKey,
              ...(expiredAt === undefined ? {} : { '#sk': this.indexes.byAccount.sortKey }),
            },
            ExpressionAttributeValues: {
              ':pk': PARTITIONS.slotsOfAccount(accountId),
              // '$' sorts right after '#': every `<expiresAt>#<tokenId>` with expiresAt <= now is before it.
              ...(expiredAt === undefined ? {} : { ':before': `${expiredAt.toISOString()}$` }),
            },
          }
        : {
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk',
            ExpressionAttributeNames: { '#pk': TABLE_KEYS.partitionKey },
            ExpressionAttributeValues: { ':pk': KEYS.slot(accountId, userId, '').pk },
            ConsistentRead: true,
          };
    const slots: SlotRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.client.send(
        new QueryCommand({ ...base, ExclusiveStartKey: startKey }),
      );
      for (const item of Items) if (isSlotItem(item)) slots.push(itemToSlot(item));
      startKey = LastEvaluatedKey;
    } while (startKey !== undefined);
    return slots;
  }

  private async query(
    index: IndexDefinition,
    partition: string,
    page: PageRequest,
  ): Promise<Page<TokenListing>> {
    const startKey = page.cursor === undefined ? undefined : decodeCursor(page.cursor, index, partition);
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.indexName,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': index.partitionKey },
        ExpressionAttributeValues: { ':pk': partition },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: startKey,
      }),
    );
    return {
      // Only what the index copies (TOKEN_LISTING_ATTRIBUTES): a listing never holds a secret's hash.
      items: Items.filter((item) => isTokenItem(item)).map((item) => itemToTokenListing(item)),
      nextCursor: LastEvaluatedKey === undefined ? undefined : encodeCursor(LastEvaluatedKey),
    };
  }
}

/** The previous secret's hash while its grace period lasts at `atMs`. */
function previousInGrace(token: TokenRecord, atMs: number): string | undefined {
  const notAfterMs = previousNotAfterMs(token);
  return token.previousSecretHash !== null && notAfterMs !== undefined && notAfterMs > atMs
    ? token.previousSecretHash
    : undefined;
}

function previousNotAfterMs(token: TokenRecord): number | undefined {
  return token.previousSecretNotAfter === null ? undefined : Date.parse(token.previousSecretNotAfter);
}

/** `token.expired` when the token item is gone (TTL): from what the slot kept. */
function expiredEventOfSlot(slot: SlotRecord): AuditEvent {
  return expiredAuditEvent({
    id: slot.tokenId,
    name: slot.tokenName,
    expiresAt: slot.expiresAt,
    accountId: slot.accountId,
    userId: slot.userId,
  });
}

// ---------------------------------------------------------------------------------------------
// Cursors: the query's LastEvaluatedKey as base64url JSON. Opaque to clients, and checked on the way
// back in so that a garbage, truncated or foreign cursor is a 400, never a DynamoDB error.

export const encodeCursor = encodeKeyCursor;
const invalidCursor = invalidCursorError;

function decodeCursor(cursor: string, index: IndexDefinition, partition: string): Record<string, string> {
  const key = decodeKeyCursor(cursor, [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    index.partitionKey,
    index.sortKey,
  ]);
  const tokenPk = key[TABLE_KEYS.partitionKey] ?? '';
  const tokenId = tokenIdOfKey(tokenPk) ?? '';
  const expected = KEYS.token(tokenId);
  if (
    tokenId === '' ||
    key[TABLE_KEYS.sortKey] !== expected.sk ||
    key[index.partitionKey] !== partition ||
    !(key[index.sortKey] ?? '').endsWith(`#${tokenId}`)
  ) {
    throw invalidCursor();
  }
  return key;
}
