import { createHash } from 'node:crypto';
import { actorOf, auditEvent, capText } from './audit.js';
import { forEachBounded } from './bounded.js';
import { hashToken } from './hashing.js';
import type { AuditActor, Caller, LeakSighting, TokenChange, TokenRecord } from './model.js';
import { statusOf } from './model.js';
import type { Clock, CredentialReader, KeySource, TokenRepository } from './ports.js';
import { isWellFormedToken } from './token-format.js';
import { changeBy } from './token-service.js';

// Leaked secrets (docs/leaks.md): a secret found in public is revoked at once, and its owner is
// told where it was found (the notifier's "found in public and revoked" email, from the revoked
// token's lastChange.leak). Two ways in: GitHub's secret scanning partner alerts (POST /leaks/github,
// signature checked by the route) and a signed-in user's report (POST /leaks, own account only).
//
// Each reported string is checked for shape, prefix and checksum first: garbage costs no I/O. Then
// one HMAC and one consistent read of its credential, and the token's revocation in the repository's
// one transaction (token, credentials, limit slot, audit event). Revoking is idempotent: a report
// delivered again finds the token revoked and changes nothing. A secret is never logged, stored or
// put in an error; only its token's id is.

/** The audit trail's and the email's name for GitHub's reports. */
const SECRET_SCANNING_REPORTER = 'secret scanning';
/** lastChange.actorUserId of a revocation by GitHub's secret scanning: no user of any account. */
const SECRET_SCANNING_ACTOR = 'secret-scanning';

/** Stored lengths of what a report says about where a secret was seen. */
export const MAX_LEAK_URL_LENGTH = 1000;
export const MAX_LEAK_SOURCE_LENGTH = 200;

/** GitHub's reports are handled this many at once: a large batch ends in time, the table is not flooded. */
const LEAK_CONCURRENCY = 8;

export interface LeakDeps {
  readonly credentials: CredentialReader;
  readonly keySource: KeySource;
  readonly repository: TokenRepository;
  readonly clock: Clock;
  /** The deployment's token prefix (settings.tokenPrefix). */
  readonly tokenPrefix: string;
}

/** Who reports the leak. */
type LeakReporter =
  | {
      readonly kind: 'secret-scanning';
      readonly sourceIp: string | undefined;
      readonly userAgent: string | undefined;
    }
  /** A signed-in user: only their account's tokens. */
  | { readonly kind: 'user'; readonly caller: Caller };

/** Where the secret was seen, as the report says. */
interface LeakLocation {
  readonly url?: string | undefined;
  readonly source?: string | undefined;
}

/**
 * - `revoked`: it was an active token, now revoked;
 * - `already_inactive`: a token of ours that no longer works (revoked, expired, a previous secret
 *   past its grace period); nothing changed. `leakRevoked`: it was revoked for a leak reported by
 *   the same reporter kind (a redelivered report finds its own work);
 * - `not_ours`: not a token of this deployment (malformed, unknown) or, for a user, not of their
 *   account: nothing changed, nothing revealed.
 */
type LeakOutcome =
  | { readonly outcome: 'revoked'; readonly tokenId: string }
  | { readonly outcome: 'already_inactive'; readonly tokenId: string; readonly leakRevoked: boolean }
  | { readonly outcome: 'not_ours' };

const NOT_OURS: LeakOutcome = { outcome: 'not_ours' };

const nonEmpty = (value: string | undefined, max: number) =>
  value === undefined || value.trim() === '' ? undefined : capText(value.trim(), max);

/** The sighting as stored on the token and in the audit event: capped, empty fields left out. */
function sightingOf(reporter: LeakReporter, location: LeakLocation): LeakSighting {
  const url = nonEmpty(location.url, MAX_LEAK_URL_LENGTH);
  const source = nonEmpty(location.source, MAX_LEAK_SOURCE_LENGTH);
  return {
    reportedBy: reporter.kind,
    ...(url === undefined ? {} : { url }),
    ...(source === undefined ? {} : { source }),
  };
}

function changeOf(reporter: LeakReporter, sighting: LeakSighting, at: Date): TokenChange {
  if (reporter.kind === 'secret-scanning') {
    return {
      action: 'revoked',
      at: at.toISOString(),
      actorUserId: SECRET_SCANNING_ACTOR,
      actorRole: null,
      sourceIp: reporter.sourceIp,
      userAgent: reporter.userAgent,
      leak: sighting,
    };
  }
  return { ...changeBy(reporter.caller, 'revoked', at), leak: sighting };
}

function actorOfReporter(reporter: LeakReporter): AuditActor {
  if (reporter.kind === 'user') return actorOf(reporter.caller);
  return {
    userId: null,
    role: null,
    sourceIp: reporter.sourceIp ?? null,
    userAgent: reporter.userAgent ?? null,
  };
}

