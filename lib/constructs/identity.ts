import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ENV } from '../../lambdas/runtime/env.js';
import { type IdentityConfig, jwksUriOf } from '../config.js';

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
}

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

    const userPoolClient = userPool.addClient('ConsoleClient', {
      generateSecret: false,
      // SRP only: the password never leaves the browser; no USER_PASSWORD_AUTH.
      authFlows: { userSrp: true },
      disableOAuth: true,
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
    this.jwtEnvironment = {
      [ENV.jwtCognitoUserPoolId]: userPool.userPoolId,
      [ENV.jwtAudience]: userPoolClient.userPoolClientId,
      [ENV.jwtTokenUse]: 'id',
      ...claimEnvironment,
    };
  }
}
