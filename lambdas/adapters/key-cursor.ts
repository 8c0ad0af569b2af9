import { invalidCursorError } from '../core/cursor-seal.js';

// A query's LastEvaluatedKey as an opaque cursor (base64url JSON), and back. Decoding checks the
// shape (exactly the expected key names, short string values) so that a garbage, truncated or
// foreign cursor is a 400, never a DynamoDB error; each listing then checks that the key belongs to
// the partition it queries. The service layer seals cursors with an HMAC on top (cursor-seal.ts).

const MAX_CURSOR_LENGTH = 4_096;
const MAX_CURSOR_VALUE_LENGTH = 512;

export function encodeKeyCursor(lastEvaluatedKey: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(lastEvaluatedKey), 'utf8').toString('base64url');
}

/** The key a cursor carries, with exactly `expectedKeys` as string attributes; else ValidationError. */
export function decodeKeyCursor(cursor: string, expectedKeys: readonly string[]): Record<string, string> {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursorError();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursorError();
  }
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw invalidCursorError();
  const entries = Object.entries(decoded);
  if (entries.length !== expectedKeys.length) throw invalidCursorError();
  const key: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!expectedKeys.includes(name) || typeof value !== 'string' || value.length > MAX_CURSOR_VALUE_LENGTH) {
      throw invalidCursorError();
    }
    key[name] = value;
  }
  return key;
}
