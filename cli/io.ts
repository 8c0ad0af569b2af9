// What the CLI touches outside itself, injected so that the unit tests run it in-process: the
// environment, the two output streams, stdin, fetch, the clock, and the browser.

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  /** Writes to stdout (the caller adds no newline; each call is one complete piece of output). */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** All of stdin as text. */
  readonly readStdin: () => Promise<string>;
  readonly stdinIsTty: boolean;
  readonly fetch: typeof fetch;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Opens a URL in the user's browser; false when it could not. */
  readonly openUrl: (url: string) => Promise<boolean>;
}
