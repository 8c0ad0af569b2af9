import { CustomResource, Duration, Lazy, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import {
  CURRENT_CURSOR_KEY_VERSION,
  CURRENT_HMAC_KEY_VERSION,
  CURSOR_KEY_PURPOSE,
  type DataKeyPurpose,
  HMAC_KEY_PURPOSE,
} from '../../lambdas/core/key-context.js';
import {
  CIPHERTEXT_ATTRIBUTE,
  HMAC_KEY_RESOURCE_TYPE,
  type HmacKeyResourceProperties,
} from '../../lambdas/hmac-key-resource/contract.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { FUNCTION_ENTRIES } from '../function-entries.js';
import { logicalIdOf } from '../logical-id.js';
import { ServiceFunction } from './service-function.js';

interface HmacKeyProps {
  /**
   * The HMAC key's version (part of the encryption context). Changing it generates a new key, and
   * tokens hashed under the old version stop verifying.
   * @default CURRENT_HMAC_KEY_VERSION from lambdas/core/key-context.ts
   */
  readonly version?: string;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Several Regions (README "Several Regions"): a multi-Region primary key, whose replica keys
   * ({@link HmacReplicaKey}) decrypt the same ciphertext in their Regions without a cross-Region
   * call. A deployed key cannot change this (KMS refuses; docs/regions.md "Migration").
   * @default false
   */
  readonly multiRegion?: boolean;
}

/**
 * The KMS key (rotation on, retained) and two envelope-encrypted 256-bit data keys, made at deploy by
 * our own custom resource (lambdas/hmac-key-resource) through the CDK Provider framework: the HMAC
 * key, which hashes token secrets (only the functions that hash secrets may decrypt it), and the
 * cursor key, which signs list cursors (only the list handlers may decrypt it). Each is decryptable
 * only under its own encryption context (lambdas/core/key-context.ts).
 *
 * Not `AwsCustomResource`: its handler UTF-8-decodes binary response fields, which would corrupt the
 * ciphertext. The ciphertext is the same across stack updates for the same key and version (the
 * handler keeps it in the physical id): a new one would break every issued token. Replacing the KMS
 * key itself (a new logical id) has the same effect, hence retained on update and delete; but not
 * when its creation is rolled back (RETAIN_ON_UPDATE_OR_DELETE), so a failed first deploy leaves no
 * orphaned key behind.
 *
 * The key policy keeps CDK's default administrator statement (the account root) and names each use
 * explicitly: kms:Decrypt per data key for the roles granted it, kms:GenerateDataKeyWithoutPlaintext
 * for the custom resource's handler, each under the key's encryption context and for those roles
 * only (`aws:PrincipalArn`; the account as principal, so that a role created in the same deployment
 * never makes the policy invalid). The roles' own policies grant the same, and nothing else.
 */
export class HmacKey extends Construct implements DecryptHmacKey {
  public readonly key: kms.Key;
  public readonly version: string;
  /** The base64 ciphertext of the HMAC key (a CloudFormation token). */
  public readonly ciphertext: string;
  public readonly cursorKeyVersion: string;
  /** The base64 ciphertext of the list-cursor key (a CloudFormation token). */
  public readonly cursorCiphertext: string;
  public readonly resourceFunction: ServiceFunction;
  public readonly provider: cr.Provider;
  public readonly resource: CustomResource;
  public readonly cursorResource: CustomResource;
  private readonly decrypters: Record<DataKeyPurpose, string[]> = {
    [HMAC_KEY_PURPOSE]: [],
    [CURSOR_KEY_PURPOSE]: [],
  };

  constructor(scope: Construct, id: string, props: HmacKeyProps = {}) {
    super(scope, id);
    this.version = props.version ?? CURRENT_HMAC_KEY_VERSION;
    this.cursorKeyVersion = CURRENT_CURSOR_KEY_VERSION;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    this.key = new kms.Key(this, 'Key', {
      description: `Access Tokens: encrypts the HMAC key that hashes API tokens (${HMAC_KEY_PURPOSE})`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      // Absent when false: the single-Region key's template stays as it was.
      ...(props.multiRegion === true ? { multiRegion: true } : {}),
    });

    this.resourceFunction = new ServiceFunction(this, 'ResourceHandler', {
      entry: FUNCTION_ENTRIES.hmacKeyResource,
      description: 'Access Tokens: generates the KMS-encrypted HMAC key at deploy time',
      logRetention,
      timeout: Duration.seconds(30),
    });
    for (const [sid, purpose] of [
      ['GenerateHmacKeyCiphertext', HMAC_KEY_PURPOSE],
      ['GenerateCursorKeyCiphertext', CURSOR_KEY_PURPOSE],
    ] as const) {
      const conditions = { StringEquals: this.encryptionContextConditions(purpose) };
      this.resourceFunction.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid,
          actions: ['kms:GenerateDataKeyWithoutPlaintext'],
          resources: [this.key.keyArn],
          conditions,
        }),
      );
      this.key.addToResourcePolicy(
        this.keyPolicyUse(sid, 'kms:GenerateDataKeyWithoutPlaintext', conditions, [
          this.resourceFunction.role.roleArn,
        ]),
      );
    }

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

    // The same resource type and provider, another purpose: the list handlers' key. The HMAC key's
    // resource keeps its properties (no KeyPurpose) so that CloudFormation sends it no Update.
    const cursorProperties: HmacKeyResourceProperties = {
      KeyId: this.key.keyArn,
      KeyVersion: this.cursorKeyVersion,
      KeyPurpose: CURSOR_KEY_PURPOSE,
    };
    this.cursorResource = new CustomResource(this, 'CursorKeyCiphertext', {
      serviceToken: this.provider.serviceToken,
      resourceType: HMAC_KEY_RESOURCE_TYPE,
      properties: { ...cursorProperties },
    });
    this.cursorCiphertext = this.cursorResource.getAttString(CIPHERTEXT_ATTRIBUTE);
  }

  /** The environment a function that hashes secrets needs to decrypt the HMAC key. */
  public get environment(): Readonly<Record<string, string>> {
    return { [ENV.hmacKeyCiphertext]: this.ciphertext, [ENV.hmacKeyVersion]: this.version };
  }

  /** The environment a list handler needs to decrypt the cursor key. */
  public get cursorEnvironment(): Readonly<Record<string, string>> {
    return {
      [ENV.cursorKeyCiphertext]: this.cursorCiphertext,
      [ENV.cursorKeyVersion]: this.cursorKeyVersion,
    };
  }

  /** The HMAC key in the function's environment ({@link environment}), and {@link grantDecrypt} to its role. */
  public bindDecrypt(fn: ServiceFunction): void {
    for (const [name, value] of Object.entries(this.environment)) fn.function.addEnvironment(name, value);
    this.grantDecrypt(fn.role);
  }

  /** The cursor key in the function's environment ({@link cursorEnvironment}), and {@link grantDecryptCursorKey}. */
  public bindDecryptCursorKey(fn: ServiceFunction): void {
    for (const [name, value] of Object.entries(this.cursorEnvironment))
      fn.function.addEnvironment(name, value);
    this.grantDecryptCursorKey(fn.role);
  }

  /** kms:Decrypt on the key, only for the HMAC key's encryption context: the functions that hash secrets. */
  public grantDecrypt(role: iam.IRole): iam.Grant {
    return this.grantDecryptOf(HMAC_KEY_PURPOSE, role);
  }

  /** kms:Decrypt on the key, only for the cursor key's encryption context: the list handlers. */
  public grantDecryptCursorKey(role: iam.IRole): iam.Grant {
    return this.grantDecryptOf(CURSOR_KEY_PURPOSE, role);
  }

  private grantDecryptOf(purpose: DataKeyPurpose, role: iam.IRole): iam.Grant {
    const conditions = { StringEquals: this.encryptionContextConditions(purpose) };
    const decrypters = this.decrypters[purpose];
    if (decrypters.length === 0) {
      // One key policy statement per data key, naming every role granted it (filled in at synth).
      this.key.addToResourcePolicy(
        this.keyPolicyUse(
          purpose === HMAC_KEY_PURPOSE ? 'DecryptHmacKey' : 'DecryptCursorKey',
          'kms:Decrypt',
          conditions,
          Lazy.list({ produce: () => decrypters }),
        ),
      );
    }
    decrypters.push(role.roleArn);
    return iam.Grant.addToPrincipal({
      grantee: role,
      actions: ['kms:Decrypt'],
      resourceArns: [this.key.keyArn],
      conditions,
    });
  }

  /** A key policy statement: `action` for these roles only, under `conditions`. */
  private keyPolicyUse(
    sid: string,
    action: string,
    conditions: Record<string, Record<string, string>>,
    roleArns: string[],
  ): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid,
      principals: [new iam.AccountRootPrincipal()],
      actions: [action],
      resources: ['*'],
      conditions: { ...conditions, ArnEquals: { 'aws:PrincipalArn': roleArns } },
    });
  }

  private encryptionContextConditions(purpose: DataKeyPurpose): Record<string, string> {
    return {
      'kms:EncryptionContext:purpose': purpose,
      'kms:EncryptionContext:keyVersion': purpose === HMAC_KEY_PURPOSE ? this.version : this.cursorKeyVersion,
    };
  }
}

