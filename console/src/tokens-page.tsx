import { useEffect, useRef, useState } from 'preact/hooks';
import type { CreatedToken, Token, TokenStatusFilter } from './api';
import { readOnlyReason, useApp } from './context';
import { Dialog } from './dialog';
import { RevealDialog } from './reveal';
import { linkHandler, PATHS } from './router';
import { CreateDialog } from './token-form';
import { ErrorPanel, Loading, StatusBadge, TextField, When } from './ui';

// My tokens (and, for admins, the account's tokens filtered by owner): the list with its status
// filter and "Load more" pagination, the create dialog and its one-time reveal, revoke-all.

const STATUSES: readonly TokenStatusFilter[] = ['all', 'active', 'revoked', 'expired'];
const REVOKE_ALL_PHRASE = 'revoke all my tokens';

interface Page {
  readonly items: Token[];
  readonly nextCursor: string | null;
}

function useTokenPages(owner: string | undefined, status: TokenStatusFilter, reload: number) {
  const { api } = useApp();
  const [page, setPage] = useState<Page>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [pending, setPending] = useState<{ cursor?: string; previous: Token[]; n: number }>({
    previous: [],
    n: 0,
  });
  const first = useRef(true);
  useEffect(() => {
    // A new query starts from its first page (the mount's first page is already pending).
    if (first.current) first.current = false;
    else setPending((current) => ({ previous: [], n: current.n + 1 }));
  }, [owner, status, reload]);
  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(undefined);
    if (pending.cursor === undefined) setPage(undefined);
    api.listTokens({ status, userId: owner, cursor: pending.cursor, limit: '20' }).then(
      (next) => {
        if (!current) return;
        setPage({ items: [...pending.previous, ...next.items], nextCursor: next.nextCursor });
        setLoading(false);
      },
      (failure: unknown) => {
        if (!current) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [pending]);
  const from = (cursor: string | undefined) =>
    setPending((current) => ({ cursor, previous: page?.items ?? [], n: current.n + 1 }));
  return {
    page,
    error,
    loading,
    more: () => from(page?.nextCursor ?? undefined),
    retry: () => setPending((current) => ({ ...current, n: current.n + 1 })),
  };
}

function TokenTable({
  items,
  showOwner,
  onRevoke,
}: {
  items: Token[];
  showOwner: boolean;
  onRevoke: ((token: Token) => void) | undefined;
}) {
  if (items.length === 0) return <p class="muted">No tokens here yet.</p>;
  return (
    <div class="table-wrap">
      <table class="tokens">
        <caption class="visually-hidden">Tokens</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Token</th>
            <th scope="col">Scopes</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">{showOwner ? 'Owner / created by' : 'Created by'}</th>
            {onRevoke !== undefined && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {items.map((token) => (
            <tr key={token.id}>
              <td>
                <a href={PATHS.token(token.id)} onClick={linkHandler(PATHS.token(token.id))}>
                  {token.name}
                </a>
                {token.description !== '' && <div class="muted small">{token.description}</div>}
              </td>
              <td class="mono">{token.hint}</td>
              <td>{token.scopes.join(', ')}</td>
              <td>{token.type}</td>
              <td>
                <StatusBadge status={token.status} />
              </td>
              <td>
                <When iso={token.createdAt} />
              </td>
              <td>
                <When iso={token.expiresAt} />
              </td>
              <td>
                <When iso={token.lastUsedAt} />
              </td>
              <td>{showOwner ? `${token.userId} / ${token.createdBy}` : token.createdBy}</td>
              {onRevoke !== undefined && (
                <td>
                  {token.status === 'active' && (
                    <button type="button" class="danger" onClick={() => onRevoke(token)}>
                      Revoke<span class="visually-hidden"> {token.name}</span>
                    </button>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RevokeDialog({
  token,
  onClose,
  onRevoked,
}: {
  token: Token;
  onClose: () => void;
  onRevoked: () => void;
}) {
  const { api, policy } = useApp();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const revoke = async () => {
    setBusy(true);
    try {
      await api.revokeToken(token.id);
      onRevoked();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={`Revoke "${token.name}"?`}
      onClose={onClose}
      role="alertdialog"
      describedBy="revoke-warning"
    >
      <p id="revoke-warning" class="notice warning">
        Revoking is irreversible: every request with this token ({token.hint}) is refused
        {policy.revocationWindowSeconds > 0
          ? ` within ${policy.revocationWindowSeconds} seconds`
          : ' at once'}
        , and it cannot be turned back on. Create a new token if you need access again.
      </p>
      {error !== undefined && <ErrorPanel error={error} />}
      <div class="actions">
        <button type="button" data-autofocus onClick={onClose}>
          Keep it
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => void revoke()}>
          Revoke token
        </button>
      </div>
    </Dialog>
  );
}

function RevokeAllDialog({
  owner,
  onClose,
  onDone,
}: {
  owner?: string;
  onClose: () => void;
  onDone: (n: number) => void;
}) {
  const { api } = useApp();
  const [typed, setTyped] = useState('');
  const [state, setState] = useState<{ busy: boolean; error?: unknown; progress?: string }>({ busy: false });
  const run = async (event: Event) => {
    event.preventDefault();
    if (typed.trim() !== REVOKE_ALL_PHRASE) return;
    setState({ busy: true });
    try {
      let result = await api.revokeAll(owner);
      // 202: a worker finishes a large account; follow the job.
      while (result.status === 'running') {
        setState({ busy: true, progress: `${result.revoked} revoked so far…` });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        result = await api.revokeAllJob(result.jobId);
      }
      onDone(result.revoked);
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return (
    <Dialog
      title="Revoke all your active tokens?"
      onClose={onClose}
      role="alertdialog"
      describedBy="revoke-all-warning"
    >
      <form onSubmit={(e) => void run(e)}>
        <p id="revoke-all-warning" class="notice warning">
          Every active token you own stops working. This cannot be undone. Type{' '}
          <strong class="mono">{REVOKE_ALL_PHRASE}</strong> to confirm.
        </p>
        <label for="revoke-all-phrase">Confirmation phrase</label>
        <input
          id="revoke-all-phrase"
          type="text"
          autoComplete="off"
          data-autofocus
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        {state.progress !== undefined && <p role="status">{state.progress}</p>}
        {state.error !== undefined && <ErrorPanel error={state.error} />}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={state.busy || typed.trim() !== REVOKE_ALL_PHRASE}>
            Revoke all
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function TokensPage({ scope }: { scope: 'mine' | 'account' }) {
  const { session } = useApp();
  const [status, setStatus] = useState<TokenStatusFilter>('all');
  const [ownerInput, setOwnerInput] = useState('');
  const [owner, setOwner] = useState<string | undefined>(scope === 'account' ? '*' : undefined);
  const [reload, setReload] = useState(0);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedToken>();
  const [revoking, setRevoking] = useState<Token>();
  const [revokingAll, setRevokingAll] = useState(false);
  const [notice, setNotice] = useState<string>();
  const tokens = useTokenPages(scope === 'account' ? owner : undefined, status, reload);
  const readOnly = readOnlyReason(session);
  const title = scope === 'mine' ? 'My tokens' : 'Account tokens';

  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1}>{title}</h1>
        {scope === 'mine' && (
          <div class="row">
            <button
              type="button"
              class="primary"
              disabled={readOnly !== undefined}
              aria-describedby={readOnly ? 'readonly-reason' : undefined}
              onClick={() => setCreating(true)}
            >
              Create token
            </button>
            <button type="button" class="danger" onClick={() => setRevokingAll(true)}>
              Revoke all…
            </button>
          </div>
        )}
      </div>
      {readOnly !== undefined && scope === 'mine' && (
        <p id="readonly-reason" class="notice info">
          {readOnly}
        </p>
      )}
      {notice !== undefined && (
        <p class="notice ok" role="status">
          {notice}
        </p>
      )}
      <div class="filters row">
        <div class="field">
          <label for="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value as TokenStatusFilter)}
          >
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
          </select>
        </div>
        {scope === 'account' && (
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              setOwner(ownerInput.trim() === '' ? '*' : ownerInput.trim());
            }}
          >
            <TextField
              id="owner-filter"
              label="Owner (user id; empty: everyone)"
              value={ownerInput}
              onValue={setOwnerInput}
            />
            <button type="submit">Filter</button>
          </form>
        )}
      </div>
      {tokens.page !== undefined && (
        <TokenTable
          items={tokens.page.items}
          showOwner={scope === 'account'}
          onRevoke={scope === 'account' ? setRevoking : undefined}
        />
      )}
      {tokens.loading && <Loading what="tokens" />}
      {tokens.error !== undefined && <ErrorPanel error={tokens.error} onRetry={tokens.retry} />}
      {tokens.page?.nextCursor != null && !tokens.loading && (
        <button type="button" onClick={tokens.more}>
          Load more
        </button>
      )}
      {creating && (
        <CreateDialog
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setCreated(token);
          }}
        />
      )}
      {created !== undefined && (
        <RevealDialog
          created={created}
          onDone={() => {
            setCreated(undefined);
            setReload((n) => n + 1);
          }}
        />
      )}
      {revoking !== undefined && (
        <RevokeDialog
          token={revoking}
          onClose={() => setRevoking(undefined)}
          onRevoked={() => {
            setNotice(`"${revoking.name}" is revoked.`);
            setRevoking(undefined);
            setReload((n) => n + 1);
          }}
        />
      )}
      {revokingAll && (
        <RevokeAllDialog
          onClose={() => setRevokingAll(false)}
          onDone={(count) => {
            setRevokingAll(false);
            setNotice(`${count} token${count === 1 ? '' : 's'} revoked.`);
            setReload((n) => n + 1);
          }}
        />
      )}
    </>
  );
}
