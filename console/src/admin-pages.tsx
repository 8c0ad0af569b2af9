import { useEffect, useState } from 'preact/hooks';
import type { AuditEvent, TokenAccess } from './api';
import { useApp } from './context';
import { AuditList } from './token-page';
import { ErrorPanel, Loading, useAction, When } from './ui';

// Admin views: a user's token access (on/off, with what it does), and the account's audit trail
// with filters. The account's tokens are TokensPage with scope 'account'.

export function UsersPage() {
  const { api, session } = useApp();
  const [userId, setUserId] = useState('');
  const [access, setAccess] = useState<TokenAccess>();
  const { busy, error, run } = useAction();
  const [notice, setNotice] = useState<string>();
  const admin = session.role === 'admin';

  const look = (event: Event) => {
    event.preventDefault();
    setNotice(undefined);
    return run(async () => {
      try {
        setAccess(await api.tokenAccess(userId.trim()));
      } catch (failure) {
        // No answer: not the last user's access either.
        setAccess(undefined);
        throw failure;
      }
    });
  };
  const toggle = (current: TokenAccess) =>
    run(async () => {
      const next = await api.setTokenAccess(current.userId, !current.enabled);
      setAccess(next);
      setNotice(
        `${next.userId}'s token access is now ${next.enabled ? 'on' : 'off'} (${next.tokensAffected} token${next.tokensAffected === 1 ? '' : 's'} affected).`,
      );
    });

  return (
    <>
      <h1 tabIndex={-1}>User token access</h1>
      <p class="muted">
        Turning a user's token access off makes every one of their tokens fail at the gateway (within the
        revocation window) and stops them creating new ones. Nothing is revoked: turning it back on restores
        the tokens that have not expired.
      </p>
      <form class="row" onSubmit={(e) => void look(e)}>
        <div class="field">
          <label for="access-user">User id</label>
          <input
            id="access-user"
            type="text"
            required
            value={userId}
            onInput={(e) => setUserId(e.currentTarget.value)}
          />
        </div>
        <button type="submit" disabled={busy || userId.trim() === ''}>
          Look up
        </button>
      </form>
      {error !== undefined && <ErrorPanel error={error} />}
      {notice !== undefined && (
        <p class="notice ok" role="status">
          {notice}
        </p>
      )}
      {access !== undefined && (
        <section aria-labelledby="access-heading">
          <h2 id="access-heading">{access.userId}</h2>
          <p>
            Token access is <strong>{access.enabled ? 'on' : 'off'}</strong>
            {access.updatedAt !== null && (
              <>
                {' '}
                (changed <When iso={access.updatedAt} /> by {access.updatedBy ?? '?'})
              </>
            )}
            .
          </p>
          {admin ? (
            <button
              type="button"
              class={access.enabled ? 'danger' : 'primary'}
              disabled={busy}
              onClick={() => void toggle(access)}
            >
              {access.enabled ? 'Turn token access off' : 'Turn token access on'}
            </button>
          ) : (
            <p class="notice info">Only admins can change a user's token access.</p>
          )}
        </section>
      )}
    </>
  );
}

export function AuditPage() {
  const { api } = useApp();
  const [filters, setFilters] = useState({ tokenId: '', userId: '', action: '' });
  const [form, setForm] = useState(filters);
  const [events, setEvents] = useState<AuditEvent[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);

  const load = async (query: typeof filters, from: string | undefined, previous: AuditEvent[]) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await api.auditEvents({
        tokenId: query.tokenId.trim() || undefined,
        userId: query.userId.trim() || undefined,
        cursor: from,
        limit: '50',
      });
      setEvents([...previous, ...page.items]);
      setCursor(page.nextCursor);
    } catch (failure) {
      setError(failure);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load(filters, undefined, []);
  }, [filters]);
  const shown = events?.filter((event) => filters.action === '' || event.action === filters.action);
  const actions = [...new Set((events ?? []).map((event) => event.action))].sort();

  return (
    <>
      <h1 tabIndex={-1}>Account audit trail</h1>
      <form
        class="filters row"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters({ ...form });
        }}
      >
        <div class="field">
          <label for="audit-user">User id</label>
          <input
            id="audit-user"
            type="text"
            value={form.userId}
            onInput={(e) => setForm({ ...form, userId: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="audit-token">Token id</label>
          <input
            id="audit-token"
            type="text"
            value={form.tokenId}
            onInput={(e) => setForm({ ...form, tokenId: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <select
            id="audit-action"
            value={form.action}
            onChange={(e) => setForm({ ...form, action: e.currentTarget.value })}
          >
            <option value="">any</option>
            {actions.map((action) => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Apply filters</button>
      </form>
      {error !== undefined && (
        <ErrorPanel error={error} onRetry={() => void load(filters, cursor ?? undefined, events ?? [])} />
      )}
      {shown !== undefined && <AuditList events={shown} showToken />}
      {loading && <Loading what="events" />}
      {cursor !== null && !loading && (
        <button type="button" onClick={() => void load(filters, cursor, events ?? [])}>
          Load more
        </button>
      )}
    </>
  );
}
