import type { AuditEvent, TokenChange, TokenRecord } from '../core/model.js';
import { auditEventToItem } from './audit-items.js';
import { dropUndefined, type TransactItem } from './dynamo-token-transact.js';
import { credentialTtl, type SlotRecord, slotSortKey, slotToItem, tokenToItem } from './items.js';
import { INDEXES, KEYS, TTL_ATTRIBUTE } from './table-definition.js';

// The transaction parts the token repository combines. Each is one item operation with the
// condition that makes it safe to combine with the others; the repository decides which parts a
// change needs and what a failed condition means.

/** Token item attributes that a change to the record must leave alone. */
const NOT_REPLACED = new Set(['pk', 'sk', 'lastUsedAt']);
/** Attributes tokenToItem leaves out in some states: a replacement removes them when absent. */
const OPTIONAL_TOKEN_ATTRIBUTES = [
  'ownerEmail',
  TTL_ATTRIBUTE,
  INDEXES.byExpiryDay.partitionKey,
  INDEXES.byExpiryDay.sortKey,
];

export class TokenWrites {
  constructor(
    private readonly tableName: string,
    private readonly auditRetentionDays: number,
  ) {}

  putNew(item: Record<string, unknown>): TransactItem {
    return {
      Put: {
        TableName: this.tableName,
        Item: dropUndefined(item),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }

  /** Written once: a retried or repeated writer (expiry) finds it and writes nothing. */
  putAudit(event: AuditEvent): TransactItem {
    return this.putNew(auditEventToItem(event, this.auditRetentionDays));
  }

  /**
   * `next` replaces the stored record if it is still `current`'s version and active. An update
   * rather than a Put, so that a lastUsedAt the authorizer recorded meanwhile survives the change.
   */
  replaceToken(current: TokenRecord, next: TokenRecord): TransactItem {
    const item = dropUndefined(tokenToItem(next));
    const names: Record<string, string> = { '#state': 'state', '#version': 'version' };
    const values: Record<string, unknown> = { ':active': 'active', ':expectedVersion': current.version };
    const sets: string[] = [];
    const removes: string[] = [];
    let n = 0;
    for (const [name, value] of Object.entries(item)) {
      if (NOT_REPLACED.has(name)) continue;
      names[`#a${n}`] = name;
      values[`:a${n}`] = value;
      sets.push(`#a${n} = :a${n}`);
      n++;
    }
    const dropped = new Set([...Object.keys(tokenToItem(current)), ...OPTIONAL_TOKEN_ATTRIBUTES]);
    for (const name of dropped) {
      if (name in item || NOT_REPLACED.has(name)) continue;
      names[`#a${n}`] = name;
      removes.push(`#a${n}`);
      n++;
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: KEYS.token(current.id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length === 0 ? '' : ` REMOVE ${removes.join(', ')}`}`,
        ConditionExpression: `${versionCondition(current.version)} AND #state = :active`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }

  revokeToken(current: TokenRecord, change: TokenChange): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: KEYS.token(current.id),
        UpdateExpression:
          'SET #state = :revoked, revokedAt = :at, lastChange = :change, #version = :nextVersion',
        ConditionExpression: `${versionCondition(current.version)} AND #state = :active`,
        ExpressionAttributeNames: { '#state': 'state', '#version': 'version' },
        ExpressionAttributeValues: {
          ':revoked': 'revoked',
          ':active': 'active',
          ':at': change.at,
          ':change': dropUndefined({ ...change }),
          ':expectedVersion': current.version,
          ':nextVersion': current.version + 1,
        },
      },
    };
  }

  revokeCredential(secretHash: string): TransactItem {
    return this.updateCredential(
      secretHash,
      'SET #state = :revoked',
      { '#state': 'state' },
      { ':revoked': 'revoked' },
    );
  }

  /** An edit's new scopes, allowlist, expiry and limits on a credential snapshot; `disabled` stays as it is. */
  editCredential(secretHash: string, token: TokenRecord, notAfterMs: number | null): TransactItem {
    const expiresAtMs = token.expiresAt === null ? null : Date.parse(token.expiresAt);
    const ttl = credentialTtl(expiresAtMs, notAfterMs);
    return this.updateCredential(
      secretHash,
      `SET scopes = :scopes, allowedIps = :allowedIps, expiresAtMs = :expiresAtMs, #limits = :limits${
        ttl === undefined ? ' REMOVE #ttl' : ', #ttl = :ttl'
      }`,
      { '#ttl': TTL_ATTRIBUTE, '#limits': 'limits' },
      {
        ':scopes': [...token.scopes],
        ':allowedIps': [...token.allowedIps],
        ':expiresAtMs': expiresAtMs,
        ':limits': token.limits,
        ...(ttl === undefined ? {} : { ':ttl': ttl }),
      },
    );
  }

  /** Ends a secret at `notAfterMs` (rotated out), and lets TTL remove its credential then. */
  endCredential(secretHash: string, token: TokenRecord, notAfterMs: number): TransactItem {
    const expiresAtMs = token.expiresAt === null ? null : Date.parse(token.expiresAt);
    return this.updateCredential(
      secretHash,
      'SET notAfterMs = :notAfterMs, #ttl = :ttl',
      { '#ttl': TTL_ATTRIBUTE },
      {
        ':notAfterMs': notAfterMs,
        ':ttl': credentialTtl(expiresAtMs, notAfterMs) ?? Math.floor(notAfterMs / 1000),
      },
    );
  }

  /** Passes while the owner's access is enabled (absent = enabled), optionally at one generation. */
  checkAccess(accountId: string, userId: string, generation?: number): TransactItem {
    const generationValue = generation === undefined ? {} : { ':generation': generation };
    return {
      ConditionCheck: {
        TableName: this.tableName,
        Key: KEYS.userAccess(accountId, userId),
        ConditionExpression:
          generation === undefined
            ? 'attribute_not_exists(pk) OR enabled = :true'
            : 'attribute_not_exists(pk) OR (enabled = :true AND generation = :generation)',
        ExpressionAttributeValues: { ':true': true, ...generationValue },
      },
    };
  }

  /** A limit class's registration: written once, never changed or deleted. */
  putLimitClass(limitClass: string): TransactItem {
    return this.putNew({ ...KEYS.limitClass(limitClass), entity: 'limit-class', limitClass });
  }

  putSlot(slot: SlotRecord): TransactItem {
    return this.putNew(slotToItem(slot));
  }

  /** Follows an edit of the token's expiry or name; fails if the slot was released meanwhile. */
  editSlot(token: TokenRecord): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: KEYS.slot(token.accountId, token.userId, token.id),
        UpdateExpression: 'SET expiresAt = :expiresAt, tokenName = :tokenName, #sk = :sortKey',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#sk': INDEXES.byAccount.sortKey },
        ExpressionAttributeValues: {
          ':expiresAt': token.expiresAt,
          ':tokenName': token.name,
          ':sortKey': slotSortKey(token.expiresAt, token.id),
        },
      },
    };
  }

  /**
   * Deletes a slot that is still there, and (for the expiry release) still has the expiry the
   * releaser saw: an edit that extended it meanwhile keeps the token counted.
   */
  deleteSlot(
    slot: Pick<SlotRecord, 'accountId' | 'userId' | 'tokenId'>,
    seenExpiresAt?: string,
  ): TransactItem {
    return {
      Delete: {
        TableName: this.tableName,
        Key: KEYS.slot(slot.accountId, slot.userId, slot.tokenId),
        ...(seenExpiresAt === undefined
          ? { ConditionExpression: 'attribute_exists(pk)' }
          : {
              ConditionExpression: 'attribute_exists(pk) AND expiresAt = :seenExpiresAt',
              ExpressionAttributeValues: { ':seenExpiresAt': seenExpiresAt },
            }),
      },
    };
  }

  counterIncrement(key: Record<string, string>, limit: number): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #entity = :entity ADD #active :one',
        ConditionExpression: 'attribute_not_exists(#active) OR #active < :limit',
        ExpressionAttributeNames: { '#entity': 'entity', '#active': 'active' },
        ExpressionAttributeValues: { ':entity': 'limit', ':one': 1, ':limit': limit },
      },
    };
  }

  /** Unconditional: it only ever goes with the conditional Delete of a slot the increment created. */
  counterDecrement(key: Record<string, string>): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #entity = :entity ADD #active :minusOne',
        ExpressionAttributeNames: { '#entity': 'entity', '#active': 'active' },
        ExpressionAttributeValues: { ':entity': 'limit', ':minusOne': -1 },
      },
    };
  }

  private updateCredential(
    secretHash: string,
    updateExpression: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): TransactItem {
    return {
      Update: {
        TableName: this.tableName,
        Key: KEYS.credential(secretHash),
        UpdateExpression: updateExpression,
        // Never recreate a credential TTL has removed: a stray partial item could verify nothing,
        // but would linger forever.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }
}

/** Items written before versions existed read as version 1 (items.ts), so match them as that. */
function versionCondition(version: number): string {
  return version === 1
    ? '(attribute_not_exists(#version) OR #version = :expectedVersion)'
    : '#version = :expectedVersion';
}
