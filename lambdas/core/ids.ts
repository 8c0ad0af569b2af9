import { randomBytes } from 'node:crypto';
import { bytesToBase62 } from './base62.js';

// Public token ids: `tok_` + 16 random bytes in base62 (22 characters). Not secret, but not
// guessable either, so ids cannot be enumerated. Paths are checked against the pattern before any lookup.
export const TOKEN_ID_PATTERN = /^tok_[0-9A-Za-z]{22}$/;

export function newTokenId(): string {
  return `tok_${bytesToBase62(randomBytes(16), 22)}`;
}

/** Audit event ids: `evt_` + 22 base62 characters, random like token ids. */
export const AUDIT_EVENT_ID_PATTERN = /^evt_[0-9A-Za-z]{22}$/;

export function newAuditEventId(): string {
  return `evt_${bytesToBase62(randomBytes(16), 22)}`;
}
