import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';
import type { HmacKey } from './hashing.js';

// Signed list cursors. A repository cursor (where the query stopped) is wrapped with an HMAC over
// the cursor and its binding: the route, the caller and the query. A cursor that was modified, or
// that was issued to another caller or for another query, fails the check and is a 400 before any
// read: never someone else's data, never a DynamoDB error.
//
// Format: `<inner><tag>`, where tag = the first 16 bytes of
// HMAC-SHA256(cursorKey, binding "\n" inner), base64url (22 characters). Both parts are base64url,
// so the whole passes the query schema's `[A-Za-z0-9_-]+`. The key material is the list handlers'
// own cursor key (a data key separate from the HMAC key, see lib/hmac-key.ts), through a fixed
// label, so a cursor tag is also never the HMAC of anything else under that key.

const TAG_BYTES = 16;
const TAG_LENGTH = 22; // base64url of 16 bytes, unpadded
const CURSOR_KEY_LABEL = 'access-tokens/list-cursor/v1';

interface CursorSealer {
  seal(inner: string, binding: string): string;
  /** The inner cursor; throws ValidationError (400 on `cursor`) for anything not sealed here for this binding. */
  open(sealed: string, binding: string): string;
}

export function invalidCursorError(): ValidationError {
  return new ValidationError('Invalid cursor', [
    { path: 'cursor', message: 'is not a cursor returned by this API for this listing' },
  ]);
}

/** A stable binding string: the parts joined with a separator no part may contain unescaped. */
export function cursorBinding(parts: readonly (string | number | undefined)[]): string {
  return JSON.stringify(parts.map((part) => part ?? null));
}

export function hmacCursorSealer(key: HmacKey): CursorSealer {
  const cursorKey = createHmac('sha256', key.material).update(CURSOR_KEY_LABEL).digest();
  const tagOf = (inner: string, binding: string): Buffer =>
    createHmac('sha256', cursorKey)
      .update(binding)
      .update('\n')
      .update(inner)
      .digest()
      .subarray(0, TAG_BYTES);
  return {
    seal(inner, binding) {
      return `${inner}${tagOf(inner, binding).toString('base64url')}`;
    },
    open(sealed, binding) {
      if (sealed.length <= TAG_LENGTH || !/^[A-Za-z0-9_-]+$/.test(sealed)) throw invalidCursorError();
      const inner = sealed.slice(0, -TAG_LENGTH);
      // Compared as text, not as decoded bytes: the last base64url character carries 4 bits that
      // decoding ignores, so byte equality would accept a few altered cursors.
      const presented = Buffer.from(sealed.slice(-TAG_LENGTH), 'utf8');
      const expected = Buffer.from(tagOf(inner, binding).toString('base64url'), 'utf8');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
        throw invalidCursorError();
      }
      return inner;
    },
  };
}
