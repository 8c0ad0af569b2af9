// Exit codes, as `gh` has them: 0 ok, 1 error, 2 usage (bad flags or arguments), 4 not signed in
// (no credentials, an expired session, or a 401 from the API).

export const EXIT = { ok: 0, error: 1, usage: 2, signedOut: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.error,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const SIGN_IN_HINT = 'run `access-tokens login` to sign in';

export class NotSignedInError extends CliError {
  constructor(reason: string) {
    super(`${reason}: ${SIGN_IN_HINT}`, EXIT.signedOut);
    this.name = 'NotSignedInError';
  }
}

/** An error answer of the API: its status, and its `{error: {code, message, details}}` body. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly apiMessage: string,
    readonly details: readonly { readonly path: string; readonly message: string }[] = [],
  ) {
    const detailText = details.map((detail) => `\n  ${detail.path || '(input)'}: ${detail.message}`).join('');
    super(`${code}: ${apiMessage}${detailText}`, EXIT.error);
    this.name = 'ApiError';
  }
}
