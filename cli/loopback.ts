// The loopback redirect of `access-tokens login` (RFC 8252 §7.3, as `gh` and `aws sso login` do it).
//
// Amazon Cognito accepts plain http only for `http://localhost` ("for testing purposes only" in its
// CallbackURLs documentation) and matches the redirect_uri exactly, port included: it has no
// any-port loopback rule. So for a Cognito user pool the app client registers a few fixed ports
// (lib/constructs/identity.ts) and the CLI listens on the first free one of them; for other OIDC
// issuers, which follow RFC 8252, it uses `http://127.0.0.1:<random port>/callback`.
// No dependencies here: the CDK construct imports it.

export const CLI_CALLBACK_PATH = '/callback';
export const COGNITO_LOOPBACK_PORTS = [53682, 53683, 53684] as const;

export function cognitoLoopbackCallbackUrls(): string[] {
  return COGNITO_LOOPBACK_PORTS.map((port) => `http://localhost:${port}${CLI_CALLBACK_PATH}`);
}
