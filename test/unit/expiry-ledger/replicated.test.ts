import { readFileSync } from 'node:fs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { tokenToItem } from '../../../lambdas/adapters/items.js';
import { decodeTokenChange, isExpiryDeletion } from '../../../lambdas/adapters/stream-records.js';
import { TTL_ATTRIBUTE } from '../../../lambdas/adapters/table-definition.js';
import { tokenEventFromChange } from '../../../lambdas/core/notifications/events.js';
import {
  EXPIRY_LEDGER_FILTER_PATTERN,
  EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN,
} from '../../../lambdas/expiry-ledger/filter.js';
import { createExpiryLedger, decide } from '../../../lambdas/expiry-ledger/ledger.js';
import { NOTIFIER_FILTER_PATTERNS } from '../../../lambdas/notifier/filter.js';
import { filterOf } from '../../../local/event-filter.js';
import { issueToken, revoked, streamRecord, ttlDeletion, userDeleteOf } from '../notifications/support.js';

// Several Regions (docs/regions.md): the home stream of a global table carries the replicas'
// writes too. A TTL deletion made in another Region arrives as a replicated REMOVE, without the TTL
// service's userIdentity (and, in legacy 2017.11.29 global tables, with `aws:rep:*` attributes in
// its image): it is still an expiry, released and mailed once. The edge authorizers' replicated
// writes (lastUsedAt) are no event at all. Samples: test/fixtures/aws-events/README.md.

const fixture = (name: string): DynamoDBStreamEvent =>
  JSON.parse(readFileSync(new URL(`../../fixtures/aws-events/${name}`, import.meta.url), 'utf8'));
const REPLICATED_REMOVES = fixture('dynamodb-stream-replicated-remove.json').Records;
const REPLICATED_LAST_USED = fixture('dynamodb-stream-replicated-last-used.json').Records;

/** The home stack of a global table: its notifier and ledger run with GLOBAL_TABLE=true. */
const GLOBAL = { replicated: true } as const;

const eventOf = (record: DynamoDBRecord, options: { replicated?: boolean } = GLOBAL) => {
  const change = decodeTokenChange(record, options);
  return change === undefined ? undefined : tokenEventFromChange(change);
};

const notifierMatches = (record: DynamoDBRecord) =>
  NOTIFIER_FILTER_PATTERNS.some((pattern) => filterOf(pattern)(record));

/** A replicated REMOVE as the home stream sees it: no userIdentity, deleted at `deletedAt`. */
function replicatedRemoveOf(item: Record<string, unknown>, deletedAt: number): DynamoDBRecord {
  const record = streamRecord('REMOVE', { oldItem: item });
  return { ...record, dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: deletedAt } };
}

describe('the samples', () => {
  it('are REMOVEs of an active token item after its ttl, with no userIdentity (one with aws:rep:* attributes)', () => {
    expect(REPLICATED_REMOVES).toHaveLength(2);
    for (const record of REPLICATED_REMOVES) {
      expect(record.eventName).toBe('REMOVE');
      expect(record.userIdentity).toBeUndefined();
      const ttl = Number(record.dynamodb?.OldImage?.[TTL_ATTRIBUTE]?.N);
      expect(ttl).toBeLessThan(record.dynamodb?.ApproximateCreationDateTime ?? 0);
    }
    expect(Object.keys(REPLICATED_REMOVES[1]?.dynamodb?.OldImage ?? {})).toContain('aws:rep:updateregion');
  });
});