/**
 * Revokes the token whose secret `secret` is, if it is an active token of ours (and, for a user,
 * of their account). Throws only for a dependency failure (the report may be sent again).
 */
export async function revokeLeakedSecret(
  deps: LeakDeps,
  reporter: LeakReporter,
  secret: string,
  location: LeakLocation,
): Promise<LeakOutcome> {
  if (!isWellFormedToken(secret, deps.tokenPrefix)) return NOT_OURS;
  const key = await deps.keySource.getKey();
  const credential = await deps.credentials.findByHash(hashToken(key, secret));
  if (credential === undefined) return NOT_OURS;
  if (reporter.kind === 'user' && credential.accountId !== reporter.caller.accountId) return NOT_OURS;
  const token = await deps.repository.get(credential.tokenId);
  if (token === undefined || token.accountId !== credential.accountId) return NOT_OURS;

  const now = deps.clock.now();
  const inactive = (current: TokenRecord): LeakOutcome => ({
    outcome: 'already_inactive',
    tokenId: current.id,
    leakRevoked: current.state === 'revoked' && current.lastChange.leak?.reportedBy === reporter.kind,
  });
  // A previous secret whose grace period is over no longer verifies: there is nothing to end.
  const secretStopped = credential.notAfterMs !== null && credential.notAfterMs <= now.getTime();
  if (statusOf(token, now) !== 'active' || secretStopped) return inactive(token);

  const sighting = sightingOf(reporter, location);
  const revoked = await deps.repository.revoke(
    token.id,
    changeOf(reporter, sighting, now),
    (record) =>
      auditEvent({
        action: 'token.revoked',
        at: now,
        actor: actorOfReporter(reporter),
        accountId: record.accountId,
        subjectUserId: record.userId,
        token: record,
        details: {
          leaked: true,
          reportedBy: reporter.kind === 'secret-scanning' ? SECRET_SCANNING_REPORTER : 'user',
          url: sighting.url ?? null,
          source: sighting.source ?? null,
        },
      }),
    token,
  );
  if (revoked !== undefined) return { outcome: 'revoked', tokenId: revoked.id };
  // Revoked meanwhile (another delivery of the same report, its owner) or expired by now.
  return inactive((await deps.repository.get(token.id)) ?? token);
}

// ---------------------------------------------------------------------------------------------
// GitHub secret scanning partner alerts

/** One match of a GitHub report (docs/leaks.md): the secret, our type name, where it was found. */
interface GithubLeakMatch {
  readonly token: string;
  readonly type: string;
  readonly url: string;
  readonly source: string;
}

/** GitHub's feedback on one match: SHA-256 of the token, hex; true_positive for a real credential. */
interface GithubLeakFeedback {
  readonly token_hash: string;
  readonly token_type: string;
  readonly label: 'true_positive' | 'false_positive';
}

export const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

interface GithubReportResult {
  readonly feedback: GithubLeakFeedback[];
  /** The ids of the tokens this report revoked (for the log; never a secret). */
  readonly revokedTokenIds: string[];
}

/**
 * Handles one verified GitHub report: every match, LEAK_CONCURRENCY at a time, the same secret
 * once however often it is listed. `true_positive` for a secret that was a working credential: one
 * this report revoked, or one a secret scanning report revoked before (the same report delivered
 * again answers the same); `false_positive` for everything else (not ours, or a token that had
 * stopped working before: revoked by its owner, expired).
 */
export async function handleGithubReport(
  deps: LeakDeps,
  reporter: Extract<LeakReporter, { kind: 'secret-scanning' }>,
  matches: readonly GithubLeakMatch[],
): Promise<GithubReportResult> {
  const outcomes = new Map<string, LeakOutcome>();
  const firstMatchOf = new Map<string, GithubLeakMatch>();
  for (const match of matches) if (!firstMatchOf.has(match.token)) firstMatchOf.set(match.token, match);
  await forEachBounded([...firstMatchOf.values()], LEAK_CONCURRENCY, async (match) => {
    outcomes.set(match.token, await revokeLeakedSecret(deps, reporter, match.token, match));
  });
  const revokedTokenIds: string[] = [];
  for (const outcome of outcomes.values())
    if (outcome.outcome === 'revoked') revokedTokenIds.push(outcome.tokenId);
  const feedback = matches.map((match): GithubLeakFeedback => {
    const outcome = outcomes.get(match.token);
    const real =
      outcome?.outcome === 'revoked' || (outcome?.outcome === 'already_inactive' && outcome.leakRevoked);
    return {
      token_hash: sha256Hex(match.token),
      token_type: match.type,
      label: real ? 'true_positive' : 'false_positive',
    };
  });
  return { feedback, revokedTokenIds };
}
