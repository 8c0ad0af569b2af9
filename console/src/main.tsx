import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AuditPage, UsersPage } from './admin-pages';
import { ApiClient } from './api';
import { type ConsoleConfig, loadConfig } from './config';
import { App } from './context';
import { ReportLeakPage } from './leak-page';
import { navigate, PATHS, usePath } from './router';
import {
  oidcCallback,
  rememberReturnPath,
  type Session,
  signOut,
  storedSession,
  storeSession,
  takeReturnPath,
} from './session';
import { Shell, SignInPage } from './shell';
import { TokenPage } from './token-page';
import { TokensPage } from './tokens-page';
import { ErrorPanel, Loaded, Loading, useLoad } from './ui';
import './styles.css';

function Page({ path }: { path: string }) {
  const pathname = path.split('?')[0] ?? '/';
  const token = /^\/token\/([^/]+)$/.exec(pathname);
  if (token?.[1] !== undefined) return <TokenPage id={decodeURIComponent(token[1])} />;
  if (pathname === PATHS.home) return <TokensPage key="mine" scope="mine" />;
  if (pathname === PATHS.account) return <TokensPage key="account" scope="account" />;
  if (pathname === PATHS.users) return <UsersPage />;
  if (pathname === PATHS.audit) return <AuditPage />;
  if (pathname === PATHS.reportLeak) return <ReportLeakPage />;
  return (
    <>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        <a href={PATHS.home}>Go to my tokens</a>
      </p>
    </>
  );
}

function Callback({ config, onSignedIn }: { config: ConsoleConfig; onSignedIn: (session: Session) => void }) {
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (config.auth.kind !== 'oidc') return navigate(PATHS.home, true);
    oidcCallback(config.auth).then(onSignedIn, setError);
  }, []);
  return (
    <main id="main">
      <h1 tabIndex={-1}>Signing in…</h1>
      {error === undefined ? <Loading what="your session" /> : <ErrorPanel error={error} />}
      {error !== undefined && <a href={PATHS.signIn}>Back to sign-in</a>}
    </main>
  );
}

type EndReason = 'expired' | 'refused' | 'signed out';
const REFUSED_WITHIN_MS = 60_000;

function Console({ config }: { config: ConsoleConfig }) {
  const path = usePath();
  const [session, setSession] = useState<Session | undefined>(storedSession);
  // The session that ended, to fill the sign-in form with who it was.
  const [ended, setEnded] = useState<{ session: Session; why: EndReason }>();
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const end = (reason: 'expired' | 'signed out') => {
    const current = sessionRef.current;
    if (current === undefined) return;
    // A session the API refuses right after sign-in did not expire: the API will not take it (the
    // user's token access is off, or an admin switched it after this sign-in).
    const why: EndReason =
      reason === 'expired' && Date.now() - current.issuedAt < REFUSED_WITHIN_MS ? 'refused' : reason;
    if (why === 'expired') rememberReturnPath(location.pathname + location.search);
    storeSession(undefined);
    sessionRef.current = undefined;
    setSession(undefined);
    setEnded({ session: current, why });
    navigate(PATHS.signIn, true);
  };
  const api = useMemo(
    () =>
      new ApiClient(
        config.apiUrl,
        () => sessionRef.current?.idToken,
        () => end('expired'),
      ),
    [config],
  );
  const signedIn = (next: Session) => {
    storeSession(next);
    setSession(next);
    setEnded(undefined);
    navigate(takeReturnPath(), true);
  };

  // The ID token's own expiry: back to sign-in, then back here.
  useEffect(() => {
    if (session === undefined) return;
    const timer = setTimeout(() => end('expired'), Math.max(0, session.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [session]);

  const onSignIn = path.startsWith(PATHS.signIn);
  useEffect(() => {
    if (session === undefined && !onSignIn && !path.startsWith(PATHS.callback)) {
      rememberReturnPath(path);
      navigate(PATHS.signIn, true);
    } else if (session !== undefined && onSignIn) {
      navigate(takeReturnPath(), true);
    }
  }, [session, path]);

  // After an in-app navigation, focus the new page's heading (screen readers announce it).
  const firstPath = useRef(path);
  useEffect(() => {
    if (path !== firstPath.current) document.querySelector<HTMLElement>('main h1')?.focus();
  }, [path]);

  const [policy, retryPolicy] = useLoad(
    () => (session === undefined ? Promise.resolve(undefined) : api.policy()),
    [session?.idToken],
  );

  if (path.startsWith(PATHS.callback)) return <Callback config={config} onSignedIn={signedIn} />;
  if (session === undefined)
    return <SignInPage config={config} ended={ended?.why} last={ended?.session} onSignedIn={signedIn} />;
  return (
    <Loaded state={policy} retry={retryPolicy} what="the token policy">
      {(loaded) =>
        loaded === undefined ? null : (
          <App.Provider
            value={{
              config,
              session,
              api,
              policy: loaded,
              signOut: () => {
                void signOut(config);
                end('signed out');
              },
            }}
          >
            <Shell path={path}>
              <Page path={path} />
            </Shell>
          </App.Provider>
        )
      }
    </Loaded>
  );
}

function Root() {
  const [config, retry] = useLoad(loadConfig, []);
  return (
    <Loaded state={config} retry={retry} what="the console">
      {(loaded) => <Console config={loaded} />}
    </Loaded>
  );
}

const mount = document.getElementById('app');
if (mount !== null) render(<Root />, mount);
