import { useState } from 'preact/hooks';
import type { CreatedToken } from './api';
import { useApp } from './context';
import { Dialog } from './dialog';

// The one-time reveal: the new secret, masked until "Show", a copy button, a ready curl line for the
// demo API, and no way out (Escape, backdrop, close request) until the user confirms they copied it.
// The secret lives only in the state of whoever rendered this; `onDone` drops it.

export function RevealDialog({ created, onDone }: { created: CreatedToken; onDone: () => void }) {
  const { config } = useApp();
  const [shown, setShown] = useState(false);
  const [copied, setCopied] = useState<'' | 'secret' | 'curl' | 'failed'>('');
  const [confirmed, setConfirmed] = useState(false);
  const area = (created.scopes[0] ?? 'reports:read').split(':')[0] ?? 'reports';
  const demoUrl = config.auth.kind === 'local' ? `${config.apiUrl}/demo/${area}/hello` : `<your API>/${area}`;
  const curl = (secret: string) => `curl -H "authorization: Bearer ${secret}" ${demoUrl}`;
  const masked = `${created.secret.slice(0, 4)}${'•'.repeat(24)}`;

  const copy = async (what: 'secret' | 'curl') => {
    try {
      await navigator.clipboard.writeText(what === 'secret' ? created.secret : curl(created.secret));
      setCopied(what);
    } catch {
      setCopied('failed');
    }
  };

  return (
    <Dialog
      title={`Copy your token "${created.name}" now`}
      onClose={onDone}
      dismissable={false}
      describedBy="reveal-warning"
    >
      <p id="reveal-warning" class="notice warning">
        This is the only time the secret is shown. Store it somewhere safe (a secret manager); if you lose it,
        rotate the token to get a new one.
      </p>
      <label for="reveal-secret">Secret</label>
      <div class="row">
        <input
          id="reveal-secret"
          class="mono grow"
          readOnly
          value={shown ? created.secret : masked}
          aria-describedby="reveal-warning"
          spellcheck={false}
          autoComplete="off"
        />
        <button type="button" aria-pressed={shown} onClick={() => setShown(!shown)}>
          {shown ? 'Hide' : 'Show'}
        </button>
        <button type="button" class="primary" data-autofocus onClick={() => void copy('secret')}>
          Copy secret
        </button>
      </div>
      <p role="status" class="muted">
        {copied === 'secret'
          ? 'Secret copied to the clipboard.'
          : copied === 'curl'
            ? 'curl command copied to the clipboard.'
            : copied === 'failed'
              ? 'The browser refused the clipboard: press Show and copy the text by hand.'
              : ''}
      </p>
      <p>Try it against the demo API:</p>
      <div class="row">
        <code class="mono grow curl">{curl(shown ? created.secret : masked)}</code>
        <button type="button" onClick={() => void copy('curl')}>
          Copy curl
        </button>
      </div>
      <label class="check">
        <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.currentTarget.checked)} />I
        copied the secret and stored it safely
      </label>
      <div class="actions">
        <button type="button" class="primary" disabled={!confirmed} onClick={onDone}>
          Done, hide it for good
        </button>
      </div>
    </Dialog>
  );
}
