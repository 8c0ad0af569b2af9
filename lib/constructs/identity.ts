import { Aws, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { cognitoLoopbackCallbackUrls } from '../../cli/loopback.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { type IdentityConfig, jwksUriOf } from '../config.js';
import { CONSOLE_CALLBACK_PATH, type ConsoleConfigFile, originOf } from './console-hosting.js';

interface JwtClaimNames {
  readonly accountId: string;
  readonly role: string;
  readonly email: string;
}

interface ManagementIdentityProps {
  /** Where the management API's callers come from: a user pool of this stack, or an OIDC issuer. */
  readonly identity: IdentityConfig;
  /** The JWT claims that carry the caller's account, role and email. */
  readonly claims: JwtClaimNames;
  /**
   * What happens to the user pool when it leaves the stack.
   * @default RemovalPolicy.RETAIN (it holds the users)
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The web console signs in here (lib/constructs/console-hosting.ts). Cognito: the app client gets
   * the authorization code flow (PKCE, no secret) with the console's callback and sign-out URLs, and
   * the pool a managed-login domain. OIDC: the console uses the issuer, with the audience as its
   * client id.
   * @default - no console
   */
  readonly console?: ConsoleSignInProps;
}

interface ConsoleSignInProps {
  /** The console's URL, `https://<domain>` without a trailing slash. */
  readonly url: string;
  /** The Cognito prefix domain of the managed login pages (`<prefix>.auth.<region>.amazoncognito.com`). */
  readonly domainPrefix: string;
}

/** The scopes the console asks for: the ID token then carries the email and the custom attributes. */
const CONSOLE_OAUTH_SCOPES = ['openid', 'email', 'profile'] as const;

/**
 * Who may call the management API, and how the JWT authorizer recognises them.
 *
 * Cognito (default): a user pool without self sign-up (admins create users), custom attributes
 * `account_id` and `role`, a strong password policy and TOTP MFA. The API accepts the pool's **ID
 * tokens**: Cognito puts custom attributes only in ID tokens (access tokens would need a
 * pre-token-generation trigger). OIDC: an existing issuer from context; no user pool.
 */
export class ManagementIdentity extends Construct {
  public readonly userPool: cognito.UserPool | undefined;
  public readonly userPoolClient: cognito.UserPoolClient | undefined;
  /** The JWT_* environment of the JWT authorizer. */
  public readonly jwtEnvironment: Readonly<Record<string, string>>;
  /** Cognito with a console: the managed-login domain the console signs in through. */
  public readonly managedLoginDomain: cognito.UserPoolDomain | undefined;
  /** With a console: how it signs in (its `config.json` `auth`). */
  public readonly consoleAuth: ConsoleConfigFile['auth'] | undefined;
  /** With a console: the identity provider's origins the console's pages fetch from (CSP connect-src). */
  public readonly consoleConnectOrigins: readonly string[];

  constructor(scope: Construct, id: string, props: ManagementIdentityProps) {
    super(scope, id);
    const claimEnvironment = {
      [ENV.jwtClaimAccountId]: props.claims.accountId,
      [ENV.jwtClaimRole]: props.claims.role,
      [ENV.jwtClaimEmail]: props.claims.email,
    };

    if (props.identity.kind === 'oidc') {
      this.userPool = undefined;
      this.userPoolClient = undefined;
      this.managedLoginDomain = undefined;
      // The console signs in at the issuer with the audience as its client id; the operator registers
      // `<ConsoleUrl>/callback` there (README "Console").
      this.consoleAuth =
        props.console === undefined
          ? undefined
          : {
              kind: 'oidc',
              authority: props.identity.issuer,
              clientId: props.identity.audience,
              scope: CONSOLE_OAUTH_SCOPES.join(' '),
            };
      this.consoleConnectOrigins =
        props.console === undefined
          ? []
          : [...new Set([originOf(props.identity.issuer), originOf(jwksUriOf(props.identity))])];
      this.jwtEnvironment = {
        [ENV.jwtIssuer]: props.identity.issuer,
        [ENV.jwtAudience]: props.identity.audience,
        [ENV.jwtJwksUri]: jwksUriOf(props.identity),
        ...claimEnvironment,
      };
      return;
    }

    const userPool = new cognito.UserPool(this, 'UserPool', {
      // Admins create users (AdminCreateUser) and set their account and role.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        account_id: new cognito.StringAttribute({ minLen: 1, maxLen: 128, mutable: true }),
        role: new cognito.StringAttribute({ minLen: 1, maxLen: 16, mutable: true }),
      },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // Whoever signs in here can mint API credentials: a second factor is required (TOTP; no SMS,
      // which would need an SNS role and costs money).
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(userPool).acknowledge({
      id: 'AwsSolutions-COG8',
      reason:
        'The Plus feature plan (threat protection) is billed per monthly active user at several times the Essentials price; a self-hosted deployment can switch featurePlan to PLUS. Sign-in is already protected by required MFA, a 14-character password policy and admin-only user creation.',
    });

    const consoleUrl = props.console?.url;
    const userPoolClient = userPool.addClient('ConsoleClient', {
      generateSecret: false,
      // SRP only: the password never leaves the browser; no USER_PASSWORD_AUTH.
      authFlows: { userSrp: true },
      // With the console: the authorization code flow of a public client (no secret), which Cognito
      // runs with PKCE when the client sends a code challenge (the console always does); no implicit
      // flow (tokens in the URL). Without it, no OAuth at all, as before.
      ...(consoleUrl === undefined
        ? { disableOAuth: true }
        : {
            oAuth: {
              flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
              scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
              // The console's callback, and the CLI's loopback ones (`access-tokens login`, cli/loopback.ts):
              // Cognito allows plain http only for localhost and matches the port exactly, so a few fixed
              // ports. Same client: the JWT authorizer accepts one audience, this client's id.
              callbackUrls: [`${consoleUrl}${CONSOLE_CALLBACK_PATH}`, ...cognitoLoopbackCallbackUrls()],
              logoutUrls: [`${consoleUrl}/`],
            },
            supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
          }),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.minutes(60),
      accessTokenValidity: Duration.minutes(60),
      refreshTokenValidity: Duration.days(1),
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes('account_id', 'role'),
      // SECURITY: the client must NOT be able to write custom:account_id or custom:role. Whatever the
      // client may write, a signed-in user may change about themself with UpdateUserAttributes and
      // their own access token: with `role` writable a member could make themself admin, with
      // `account_id` writable they could join another account. Only admins (AdminUpdateUserAttributes,
      // with IAM credentials) set them. Email is not writable either: it is where token notifications go.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ fullname: true }),
    });

    this.userPool = userPool;
    this.userPoolClient = userPoolClient;
    if (props.console === undefined || consoleUrl === undefined) {
      this.managedLoginDomain = undefined;
      this.consoleAuth = undefined;
      this.consoleConnectOrigins = [];
    } else {
      // Managed login (version 2) needs a style per app client: Cognito's own look.
      const domain = userPool.addDomain('ManagedLoginDomain', {
        cognitoDomain: { domainPrefix: props.console.domainPrefix },
        managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
      });
      new cognito.CfnManagedLoginBranding(this, 'ManagedLoginBranding', {
        userPoolId: userPool.userPoolId,
        clientId: userPoolClient.userPoolClientId,
        useCognitoProvidedValues: true,
      });
      const issuer = `https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}/${userPool.userPoolId}`;
      this.managedLoginDomain = domain;
      this.consoleAuth = {
        kind: 'oidc',
        authority: issuer,
        clientId: userPoolClient.userPoolClientId,
        scope: CONSOLE_OAUTH_SCOPES.join(' '),
        signOutUrl: `${domain.baseUrl()}/logout?client_id=${userPoolClient.userPoolClientId}&logout_uri=${consoleUrl}/`,
      };
      // Discovery and keys (cognito-idp), the token endpoint (the managed-login domain).
      this.consoleConnectOrigins = [`https://cognito-idp.${Aws.REGION}.${Aws.URL_SUFFIX}`, domain.baseUrl()];
    }
    this.jwtEnvironment = {
      [ENV.jwtCognitoUserPoolId]: userPool.userPoolId,
      [ENV.jwtAudience]: userPoolClient.userPoolClientId,
      [ENV.jwtTokenUse]: 'id',
      ...claimEnvironment,
    };
  }
}
