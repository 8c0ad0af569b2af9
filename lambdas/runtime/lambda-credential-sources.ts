// What the AWS SDK's default credential chain (@aws-sdk/credential-provider-node) finds in place of
// the credential sources a Lambda function never has, in the bundles that opt out of them
// (lib/service-function.ts, `lambdaCredentialsOnly`): SSO sessions, shared config and credentials
// files, `credential_process` commands and web identity token files. The chain imports each of
// those packages only after the environment variables Lambda sets (AWS_ACCESS_KEY_ID and friends)
// have failed to give credentials, which does not happen in Lambda; but the bundler cannot know,
// and the four packages and the STS, SSO and sign-in clients they use are a third of the token
// authorizer's bundle (docs/performance.md). Each source here is "not available": the chain moves
// on to the next one (container or instance metadata, still bundled), exactly as it does when a
// real one finds no configuration. Written by hand: the SDK offers no build without them.

/** A provider that never has credentials: the chain tries its next link. */
function unavailable(source: string) {
  return () => async (): Promise<never> => {
    throw Object.assign(new Error(`${source} credentials are not bundled in this Lambda function`), {
      name: 'CredentialsProviderError',
      tryNextLink: true,
    });
  };
}

/** @aws-sdk/credential-provider-sso */
export const fromSSO = unavailable('SSO');
/** @aws-sdk/credential-provider-ini */
export const fromIni = unavailable('Shared config file');
/** @aws-sdk/credential-provider-process */
export const fromProcess = unavailable('credential_process');
/** @aws-sdk/credential-provider-web-identity */
export const fromTokenFile = unavailable('Web identity token file');
