import { useState } from 'preact/hooks';
import type { LeakReportResult } from './api';
import { useApp } from './context';
import { ErrorPanel, TextField, useAction } from './ui';

// Report a leaked token (POST /leaks, docs/leaks.md): anyone signed in who finds a secret of their
// account in the wild (a repository, a paste, a ticket) pastes it here and it is revoked at once,
// without knowing whose it is or which token id it has. The owner gets the leak email. The secret
// is typed into a password field and the form cleared after the report; the page shows only the
// token id.

export function ReportLeakPage() {
  const { api } = useApp();
  const [secret, setSecret] = useState('');
  const [url, setUrl] = useState('');
  const [source, setSource] = useState('');
  const [result, setResult] = useState<LeakReportResult>();
  const { busy, error, run } = useAction();

  const report = (event: Event) => {
    event.preventDefault();
    setResult(undefined);
    return run(async () => {
      const trimmedUrl = url.trim();
      const trimmedSource = source.trim();
      setResult(
        await api.reportLeak({
          token: secret.trim(),
          ...(trimmedUrl === '' ? {} : { url: trimmedUrl }),
          ...(trimmedSource === '' ? {} : { source: trimmedSource }),
        }),
      );
      // A fresh form for the next report: what was found where belonged to this one.
      setSecret('');
      setUrl('');
      setSource('');
    });
  };

  return (
    <>
      <h1 tabIndex={-1}>Report a leaked token</h1>
      <p class="muted">
        Found a token of your account where it should not be (a repository, a paste, a chat)? Paste it here:
        it is revoked at once, whoever owns it, and its owner gets an email saying where it was found. Then
        remove it from where you found it.
      </p>
      <form onSubmit={(e) => void report(e)}>
        <div class="field">
          <label for="leak-secret">Token secret</label>
          <input
            id="leak-secret"
            type="password"
            autocomplete="off"
            spellcheck={false}
            required
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </div>
        <TextField
          id="leak-url"
          label="Where you found it (optional)"
          inputMode="url"
          placeholder="https://…"
          value={url}
          onValue={setUrl}
        />
        <TextField id="leak-source" label="How you found it (optional)" value={source} onValue={setSource} />
        <button type="submit" class="danger" disabled={busy || secret.trim() === ''}>
          Report and revoke
        </button>
      </form>
      {error !== undefined && <ErrorPanel error={error} />}
      {result !== undefined && (
        <p class="notice ok" role="status">
          {result.outcome === 'revoked'
            ? `Token ${result.tokenId} is revoked. Its owner gets an email.`
            : `Token ${result.tokenId} no longer worked (revoked or expired before): nothing changed.`}
        </p>
      )}
    </>
  );
}
