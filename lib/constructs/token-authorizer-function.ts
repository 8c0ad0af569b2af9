import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { PolicySettings } from '../../lambdas/core/settings.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { declareTokenAuthorizerSettings } from '../token-authorizer.js';
import type { DecryptHmacKey } from './hmac-key.js';
import { ServiceFunction } from './service-function.js';
import type { VerifyTable } from './token-table.js';

interface TokenAuthorizerFunctionProps {
  /** The home table, or in an edge stack the Region's replica (README "Several Regions"). */
  readonly table: VerifyTable;
  /** The HMAC key, or in an edge stack its Region's replica key. */
  readonly hmacKey: DecryptHmacKey;
  /** The policy in force (POLICY_SETTINGS); a TokenAuthorizer given this function takes its cache TTL from it. */
  readonly policy: PolicySettings;
  /**
   * Accounts whose API Gateway APIs may invoke the function as an authorizer (by ARN).
   * @default none beyond what a TokenAuthorizer of this app grants
   */
  readonly invokerAccounts?: readonly string[];
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The token authorizer function: one strongly consistent GetItem on the base table (credential
 * items), kms:Decrypt of the HMAC key under its encryption context, and UpdateItem of token items'
 * lastUsedAt only; its settings declared for the TokenAuthorizer construct (lib/token-authorizer.ts)
 * and, for APIs in other accounts, the permission to invoke it.
 */
export class TokenAuthorizerFunction extends ServiceFunction {
  constructor(scope: Construct, id: string, props: TokenAuthorizerFunctionProps) {
    super(scope, id, {
      entry: FUNCTION_ENTRIES.tokenAuthorizer,
      description: 'Access Tokens: API Gateway authorizer for API access tokens',
      memorySize: 512,
      logRetention: props.logRetention,
      // Only the credential sources a Lambda function has: a smaller bundle, a faster cold start.
      lambdaCredentialsOnly: true,
      environment: {
        [ENV.policySettings]: JSON.stringify(props.policy),
        // Fallback only: an API names its base path in the `accessTokensBasePath` stage variable.
        [ENV.authorizerBasePath]: '',
      },
    });
    props.table.bindVerify(this);
    props.hmacKey.bindDecrypt(this);
    // A TokenAuthorizer given this function takes its default cache TTL from these settings.
    declareTokenAuthorizerSettings(this.function, props.policy);
    // APIs in other accounts attach the authorizer by ARN; only this (the function's) account can
    // let their API Gateway invoke it. Authorizer invocations only (`.../authorizers/*`) of APIs in
    // this stack's region (an authorizer calls a function of its own region): an integration of
    // theirs cannot call it. The region is named, not `*`: AWS::Lambda::Permission's SourceArn
    // pattern does not accept a wildcard region, and the deployment would fail.
    for (const account of props.invokerAccounts ?? []) {
      this.function.addPermission(`InvokeFromAccount${account}`, {
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceAccount: account,
        sourceArn: `arn:${Aws.PARTITION}:execute-api:${Aws.REGION}:${account}:*/authorizers/*`,
      });
    }
  }
}
