import { readFileSync } from 'node:fs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { credentialFor, credentialToItem, tokenToItem } from '../../../lambdas/adapters/items.js';
import { decodeTokenChange, isTtlDeletion } from '../../../lambdas/adapters/stream-records.js';
import type { TokenRecord } from '../../../lambdas/core/model.js';
import {
  daysUntilExpiry,
  isDueForReminder,
  reminderEventFor,
  type TokenStreamChange,
  tokenEventFromChange,
} from '../../../lambdas/core/notifications/events.js';
import {
  changed,
  insertOf,
  issueToken,
  modifyOf,
  revoked,
  streamRecord,
  ttlDeletion,
  userDeleteOf,
} from './support.js';

const DAY_MS = 86_400_000;

function change(overrides: Partial<TokenStreamChange>): TokenStreamChange {
  return {
    eventName: 'MODIFY',
    oldToken: undefined,
    newToken: undefined,
    removedByService: false,
    bulk: false,
    ...overrides,
  };
}

const eventOf = (record: Parameters<typeof decodeTokenChange>[0]) => {
  const decoded = decodeTokenChange(record);
  return decoded === undefined ? undefined : tokenEventFromChange(decoded);
};

describe('stream record → token event', () => {
  it('INSERT of a new token → created, by you, with the request origin', () => {
    const { token } = issueToken();
    expect(eventOf(insertOf(token))).toEqual({
      kind: 'created',
      token: {
        id: token.id,
        name: token.name,
        hint: token.hint,
        userId: token.userId,
        accountId: token.accountId,
        expiresAt: token.expiresAt,
      },
      recipient: 'owner@example.com',
      occurredAt: token.createdAt,
      actor: 'owner',
      sourceIp: '198.51.100.7',
      userAgent: 'curl/8.5.0',
      bulk: false,
    });
  });

  it('the event carries no secret and no hash', () => {
    const { token, secret } = issueToken();
    const serialized = JSON.stringify(eventOf(insertOf(token)));
    expect(serialized).not.toContain(secret);
    expect(serialized).not.toContain(token.secretHash);
  });

  it('MODIFY active → revoked → revoked, at the change time', () => {
    const { token } = issueToken();
    const after = revoked(token);
    expect(eventOf(modifyOf(token, after))).toMatchObject({
      kind: 'revoked',
      actor: 'owner',
      occurredAt: after.lastChange.at,
      sourceIp: '203.0.113.9',
      userAgent: 'Mozilla/5.0',
      bulk: false,
    });
  });

  it('revoking a revoked token again (a MODIFY that keeps the state) → nothing', () => {
    const { token } = issueToken();
    const first = revoked(token);
    const second = revoked(first, { at: new Date(Date.now() + 1000).toISOString() });
    expect(eventOf(modifyOf(first, second))).toBeUndefined();
  });

  it('an admin acting on your token → "an administrator"', () => {
    const { token } = issueToken();
    const after = revoked(token, { actorUserId: 'admin-1', actorRole: 'admin' });
    expect(eventOf(modifyOf(token, after))).toMatchObject({ kind: 'revoked', actor: 'administrator' });
  });

  it('an admin revoking their own token → you', () => {
    const { token } = issueToken({ userId: 'admin-1' });
    const after = revoked(token, { actorUserId: 'admin-1', actorRole: 'admin' });
    expect(eventOf(modifyOf(token, after))).toMatchObject({ actor: 'owner' });
  });

  it('revoke-all (lastChange.bulk) → revoked, marked bulk, one per token', () => {
    const tokens = [issueToken().token, issueToken().token];
    const events = tokens.map((token) => {
      const after = revoked(token);
      const newItem = tokenToItem(after);
      newItem.lastChange = { ...(newItem.lastChange as object), bulk: true };
      return eventOf(streamRecord('MODIFY', { oldItem: tokenToItem(token), newItem }));
    });
    expect(events.map((event) => [event?.kind, event?.bulk, event?.token.id])).toEqual(
      tokens.map((token) => ['revoked', true, token.id]),
    );
  });

  it('rotation → rotated; the same rotation seen again → nothing', () => {
    const { token } = issueToken();
    const rotatedAt = new Date().toISOString();
    const after = { ...changed(token, { action: 'rotated', at: rotatedAt }), rotatedAt, hint: 'atk_…zzzz' };
    expect(eventOf(modifyOf(token, after))).toMatchObject({
      kind: 'rotated',
      occurredAt: rotatedAt,
      actor: 'owner',
    });
    expect(eventOf(modifyOf(after, { ...after, lastUsedAt: new Date().toISOString() }))).toBeUndefined();
  });

  it('an edit sends nothing', () => {
    const { token } = issueToken();
    const after = { ...changed(token, { action: 'updated' }), name: 'renamed' };
    expect(eventOf(modifyOf(token, after))).toBeUndefined();
  });

  it('a TTL deletion (the DynamoDB service principal) of an active token → expired, never revoked', () => {
    const { token } = issueToken({ expiresAt: new Date(Date.now() - 3600_000).toISOString() });
    const record = ttlDeletion(token);
    expect(isTtlDeletion(record)).toBe(true);
    expect(eventOf(record)).toMatchObject({
      kind: 'expired',
      actor: 'system',
      occurredAt: token.expiresAt,
      sourceIp: undefined,
      userAgent: undefined,
    });
  });

  it('a TTL deletion of an already revoked token → nothing', () => {
    const { token } = issueToken();
    expect(eventOf(ttlDeletion(revoked(token)))).toBeUndefined();
  });

  it("a user's delete (no userIdentity) → nothing", () => {
    const { token } = issueToken();
    const record = userDeleteOf(token);
    expect(record.userIdentity).toBeUndefined();
    expect(isTtlDeletion(record)).toBe(false);
    expect(eventOf(record)).toBeUndefined();
  });

  it('the TTL sample of the fixtures (not a token item) → nothing', () => {
    const sample = JSON.parse(
      readFileSync(
        new URL('../../fixtures/aws-events/dynamodb-stream-ttl-delete.json', import.meta.url),
        'utf8',
      ),
    ) as DynamoDBStreamEvent;
    const [record] = sample.Records;
    if (record === undefined) throw new Error('empty fixture');
    expect(isTtlDeletion(record)).toBe(true);
    expect(decodeTokenChange(record)).toBeUndefined();
  });

  it("the AWS sample records and other entities' records → nothing", () => {
    const sample = JSON.parse(
      readFileSync(new URL('../../fixtures/aws-events/dynamodb-stream.json', import.meta.url), 'utf8'),
    ) as DynamoDBStreamEvent;
    for (const record of sample.Records) expect(decodeTokenChange(record)).toBeUndefined();
    const { token } = issueToken();
    const credential = credentialToItem(credentialFor(token));
    expect(decodeTokenChange(streamRecord('INSERT', { newItem: credential }))).toBeUndefined();
    expect(
      decodeTokenChange(
        streamRecord('INSERT', {
          newItem: { pk: 'IDEMPOTENCY#x', sk: 'IDEMPOTENCY', entity: 'notification' },
        }),
      ),
    ).toBeUndefined();
  });

  it('a token without an owner email → nothing to send', () => {
    const { token } = issueToken({ ownerEmail: undefined });
    expect(eventOf(insertOf(token))).toBeUndefined();
    expect(eventOf(modifyOf(token, revoked(token)))).toBeUndefined();
    expect(eventOf(ttlDeletion(token))).toBeUndefined();
  });

  it('a damaged token image throws (the record is reported, not silently skipped)', () => {
    const { token } = issueToken();
    const item = { ...tokenToItem(token), state: 'weird' };
    expect(() => decodeTokenChange(streamRecord('INSERT', { newItem: item }))).toThrow();
  });

  it('property: a MODIFY that changes neither state nor lastChange never sends', () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.string({ maxLength: 100 }),
          lastUsedAt: fc.option(fc.date({ noInvalidDate: true }).map((date) => date.toISOString())),
          state: fc.constantFrom<TokenRecord['state']>('active', 'revoked'),
          action: fc.constantFrom('created', 'updated', 'rotated', 'revoked' as const),
        }),
        ({ name, lastUsedAt, state, action }) => {
          const { token } = issueToken({ state });
          const before = changed(token, { action, at: '2026-01-01T00:00:00.000Z' });
          const after = { ...before, name, lastUsedAt };
          expect(tokenEventFromChange(change({ oldToken: before, newToken: after }))).toBeUndefined();
        },
      ),
    );
  });

  it('property: a REMOVE is "expired" exactly when DynamoDB removed an active token, and never "revoked"', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom<TokenRecord['state']>('active', 'revoked'),
        (byService, state) => {
          const { token } = issueToken({ state });
          const event = tokenEventFromChange(
            change({ eventName: 'REMOVE', oldToken: token, removedByService: byService }),
          );
          expect(event?.kind).toBe(byService && state === 'active' ? 'expired' : undefined);
        },
      ),
    );
  });
});

