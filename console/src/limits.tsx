import type { TokenDetail, TokenType } from './api';

// A token's rate limit and quota (README "Rate limits and quotas"): the optional section of the
// create and edit forms, and what the token's page shows (its limits, where they come from, and its
// use of the quota as a bar with numbers). The numbers are checked as they are typed against the
// most they may be: the type's ceiling, or (an owner editing) what the token has now.

type RateLimit = TokenType['rateLimit'];
type Quota = NonNullable<TokenType['quota']>;
type Period = Quota['period'];
const PERIODS: readonly Period[] = ['DAY', 'WEEK', 'MONTH'];
const PER: Record<Period, string> = { DAY: 'a day', WEEK: 'a week', MONTH: 'a month' };

/** What the fields hold: text as typed; an empty quota limit = no quota. */
interface LimitsDraft {
  rps: string;
  burst: string;
  quota: string;
  period: Period;
}

export const draftOf = (rateLimit: RateLimit, quota: Quota | null): LimitsDraft => ({
  rps: String(rateLimit.requestsPerSecond),
  burst: String(rateLimit.burst),
  quota: quota === null ? '' : String(quota.limit),
  period: quota?.period ?? 'DAY',
});

/**
 * The most each number may be; quota null: any (the type has none, or the token has none yet).
 * quotaRequired: an owner's edit cannot drop the quota the token has (that raises it).
 */
export interface LimitsCeiling {
  rateLimit: RateLimit;
  quota: Quota | null;
  quotaRequired?: boolean;
}

type ParsedLimits = { rateLimit: RateLimit; quota: Quota | null };

/** The draft as request limits, or the problems with it (one message per field). */
export function parseLimits(
  draft: LimitsDraft,
  ceiling: LimitsCeiling,
): { limits: ParsedLimits } | { problems: string[] } {
  const problems: string[] = [];
  const whole = (text: string, label: string, max: number) => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text.trim()) || value < 1)
      problems.push(`${label} must be a whole number of at least 1.`);
    else if (value > max) problems.push(`${label} can be at most ${max}.`);
    return value;
  };
  const requestsPerSecond = whole(draft.rps, 'Requests per second', ceiling.rateLimit.requestsPerSecond);
  const burst = whole(draft.burst, 'Burst', ceiling.rateLimit.burst);
  let quota: Quota | null = null;
  if (draft.quota.trim() !== '') {
    if (ceiling.quota !== null && draft.period !== ceiling.quota.period) {
      problems.push(`The quota must be ${PER[ceiling.quota.period]}.`);
    }
    quota = {
      limit: whole(draft.quota, 'Quota', ceiling.quota?.limit ?? 1_000_000_000),
      period: draft.period,
    };
  } else if (ceiling.quotaRequired === true && ceiling.quota !== null) {
    problems.push(`Keep a quota (at most ${ceiling.quota.limit} ${PER[ceiling.quota.period]}).`);
  }
  return problems.length > 0 ? { problems } : { limits: { rateLimit: { requestsPerSecond, burst }, quota } };
}

export const sameLimits = (a: ParsedLimits, b: ParsedLimits): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

export function LimitsFields({
  draft,
  onChange,
  ceiling,
  error,
  help,
}: {
  draft: LimitsDraft;
  onChange: (draft: LimitsDraft) => void;
  ceiling: LimitsCeiling;
  error: string | undefined;
  help: string;
}) {
  const parsed = parseLimits(draft, ceiling);
  const message = 'problems' in parsed ? parsed.problems.join(' ') : error;
  const number = (key: 'rps' | 'burst' | 'quota', label: string, max: number | undefined) => (
    <div class="field">
      <label for={`field-limits-${key}`}>{label}</label>
      <input
        id={`field-limits-${key}`}
        type="number"
        inputMode="numeric"
        min={1}
        max={max}
        value={draft[key]}
        aria-invalid={message !== undefined}
        aria-describedby={message === undefined ? 'limits-help' : 'limits-help limits-error'}
        onInput={(e) => onChange({ ...draft, [key]: e.currentTarget.value })}
      />
    </div>
  );
  return (
    <fieldset>
      <legend>Rate limit</legend>
      <p id="limits-help" class="muted">
        {help}
      </p>
      <div class="row">
        {number('rps', 'Requests per second', ceiling.rateLimit.requestsPerSecond)}
        {number('burst', 'Burst', ceiling.rateLimit.burst)}
      </div>
      <div class="row">
        {number('quota', `Quota${ceiling.quota === null ? ' (empty: none)' : ''}`, ceiling.quota?.limit)}
        <div class="field">
          <label for="field-limits-period">per</label>
          <select
            id="field-limits-period"
            value={draft.period}
            disabled={ceiling.quota !== null}
            onChange={(e) => onChange({ ...draft, period: e.currentTarget.value as Period })}
          >
            {PERIODS.map((period) => (
              <option key={period} value={period}>
                {period.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
      </div>
      {message !== undefined && (
        <p id="limits-error" class="field-error">
          {message}
        </p>
      )}
    </fieldset>
  );
}

const formatQuota = (quota: Quota | null) =>
  quota === null ? 'no quota' : `${quota.limit.toLocaleString()} requests ${PER[quota.period]}`;

/** The rows of the token's details about its limits. */
export function limitRows(token: TokenDetail): [string, preact.ComponentChildren][] {
  if (token.limits === null) return [['Rate limit', 'unknown: its type is no longer configured']];
  const source = token.limits.source === 'type' ? 'from its type' : 'set on this token';
  const { requestsPerSecond, burst } = token.limits.rateLimit;
  const rows: [string, preact.ComponentChildren][] = [
    ['Rate limit', `${requestsPerSecond} requests/second, burst ${burst} (${source})`],
    ['Quota', formatQuota(token.limits.quota)],
  ];
  if (token.usage !== null) rows.push(['Quota used', <UsageBar usage={token.usage} />]);
  return rows;
}

function UsageBar({ usage }: { usage: NonNullable<TokenDetail['usage']> }) {
  const percent = usage.limit === 0 ? 100 : Math.min(100, Math.round((usage.used / usage.limit) * 100));
  return (
    <span class="usage">
      <meter min={0} max={usage.limit} value={usage.used} aria-label="Quota used" />{' '}
      {usage.used.toLocaleString()} of {usage.limit.toLocaleString()} ({percent}%),{' '}
      {usage.remaining.toLocaleString()} left; resets {new Date(usage.resetsAt).toLocaleString()}
    </span>
  );
}
