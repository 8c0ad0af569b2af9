import { useState } from 'preact/hooks';
import type { ConsoleConfig } from './config';
import { useApp } from './context';
import { linkHandler, PATHS } from './router';
import { localSignIn, oidcSignIn, type Role, type Session } from './session';

// The frame of every signed-in page (skip link, navigation, who is signed in) and the sign-in page.

export function Shell({ path, children }: { path: string; children: preact.ComponentChildren }) {
  const { session, signOut } = useApp();
  const links: [string, string][] = [[PATHS.home, 'My tokens']];
  if (session.role === 'admin') {
    links.push([PATHS.account, 'Account tokens'], [PATHS.users, 'User access'], [PATHS.audit, 'Audit trail']);
  }
  links.push([PATHS.reportLeak, 'Report a leak']);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">API tokens</span>
        <nav aria-label="Console">
          <ul>
            {links.map(([href, label]) => (
              <li key={href}>
                <a href={href} onClick={linkHandler(href)} aria-current={path === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.email} · {session.accountId} · <strong>{session.role}</strong>
          </span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">{children}</main>
    </>
  );
}

const ROLE_HELP: Readonly<Record<Role, string>> = {
  admin: 'admin: everything, for the whole account',
  member: 'member: create and manage your own tokens',
  viewer: 'viewer: read-only',
};

export function SignInPage({
  config,
  ended,
  last,
  onSignedIn,
}: {
  config: ConsoleConfig;
  /** Why the last session ended, if one did. */
  ended: 'expired' | 'refused' | 'signed out' | undefined;
  /** The session that just ended: the form starts with who it was. */
  last: Session | undefined;
  onSignedIn: (session: Session) => void;
}) {
  const [email, setEmail] = useState(last?.email ?? 'dev@example.com');
  const [accountId, setAccountId] = useState(last?.accountId ?? 'acme');
  const [role, setRole] = useState<Role>(last?.role ?? 'member');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const auth = config.auth;

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (auth.kind === 'oidc') await oidcSignIn(auth);
      else onSignedIn(await localSignIn(config, { email: email.trim(), accountId: accountId.trim(), role }));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1 tabIndex={-1}>Sign in to API tokens</h1>
      {ended === 'expired' && (
        <p class="notice info" role="status">
          Your session ended. Sign in again to go back where you were.
        </p>
      )}
      {ended === 'refused' && (
        <p class="notice error" role="alert">
          The API refused your session. Your token access may be switched off by an administrator: while it is
          off you cannot use the console and your tokens do not work. Ask an admin of your account to turn it
          back on.
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        {auth.kind === 'local' ? (
          <>
            <p class="notice warning">
              <strong>Local development only.</strong> This form signs you in with the dev identity provider
              of <code>npm start</code>: anyone can be anyone. A deployed console signs in with your identity
              provider.
            </p>
            <div class="field">
              <label for="signin-email">Email</label>
              <input
                id="signin-email"
                type="email"
                autoComplete="email"
                required
                value={email}
                onInput={(e) => setEmail(e.currentTarget.value)}
              />
            </div>
            <div class="field">
              <label for="signin-account">Account</label>
              <input
                id="signin-account"
                type="text"
                required
                value={accountId}
                onInput={(e) => setAccountId(e.currentTarget.value)}
              />
            </div>
            <fieldset>
              <legend>Role</legend>
              {(Object.keys(ROLE_HELP) as Role[]).map((value) => (
                <label class="check" key={value}>
                  <input
                    type="radio"
                    name="role"
                    value={value}
                    checked={role === value}
                    onChange={() => setRole(value)}
                  />
                  {ROLE_HELP[value]}
                </label>
              ))}
            </fieldset>
          </>
        ) : (
          <p>You sign in with your organisation's account; you come back here afterwards.</p>
        )}
        {error !== undefined && (
          <p class="notice error" role="alert">
            Sign-in failed: {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}
