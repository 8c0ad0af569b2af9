import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { CURRENT_HMAC_KEY_VERSION, HMAC_KEY_PURPOSE } from '../lambdas/core/key-context.js';
import {
  CIPHERTEXT_ATTRIBUTE,
  HMAC_KEY_RESOURCE_TYPE,
  type HmacKeyResourceProperties,
} from '../lambdas/hmac-key-resource/contract.js';
import { FUNCTION_ENTRIES } from '../lambdas/routes.js';
import { ENV } from '../lambdas/runtime/env.js';
import { logicalIdOf } from './logical-id.js';
import { ServiceFunction } from './service-function.js';

export interface HmacKeyProps {
  /**
   * The HMAC key's version (part of the encryption context). Changing it generates a new key, and
   * tokens hashed under the old version stop verifying.
   * @default CURRENT_HMAC_KEY_VERSION from lambdas/core/key-context.ts
   */
  readonly version?: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The KMS key (rotation on, retained) and the envelope-encrypted 256-bit HMAC key, made at deploy by
 * our own custom resource (lambdas/hmac-key-resource) through the CDK Provider framework.
 *
 * Not `AwsCustomResource`: its handler UTF-8-decodes binary response fields, which would corrupt the
 * ciphertext. The ciphertext is the same across stack updates for the same key and version (the
 * handler keeps it in the physical id): a new one would break every issued token. Replacing the KMS
 * key itself (a new logical id) has the same effect, hence RETAIN.
 */
export class HmacKey extends Construct {
  public readonly key: kms.Key;
  public readonly version: string;
  /** The base64 ciphertext of the HMAC key (a CloudFormation token). */
  public readonly ciphertext: string;
  public readonly resourceFunction: ServiceFunction;
  public readonly provider: cr.Provider;
  public readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: HmacKeyProps = {}) {
    super(scope, id);
    this.version = props.version ?? CURRENT_HMAC_KEY_VERSION;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    this.key = new kms.Key(this, 'Key', {
      description: `Access Tokens: encrypts the HMAC key that hashes API tokens (${HMAC_KEY_PURPOSE})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.resourceFunction = new ServiceFunction(this, 'ResourceHandler', {
      entry: FUNCTION_ENTRIES.hmacKeyResource,
      description: 'Access Tokens: generates the KMS-encrypted HMAC key at deploy time',
      logRetention,
      timeout: Duration.seconds(30),
    });
    this.resourceFunction.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'GenerateHmacKeyCiphertext',
        actions: ['kms:GenerateDataKeyWithoutPlaintext'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: this.encryptionContextConditions() },
      }),
    );

    // The framework function gets its own role (no AWS managed policy) and log group.
    const frameworkLogGroup = new logs.LogGroup(this, 'ProviderLogGroup', { retention: logRetention });
    const frameworkRole = new iam.Role(this, 'ProviderRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Access Tokens: CDK custom resource provider framework for the HMAC key',
    });
    frameworkRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [frameworkLogGroup.logGroupArn],
      }),
    );
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.resourceFunction.function,
      frameworkOnEventRole: frameworkRole,
      logGroup: frameworkLogGroup,
    });
    Validations.of(frameworkRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.resourceFunction.function)}.Arn>:*]`,
      reason:
        'The CDK Provider framework grants lambda:InvokeFunction on the onEvent handler and its versions/aliases (`<arn>:*`); it is scoped to that one function.',
    });
    const frameworkFunction = this.provider.node.findChild('framework-onEvent');
    for (const [id, reason] of [
      [
        'Serverless-LambdaDLQ',
        'The CDK Provider framework function is invoked synchronously by CloudFormation for this one custom resource; a failure fails the deployment, which is the signal, so there is nothing for a DLQ to keep.',
      ],
      [
        'Serverless-LambdaTracing',
        'The CDK Provider framework function runs only during deployments, once per change of the HMAC key resource; CloudFormation events and its log group say what happened, tracing adds nothing.',
      ],
      [
        'Serverless-LambdaDefaultMemorySize',
        'The CDK Provider framework function only relays a CloudFormation event to our handler and back; its memory size is set by aws-cdk-lib and 128 MB is ample for that.',
      ],
    ] as const) {
      Validations.of(frameworkFunction).acknowledge({ id, reason });
    }

    const properties: HmacKeyResourceProperties = { KeyId: this.key.keyArn, KeyVersion: this.version };
    this.resource = new CustomResource(this, 'Ciphertext', {
      serviceToken: this.provider.serviceToken,
      resourceType: HMAC_KEY_RESOURCE_TYPE,
      properties: { ...properties },
    });
    this.ciphertext = this.resource.getAttString(CIPHERTEXT_ATTRIBUTE);
  }

  /** The environment a function that hashes secrets needs to decrypt the key. */
  public get environment(): Readonly<Record<string, string>> {
    return { [ENV.hmacKeyCiphertext]: this.ciphertext, [ENV.hmacKeyVersion]: this.version };
  }

  /** kms:Decrypt on the key, only for this HMAC key's encryption context. */
  public grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: this.encryptionContextConditions() },
    });
    return grant;
  }

  private encryptionContextConditions(): Record<string, string> {
    return {
      'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
      'kms:EncryptionContext:keyVersion': this.version,
    };
  }
}
