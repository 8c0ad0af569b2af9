import { isDeepStrictEqual } from 'node:util';
import type { CredentialRecord } from './model.js';
import type { CredentialReader } from './ports.js';

// A credential read that finds the record unchanged hands back the object of the read before.
//
// Why: the token authorizer keeps what it derives from a credential with the credential object
// (the REST answer with its policy, the decision line's tokenId and userId: rest-responses.ts,
// token-authorizer.ts), because the verification cache hands out the same object on every hit. A
// read makes a new object, so each read of an unchanged record rebuilt all of it: with the in-process
// cache off (revocation window 0) that was every request, and on a CPU cold from waiting on the read
// the REST answer alone took about 0.09 ms of the 0.2 ms the authorizer spent after it
// (docs/performance.md, round 4). Reads of the same record are the rule: a token changes when it is
// revoked, edited or disabled, and any change makes a new object, so the decision never sees a
// stale field. The read itself is made every time, as before: only the object is reused.

/**
 * Every field of CredentialRecord, so a field added to the record cannot be left out of the
 * comparison (the type checker asks for it here). Arrays are compared element by element; `limits`
 * (an object) with isDeepStrictEqual; the rest with ===.
 */
const CREDENTIAL_FIELDS = {
  secretHash: 'value',
  tokenId: 'value',
  userId: 'value',
  accountId: 'value',
  scopes: 'list',
  type: 'value',
  allowedIps: 'list',
  state: 'value',
  expiresAtMs: 'value',
  notAfterMs: 'value',
  keyVersion: 'value',
  disabled: 'value',
  accessGeneration: 'value',
  limits: 'object',
} as const satisfies Record<keyof CredentialRecord, 'value' | 'list' | 'object'>;

const FIELD_ENTRIES = Object.entries(CREDENTIAL_FIELDS) as [
  keyof CredentialRecord,
  'value' | 'list' | 'object',
][];

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((item, index) => item === b[index]);

/** Whether two records hold the same values: what isDeepStrictEqual says of them, in a few comparisons. */
export function sameCredential(a: CredentialRecord, b: CredentialRecord): boolean {
  if (Object.keys(a).length !== Object.keys(b).length) return false;
  for (const [field, kind] of FIELD_ENTRIES) {
    const [left, right] = [a[field], b[field]];
    if (left === right) continue;
    if (kind === 'list') {
      if (!Array.isArray(left) || !Array.isArray(right) || !sameList(left, right)) return false;
    } else if (kind !== 'object' || !isDeepStrictEqual(left, right)) {
      return false;
    }
  }
  return true;
}

/**
 * `reader`, handing back the object it returned before for the same secret hash when the new read
 * holds the same values. Remembers at most `maxEntries` records; when full it starts over (only an
 * object rebuilt more often).
 */
export function keepUnchangedCredentials(reader: CredentialReader, maxEntries: number): CredentialReader {
  const last = new Map<string, CredentialRecord>();
  return {
    findByHash: (secretHash) =>
      reader.findByHash(secretHash).then((read) => {
        if (read === undefined) {
          last.delete(secretHash);
          return undefined;
        }
        const known = last.get(secretHash);
        if (known !== undefined && sameCredential(known, read)) return known;
        if (last.size >= maxEntries) last.clear();
        last.set(secretHash, read);
        return read;
      }),
  };
}