describe('reminders', () => {
  const now = new Date('2026-06-01T08:00:00.000Z');
  const at = (days: number) => new Date(now.getTime() + days * DAY_MS).toISOString();

  it('is due within the window, after the first half of the token life', () => {
    const due = (overrides: Partial<TokenRecord>) =>
      isDueForReminder(issueToken({ createdAt: at(-80), expiresAt: at(5), ...overrides }).token, now, 7);
    expect(due({})).toBe(true);
    expect(due({ expiresAt: at(7) })).toBe(true);
    expect(due({ expiresAt: at(7.01) })).toBe(false);
    expect(due({ expiresAt: at(-0.01) })).toBe(false);
    expect(due({ state: 'revoked' })).toBe(false);
    expect(due({ ownerEmail: undefined })).toBe(false);
    expect(due({ expiresAt: null })).toBe(false);
    // A 7-day token is not reminded the day after its owner created it...
    expect(due({ createdAt: at(-1), expiresAt: at(6) })).toBe(false);
    // ...but in the second half of its life.
    expect(due({ createdAt: at(-4), expiresAt: at(3) })).toBe(true);
  });

  it('a token whose whole second half falls between two daily runs is reminded at the last run before it expires', () => {
    // Created 07:30, expires 20:00: its second half starts at 13:45, after the 08:00 run; the next
    // run (tomorrow 08:00) is after its expiry.
    const short = issueToken({
      createdAt: '2026-06-01T07:30:00.000Z',
      expiresAt: '2026-06-01T20:00:00.000Z',
    }).token;
    expect(isDueForReminder(short, now, 7)).toBe(true);
    // A 3-day token created just before a run is not: later runs fall in its second half.
    expect(isDueForReminder(issueToken({ createdAt: at(-0.01), expiresAt: at(3) }).token, now, 7)).toBe(
      false,
    );
    // Every run between creation and expiry, stepped by a day, reminds any token exactly at one run
    // or more (the first due run sends; the idempotency key makes it one email).
    for (const lifetimeHours of [1, 5, 13, 23, 25, 47, 71, 24 * 7]) {
      for (let offsetHours = 0; offsetHours < 24; offsetHours += 3) {
        const created = new Date(now.getTime() - offsetHours * 3_600_000);
        const token = issueToken({
          createdAt: created.toISOString(),
          expiresAt: new Date(created.getTime() + lifetimeHours * 3_600_000).toISOString(),
        }).token;
        const runs = Array.from({ length: 9 }, (_, day) => new Date(now.getTime() + day * DAY_MS)).filter(
          (run) => run.getTime() >= created.getTime(),
        );
        expect(
          runs.some((run) => isDueForReminder(token, run, 7)),
          `${lifetimeHours} h, -${offsetHours} h`,
        ).toBe(Date.parse(token.expiresAt ?? '') > now.getTime());
      }
    }
  });

  it('counts whole days left, up', () => {
    const { token } = issueToken({ createdAt: at(-80), expiresAt: at(5.2) });
    const event = reminderEventFor(token, now);
    expect(event).toMatchObject({ kind: 'reminder', actor: 'system', occurredAt: now.toISOString() });
    expect(event === undefined ? undefined : daysUntilExpiry(event)).toBe(6);
  });
});
