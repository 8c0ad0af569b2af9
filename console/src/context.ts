import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ApiClient, Policy } from './api';
import type { ConsoleConfig } from './config';
import type { Session } from './session';

interface AppContext {
  readonly config: ConsoleConfig;
  readonly session: Session;
  readonly api: ApiClient;
  readonly policy: Policy;
  signOut(): void;
}

export const App = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const app = useContext(App);
  if (app === null) throw new Error('useApp outside the signed-in app');
  return app;
}

/** Why the signed-in user cannot change tokens, or undefined when they can. */
export function readOnlyReason(session: Session): string | undefined {
  return session.role === 'viewer'
    ? 'Your role is viewer: you can see tokens and revoke your own, but not create or change them.'
    : undefined;
}
