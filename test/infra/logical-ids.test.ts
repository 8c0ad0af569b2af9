import { describe, expect, it } from 'vitest';
import { logicalIdOf, synthesize, WITH_EMAILS } from './helpers.js';

// The logical ids of the stateful resources, pinned. CloudFormation knows a resource by its logical
// id, which CDK derives from the construct path: renaming or moving a construct (or its parent)
// gives it a new id, and the next deploy creates a new resource and drops the old one. For these
// that is data loss, and nothing in a diff says so:
// - the table and the user pool: a new, empty one (the old one is retained, orphaned);
// - the KMS key: a new key, under which the HMAC key ciphertext no longer decrypts, so every issued
//   token stops verifying;
// - the HMAC key ciphertext: a new HMAC key, the same;
// - the list-cursor key ciphertext: a new cursor key, so every "Load more" cursor in flight is refused
//   (a smaller loss, but one nobody asked for);
// - the user pool client: every app configured with the old client id stops signing in;
// - the SES identity: a new, unverified identity, and no emails until it is verified again.
// If one of these must move, keep its id (`overrideLogicalId`) or plan the migration; never just
// update this list.

const PINNED: ReadonlyArray<readonly [string, string]> = [
  ['token table', 'TokenTableE08F3FFA'],
  ['KMS key', 'HmacKey9C6F4D76'],
  ['HMAC key ciphertext (custom resource)', 'HmacKeyCiphertext505480D6'],
  ['list-cursor key ciphertext (custom resource)', 'HmacKeyCursorKeyCiphertextEC628C66'],
  ['user pool', 'IdentityUserPool96FE3B9B'],
  ['user pool client', 'IdentityUserPoolConsoleClient333099BF'],
  ['SES identity', 'NotificationsEmailIdentity8E8045AB'],
];

describe('stateful resources keep their logical ids', () => {
  const { stack, template } = synthesize({ context: WITH_EMAILS });
  const resources = template.toJSON().Resources;
  const { userPool, userPoolClient } = stack.identity;
  const identity = stack.notifications?.emailIdentity;
  if (userPool === undefined || userPoolClient === undefined || identity === undefined) {
    throw new Error('the full stack has a user pool and an SES identity');
  }
  const actual: Record<string, string> = {
    'token table': logicalIdOf(stack.table.table),
    'KMS key': logicalIdOf(stack.hmacKey.key),
    'HMAC key ciphertext (custom resource)': logicalIdOf(stack.hmacKey.resource),
    'list-cursor key ciphertext (custom resource)': logicalIdOf(stack.hmacKey.cursorResource),
    'user pool': logicalIdOf(userPool),
    'user pool client': logicalIdOf(userPoolClient),
    'SES identity': logicalIdOf(identity),
  };

  it.each(PINNED)('%s: %s', (name, logicalId) => {
    expect(actual[name]).toBe(logicalId);
    expect(resources[logicalId]).toBeDefined();
  });
});