/** What a function that hashes secrets needs of a key: the HMAC key's ciphertext and kms:Decrypt of it. */
export interface DecryptHmacKey {
  bindDecrypt(fn: ServiceFunction): void;
}

interface HmacReplicaKeyProps {
  /** The home Region's multi-Region primary key (`HmacKey.key.keyArn`, with `multiRegion`). */
  readonly primaryKeyArn: string;
  /** The HMAC key's ciphertext, made under the primary key: the same bytes decrypt here. */
  readonly ciphertext: string;
  /** The HMAC key's version (its encryption context). */
  readonly version: string;
}

/**
 * An edge Region's replica of the multi-Region HMAC key (README "Several Regions"): it shares the
 * primary's key material and key id, so the HMAC key's ciphertext made at home decrypts here with no
 * cross-Region call, and one token hashes the same in every Region. Its own key policy: the account
 * administers it (CDK's default statement of a key), and kms:Decrypt of the HMAC key (its
 * encryption context) is allowed to the roles bound here only, this Region's token authorizer.
 * There is no cursor key use here: the edge has no list handlers. Retained like the primary
 * (deleting a replica would stop this Region's authorizer).
 */
export class HmacReplicaKey extends Construct implements DecryptHmacKey {
  public readonly replicaKey: kms.CfnReplicaKey;
  /** The replica's ARN: this Region, the primary's key id. */
  public readonly keyArn: string;
  public readonly version: string;
  public readonly ciphertext: string;
  private readonly decrypters: string[] = [];
  private readonly decryptConditions: Record<string, Record<string, string>>;

