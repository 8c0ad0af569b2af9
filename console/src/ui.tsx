import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';
import { humanMessage } from './messages';

// Small pieces every page uses: loading with retry, a form's action, error messages, dates, a labelled
// field.

type Load<T> =
  | { readonly kind: 'loading' }
  | { readonly kind: 'failed'; readonly error: unknown }
  | { readonly kind: 'ready'; readonly data: T };

/** Runs `load` now and whenever `deps` change; `retry` runs it again. Never leaves the page blank. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): [Load<T>, () => void] {
  const [state, setState] = useState<Load<T>>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    // A reload keeps showing what it has until the new answer (no flash, focus stays put).
    setState((previous) => (previous.kind === 'ready' ? previous : { kind: 'loading' }));
    load().then(
      (data) => current && setState({ kind: 'ready', data }),
      (error: unknown) => current && setState({ kind: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [...deps, attempt]);
  return [state, useCallback(() => setAttempt((n) => n + 1), [])];
}

/**
 * A form's action: `run` clears the last error, marks the form busy while the action runs and keeps
 * its failure for an ErrorPanel. What the action shows on success is its own.
 */
export function useAction(): {
  readonly busy: boolean;
  readonly error: unknown;
  readonly run: (action: () => Promise<void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async (action: () => Promise<void>) => {
    setError(undefined);
    setBusy(true);
    try {
      await action();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function ErrorPanel({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const retryable = !(error instanceof ApiError) || error.retryable;
  return (
    <div class="notice error" role="alert">
      <p>{humanMessage(error)}</p>
      {onRetry !== undefined && retryable && (
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Loaded<T>({
  state,
  retry,
  what,
  children,
}: {
  state: Load<T>;
  retry: () => void;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (state.kind === 'loading') return <Loading what={what} />;
  if (state.kind === 'failed') return <ErrorPanel error={state.error} onRetry={retry} />;
  return <>{children(state.data)}</>;
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const exact = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

function relativeTime(iso: string, now = Date.now()): string {
  const delta = Date.parse(iso) - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(delta) >= ms) return relative.format(Math.round(delta / ms), unit);
  }
  return delta >= 0 ? 'in under a minute' : 'just now';
}

/** A date as people read it: relative, with the exact time in a <time> element and its title. */
export function When({ iso, never = 'never' }: { iso: string | null; never?: string }) {
  if (iso === null) return <span>{never}</span>;
  const full = exact.format(new Date(iso));
  return (
    <time dateTime={iso} title={full}>
      {relativeTime(iso)} <span class="muted">({full})</span>
    </time>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}

/** The field an API validation detail names (`allowedIps.1` → `allowedIps`). */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.code !== 'VALIDATION_FAILED') return {};
  const fields: Record<string, string> = {};
  for (const detail of error.details) {
    const field = detail.path.split('.')[0] || '_';
    fields[field] = fields[field] === undefined ? detail.message : `${fields[field]}; ${detail.message}`;
  }
  return fields;
}

/** A labelled one-line text input in the console's field layout; `onValue` gets the text on every input. */
export function TextField({
  id,
  label,
  value,
  onValue,
  ...input
}: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  required?: boolean;
  inputMode?: 'url';
  placeholder?: string;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input {...input} id={id} type="text" value={value} onInput={(e) => onValue(e.currentTarget.value)} />
    </div>
  );
}
