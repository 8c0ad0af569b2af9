import type { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { errorFields } from '../adapters/error-fields.js';
import {
  decodeNotifierRecord,
  type NotifierRecord,
  sequenceNumberOf,
  streamRecordFields,
} from '../adapters/stream-records.js';
import {
  type OwnerContacts,
  ownerAddressOf,
  recipientOf,
  sameAddress,
} from '../core/notifications/contacts.js';
import { tokenEventFromChange } from '../core/notifications/events.js';
import {
  addressChangeNotifications,
  BulkRevocationIncompleteError,
  type BulkRevocationTokens,
  bulkRevocationNotification,
  bulkRevocationOf,
} from '../core/notifications/notices.js';
import {
  type DeliveryOutcome,
  deliverNotification,
  type Notification,
  type NotifierDeps,
  notificationOf,
} from '../core/notifications/notifier.js';
import { ConcurrencyLimit, runFairly, type SendPacer } from '../core/notifications/pacing.js';
import { SDK_CALL_MAX_MS } from '../runtime/sdk-options.js';

// One stream batch → emails, with partial batch responses.
//
// 1. Every record is decoded and turned into its notifications, in order: a token event (to the
//    owner's current address; a token revoked by a revoke-all gets none of its own), the summary
//    of a revoke-all (one per owner), or the notices of an address change (old and new address).
//    Token changes by their owner also record the owner's current address on the way.
// 2. The emails go out fairly: each recipient's in order, one at a time, the recipients side by
//    side (a few at once) with the starts paced to SES's send rate, so one user's burst takes turns
//    with everyone else's instead of holding them back or using up the rate.
// 3. A record whose email failed is reported on its own; the rest of the batch still goes out. A
//    recipient whose email failed gets no more attempts in this batch (its later emails would come
//    out of order). Lambda checkpoints before the lowest reported record and delivers it and the
//    records after it again: the idempotency records make that a no-op for what was sent.
// A claim another delivery holds is waited for while the invocation has time, so it costs no
// stream retry; see docs/security.md ("Emails") for the retry schedule.

export type NotifierLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface StreamNotifierDeps extends NotifierDeps {
  readonly logger: NotifierLogger;
  /** Owners' current addresses. @default none: every email goes to the token's ownerEmail */
  readonly contacts?: OwnerContacts;
  /** The tokens of a revoke-all, for its summary. @default none: revoke-all summaries are not sent */
  readonly bulkTokens?: BulkRevocationTokens;
  /** Paces sends to SES's rate. @default no pacing */
  readonly pacer?: SendPacer;
  /** Sends at once. @default 4 */
  readonly concurrency?: number;
  /** The table is a global table: expiries may arrive as replicated REMOVEs (docs/regions.md). @default false */
  readonly replicated?: boolean;
}

/**
 * A record, or an email, is started only with at least this much of the invocation left: more
 * than one delivery can take (claim, send, mark or release: three SDK calls, each ending within its
 * enforced timeouts), so the function never times out in the middle of one.
 */
export const MIN_REMAINING_MS_PER_RECORD = 3 * SDK_CALL_MAX_MS;

interface Planned {
  readonly index: number;
  readonly notification: Notification;
}

type StreamNotifier = (
  event: DynamoDBStreamEvent,
  /** The invocation's remaining time (Lambda's context.getRemainingTimeInMillis). */
  remainingTimeMs?: () => number,
) => Promise<DynamoDBBatchResponse>;

function notificationFields(notification: Notification): Record<string, unknown> {
  return { kind: notification.kind, subjectId: notification.subjectId, key: notification.key };
}

export function createStreamNotifier(deps: StreamNotifierDeps): StreamNotifier {
  const { logger } = deps;
  const limit = new ConcurrencyLimit(deps.concurrency ?? 4);
  const baseDelivery: NotifierDeps = {
    ...deps,
    ...(deps.pacer === undefined ? {} : { beforeSend: () => deps.pacer?.acquire() ?? Promise.resolve() }),
    onCompleteFailed: (error, notification) =>
      logger.error('email sent, but recording it failed: it will count as maybe sent, never resent', {
        ...notificationFields(notification),
        ...errorFields(error),
      }),
    onMaybeSent: (notification) =>
      logger.warn('maybe sent: a claim lapsed after its send attempt; not sending again, marked sent', {
        ...notificationFields(notification),
      }),
    onReleaseFailed: (error, notification) =>
      logger.error('a failed send could not release its claim: it will count as maybe sent', {
        ...notificationFields(notification),
        ...errorFields(error),
      }),
  };

  async function plan(decoded: NotifierRecord): Promise<Notification[]> {
    const now = deps.clock.now();
    switch (decoded.type) {
      case 'token': {
        const { change } = decoded;
        const owner = ownerAddressOf(change.oldToken, change.newToken);
        if (owner !== undefined && change.newToken !== undefined && deps.contacts !== undefined) {
          await deps.contacts.record({
            accountId: change.newToken.accountId,
            userId: change.newToken.userId,
            email: owner.email,
            at: owner.at,
            fallbackPrevious: change.newToken.ownerEmail,
          });
        }
        const event = tokenEventFromChange(change);
        if (event === undefined) return [];
        // Part of a revoke-all: its summary email names this token (bulkRevocationNotification).
        if (
          event.kind === 'revoked' &&
          change.newToken?.lastChange.bulkId !== undefined &&
          deps.bulkTokens !== undefined
        ) {
          return [];
        }
        const token = change.newToken ?? change.oldToken;
        const recipient = token === undefined ? undefined : await recipientOf(deps.contacts, token);
        if (recipient === undefined) return [];
        return [notificationOf({ ...event, recipient }, now, deps.template)];
      }
      case 'revoked-all': {
        const bulk = bulkRevocationOf(decoded.event);
        if (bulk === undefined || bulk.revokedCount === 0 || deps.bulkTokens === undefined) return [];
        const tokens = await deps.bulkTokens.revokedBy(bulk);
        if (tokens.length < bulk.revokedCount) {
          throw new BulkRevocationIncompleteError(bulk.bulkId, tokens.length, bulk.revokedCount);
        }
        const byOwner = new Map<string, typeof tokens>();
        for (const token of tokens) byOwner.set(token.userId, [...(byOwner.get(token.userId) ?? []), token]);
        const notifications: Notification[] = [];
        for (const [userId, owned] of byOwner) {
          const newest = owned.reduce((a, b) => (a.createdAt >= b.createdAt ? a : b));
          const recipient = await recipientOf(deps.contacts, newest);
          if (recipient === undefined) continue;
          notifications.push(bulkRevocationNotification(bulk, userId, owned, recipient, now, deps.template));
        }
        return notifications;
      }
      case 'contact': {
        const { oldContact, newContact } = decoded;
        if (newContact === undefined) return [];
        if (oldContact !== undefined && oldContact.updatedAt === newContact.updatedAt) return [];
        const previous = newContact.previousEmail;
        if (previous === undefined || sameAddress(previous, newContact.email)) return [];
        return addressChangeNotifications(newContact, previous, now, deps.template);
      }
    }
  }

  return async (streamEvent, remainingTimeMs = () => Number.POSITIVE_INFINITY) => {
    const records = streamEvent.Records;
    const failed = new Set<number>();
    const planned: Planned[] = [];
    const spare = () => remainingTimeMs() - MIN_REMAINING_MS_PER_RECORD;

    for (const [index, record] of records.entries()) {
      if (spare() < 0) {
        logger.warn('out of time; the rest of the batch will be delivered again', {
          deferredRecords: records.length - index,
        });
        for (let rest = index; rest < records.length; rest++) failed.add(rest);
        break;
      }
      try {
        const decoded = decodeNotifierRecord(record, { replicated: deps.replicated === true });
        if (decoded === undefined) continue;
        for (const notification of await plan(decoded)) planned.push({ index, notification });
      } catch (error) {
        failed.add(index);
        logger.error('notification failed; the record will be retried', {
          ...streamRecordFields(record),
          ...errorFields(error),
        });
      }
    }

    const delivery: NotifierDeps = { ...baseDelivery, waitBudgetMs: spare };
    const results = await runFairly(
      planned.filter((item) => !failed.has(item.index)),
      (item) => item.notification.email.to.trim().toLowerCase(),
      limit,
      async (item) => {
        const record = records[item.index];
        const fields = {
          ...notificationFields(item.notification),
          ...(record ? streamRecordFields(record) : {}),
        };
        if (spare() < 0) return false;
        let outcome: DeliveryOutcome;
        try {
          outcome = await deliverNotification(item.notification, delivery);
        } catch (error) {
          logger.error('notification failed; the record will be retried', {
            ...fields,
            ...errorFields(error),
          });
          return false;
        }
        if (outcome.status === 'sent')
          logger.info('notification sent', { ...fields, messageId: outcome.messageId });
        else if (outcome.status === 'duplicate') logger.info('notification already sent', fields);
        return true;
      },
    );
    for (const [item, ok] of results) if (!ok) failed.add(item.index);

    const failures = [...failed].sort((a, b) => a - b).map((index) => records[index]);
    if (failures.length > 0) {
      logger.warn('reporting failed records; Lambda delivers them (and the records after them) again', {
        reportedRecords: failures.length,
      });
    }
    return {
      batchItemFailures: failures.map((record) => ({ itemIdentifier: sequenceNumberOf(record) })),
    };
  };
}