describe('a replicated REMOVE of an expired token (TTL ran in another Region)', () => {
  it.each(REPLICATED_REMOVES.map((record, index) => [index, record] as const))(
    'is an expiry (sample %i)',
    (_index, record) => {
      expect(isExpiryDeletion(record, GLOBAL)).toBe(true);
      expect(decide(record, GLOBAL)).toMatchObject({ action: 'release' });
      expect(eventOf(record)).toMatchObject({ kind: 'expired', recipient: 'owner@example.com' });
    },
  );

  it('reaches the ledger of a multi-Region home stack and the notifier, never the single-Region ledger filter', () => {
    for (const record of REPLICATED_REMOVES) {
      expect(filterOf(EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN)(record)).toBe(true);
      expect(notifierMatches(record)).toBe(true);
      // One Region has no replicated writes: its filter keeps the TTL identity (template unchanged).
      expect(filterOf(EXPIRY_LEDGER_FILTER_PATTERN)(record)).toBe(false);
    }
  });

  it('releases the slot exactly once however often it is delivered, and the TTL deletion of the same token adds nothing', async () => {
    const released = new Set<string>();
    const calls: string[] = [];
    const ledger = createExpiryLedger({
      replicated: true,
      repository: {
        releaseSlotOfDeletedToken: async (token) => {
          calls.push(token.id);
          if (released.has(token.id)) return false;
          released.add(token.id);
          return true;
        },
      },
      logger: { info: () => undefined, error: () => undefined },
    });
    const [record] = REPLICATED_REMOVES;
    if (record === undefined) throw new Error('no sample');
    await expect(ledger({ Records: [record, record] })).resolves.toEqual({ batchItemFailures: [] });
    expect(calls).toHaveLength(2);
    expect(released.size).toBe(1);
  });

  it('is still no expiry for a token that was revoked first (its slot went back then)', () => {
    const { token } = issueToken({}, new Date('2026-01-01T00:00:00Z'));
    const item = tokenToItem(revoked(token));
    const deletedAt = Number(item[TTL_ATTRIBUTE]) + 60;
    expect(decide(replicatedRemoveOf(item, deletedAt), GLOBAL)).toMatchObject({
      action: 'skip',
      reason: 'not-active',
    });
    expect(eventOf(replicatedRemoveOf(item, deletedAt))).toBeUndefined();
  });
});

describe('one Region (no global table)', () => {
  it("a REMOVE without userIdentity is an operator's delete even of an expired token: no release, no email", () => {
    for (const record of REPLICATED_REMOVES) {
      expect(isExpiryDeletion(record)).toBe(false);
      expect(decide(record)).toMatchObject({ action: 'skip', reason: 'not-a-ttl-deletion' });
      expect(eventOf(record, {})).toBeUndefined();
    }
  });
});

describe("a REMOVE without userIdentity of a token that had not expired (an operator's delete)", () => {
  it('is no expiry: no release, no email', () => {
    const { token } = issueToken();
    const item = tokenToItem(token);
    const beforeTtl = Number(item[TTL_ATTRIBUTE]) - 1;
    const record = replicatedRemoveOf(item, beforeTtl);
    expect(isExpiryDeletion(record, GLOBAL)).toBe(false);
    expect(decide(record, GLOBAL)).toMatchObject({ action: 'skip', reason: 'not-a-ttl-deletion' });
    expect(eventOf(record)).toBeUndefined();
    expect(decide(userDeleteOf(token), GLOBAL)).toMatchObject({
      action: 'skip',
      reason: 'not-a-ttl-deletion',
    });
  });

  it('the TTL service identity still makes an expiry whatever the times say', () => {
    const { token } = issueToken();
    expect(isExpiryDeletion(ttlDeletion(token), GLOBAL)).toBe(true);
  });
});

describe('replicated writes that are not events', () => {
  it("an edge authorizer's lastUsedAt update is no email and no release", () => {
    const [record] = REPLICATED_LAST_USED;
    if (record === undefined) throw new Error('no sample');
    expect(record.userIdentity).toBeUndefined();
    expect(isExpiryDeletion(record, GLOBAL)).toBe(false);
    expect(eventOf(record)).toBeUndefined();
    expect(decide(record, GLOBAL)).toMatchObject({ action: 'skip', reason: 'not-a-ttl-deletion' });
    expect(filterOf(EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN)(record)).toBe(false);
  });

  it("an edge authorizer's strict-mode counter (RATE# item) reaches neither the notifier nor the ledger", () => {
    const counter = { pk: 'RATE#tok_1', sk: 'SECOND#1777714201', count: 3, ttl: 1777714261 };
    const written = streamRecord('INSERT', { newItem: counter });
    const expired = replicatedRemoveOf(counter, 1777714300);
    for (const record of [written, expired]) {
      expect(notifierMatches(record)).toBe(false);
      expect(filterOf(EXPIRY_LEDGER_REPLICATED_FILTER_PATTERN)(record)).toBe(false);
      expect(decide(record, GLOBAL)).toMatchObject({ action: 'skip', reason: 'not-a-token' });
    }
  });
});