  constructor(scope: Construct, id: string, props: HmacReplicaKeyProps) {
    super(scope, id);
    this.version = props.version;
    this.ciphertext = props.ciphertext;
    const conditions = {
      StringEquals: {
        'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
        'kms:EncryptionContext:keyVersion': this.version,
      },
    };
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:*'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptHmacKey',
          principals: [new iam.AccountRootPrincipal()],
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: {
            ...conditions,
            ArnEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.decrypters }) },
          },
        }),
      ],
    });
    this.replicaKey = new kms.CfnReplicaKey(this, 'Key', {
      primaryKeyArn: props.primaryKeyArn,
      description: `Access Tokens: replica of the key that encrypts the HMAC key (${HMAC_KEY_PURPOSE})`,
      keyPolicy: policy,
      enabled: true,
    });
    this.replicaKey.applyRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    this.keyArn = this.replicaKey.attrArn;
    this.decryptConditions = conditions;
  }

  /** The HMAC key in the function's environment, and kms:Decrypt of it on this replica to its role. */
  public bindDecrypt(fn: ServiceFunction): void {
    fn.function.addEnvironment(ENV.hmacKeyCiphertext, this.ciphertext);
    fn.function.addEnvironment(ENV.hmacKeyVersion, this.version);
    this.decrypters.push(fn.role.roleArn);
    iam.Grant.addToPrincipal({
      grantee: fn.role,
      actions: ['kms:Decrypt'],
      resourceArns: [this.keyArn],
      conditions: this.decryptConditions,
    });
  }
}
