import { useEffect, useState } from 'preact/hooks';

// A dozen lines of history routing instead of a router package: the console has a few paths. None of
// them is a management API path (lambdas/contract/routes.ts: /tokens, /policy, /audit-events,
// /users, /revoke-all-jobs, /leaks, /openapi.json), so a reload of any console page reaches the app.
export const PATHS = {
  home: '/',
  token: (id: string) => `/token/${encodeURIComponent(id)}`,
  account: '/admin/tokens',
  audit: '/admin/audit',
  users: '/admin/users',
  reportLeak: '/report-leak',
  signIn: '/sign-in',
  callback: '/callback',
} as const;

const NAVIGATE = 'atk:navigate';

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return path;
}

/** An in-app link: a real <a href> (open in new tab works), navigated without a reload on a plain click. */
export function linkHandler(path: string) {
  return (event: MouseEvent) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(path);
  };
}
