import { useState } from 'preact/hooks';
import type { AuditEvent, CreatedToken, TokenDetail } from './api';
import { readOnlyReason, useApp } from './context';
import { limitRows } from './limits';
import { RevealDialog } from './reveal';
import { linkHandler, PATHS } from './router';
import { EditForm } from './token-form';
import { RevokeDialog } from './tokens-page';
import { ErrorPanel, Loaded, StatusBadge, useLoad, When } from './ui';

// One token: its fields, its audit trail, and (while active, for writers) edit, rotate with a grace
// period and the one-time reveal, revoke behind its dialog. Revoked and expired tokens are read-only.

const GRACE_CHOICES = [
  { seconds: 0, label: 'none: the old secret stops now' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
] as const;

function describeEvent(event: AuditEvent): string {
  const changes = event.changes.map(
    (change) => `${change.field}: ${String(change.from)} → ${String(change.to)}`,
  );
  const details = Object.entries(event.details).map(([key, value]) => `${key}: ${String(value)}`);
  return [...changes, ...details].join('; ');
}

export function AuditList({ events, showToken }: { events: AuditEvent[]; showToken: boolean }) {
  if (events.length === 0) return <p class="muted">No events.</p>;
  return (
    <ol class="audit">
      {events.map((event) => (
        <li key={event.id}>
          <strong>{event.action}</strong> <When iso={event.at} /> by{' '}
          {event.actor.userId === null ? 'the system' : `${event.actor.userId} (${event.actor.role ?? '?'})`}
          {event.actor.sourceIp !== null && <span class="muted"> from {event.actor.sourceIp}</span>}
          {showToken && event.tokenId !== null && (
            <>
              {' '}
              on{' '}
              <a href={PATHS.token(event.tokenId)} onClick={linkHandler(PATHS.token(event.tokenId))}>
                {event.tokenName ?? event.tokenId}
              </a>
            </>
          )}
          {(event.changes.length > 0 || Object.keys(event.details).length > 0) && (
            <div class="muted small">{describeEvent(event)}</div>
          )}
        </li>
      ))}
    </ol>
  );
}

function Details({ token }: { token: TokenDetail }) {
  const rows: [string, preact.ComponentChildren][] = [
    ['Token', <span class="mono">{token.hint}</span>],
    ['Status', <StatusBadge status={token.status} />],
    ['Description', token.description === '' ? '—' : token.description],
    ['Scopes', token.scopes.join(', ')],
    ['Type', token.type],
    ['IP allowlist', token.allowedIps.length === 0 ? 'any address' : token.allowedIps.join(', ')],
    ...limitRows(token),
    ['Created', <When iso={token.createdAt} />],
    ['Expires', <When iso={token.expiresAt} />],
    ['Last used', <When iso={token.lastUsedAt} />],
    ['Rotated', <When iso={token.rotatedAt} never="never rotated" />],
    ['Owner', token.userId],
    ['Created by', token.createdBy],
  ];
  return (
    <dl class="details">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function TokenPage({ id }: { id: string }) {
  const { api, session } = useApp();
  const [version, setVersion] = useState(0);
  const [token, retryToken] = useLoad(() => api.getToken(id), [id, version]);
  const [audit, retryAudit] = useLoad(() => api.auditEvents({ tokenId: id }), [id, version]);
  const [grace, setGrace] = useState(0);
  const [rotated, setRotated] = useState<CreatedToken>();
  const [rotateError, setRotateError] = useState<unknown>();
  const [revoking, setRevoking] = useState(false);
  const readOnly = readOnlyReason(session);

  const rotate = async (current: TokenDetail) => {
    setRotateError(undefined);
    try {
      setRotated(await api.rotateToken(current.id, { gracePeriodSeconds: grace }));
    } catch (error) {
      setRotateError(error);
    }
  };

  const current = token.kind === 'ready' ? token.data : undefined;
  const editable = current?.status === 'active' && readOnly === undefined;
  // One flat list of siblings, each present or not: the edit form keeps its place (and its state,
  // the "Saved" message) when the token reloads after a change.
  return (
    <>
      <p>
        <a href={PATHS.home} onClick={linkHandler(PATHS.home)}>
          ← My tokens
        </a>
      </p>
      {current === undefined && (
        <Loaded state={token} retry={retryToken} what="the token">
          {() => null}
        </Loaded>
      )}
      {current !== undefined && <h1 tabIndex={-1}>{current.name}</h1>}
      {current !== undefined && <Details token={current} />}
      {current !== undefined && current.status !== 'active' && (
        <p class="notice info">This token is {current.status}: it is read-only.</p>
      )}
      {current?.status === 'active' && readOnly !== undefined && <p class="notice info">{readOnly}</p>}
      {current !== undefined && editable && (
        <EditForm key={current.id} token={current} onSaved={() => setVersion((n) => n + 1)} />
      )}
      {current !== undefined && editable && (
        <section aria-labelledby="rotate-heading">
          <h2 id="rotate-heading">Rotate</h2>
          <p class="muted">A new secret for the same token; its settings stay.</p>
          <div class="row">
            <div class="field">
              <label for="grace">Old secret keeps working for</label>
              <select id="grace" value={grace} onChange={(e) => setGrace(Number(e.currentTarget.value))}>
                {GRACE_CHOICES.map((choice) => (
                  <option key={choice.seconds} value={choice.seconds}>
                    {choice.label}
                  </option>
                ))}
              </select>
            </div>
            <button type="button" onClick={() => void rotate(current)}>
              Rotate secret
            </button>
          </div>
          {rotateError !== undefined && <ErrorPanel error={rotateError} />}
        </section>
      )}
      {current?.status === 'active' && (
        <section aria-labelledby="revoke-heading">
          <h2 id="revoke-heading">Revoke</h2>
          <button type="button" class="danger" onClick={() => setRevoking(true)}>
            Revoke token…
          </button>
        </section>
      )}
      {current !== undefined && revoking && (
        <RevokeDialog
          token={current}
          onClose={() => setRevoking(false)}
          onRevoked={() => {
            setRevoking(false);
            setVersion((n) => n + 1);
          }}
        />
      )}
      {rotated !== undefined && (
        <RevealDialog
          created={rotated}
          onDone={() => {
            setRotated(undefined);
            setVersion((n) => n + 1);
          }}
        />
      )}
      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit trail</h2>
        <Loaded state={audit} retry={retryAudit} what="the audit trail">
          {(page) => <AuditList events={page.items} showToken={false} />}
        </Loaded>
      </section>
    </>
  );
}
