import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeploymentConfig, ThrottleConfig } from '../config.js';
import { GATEWAY_ERRORS, gatewayErrorBody } from '../gateway-errors.js';

/**
 * API Gateway's account-level role for writing logs to CloudWatch (one per account and Region;
 * every REST API stage with execution or access logging needs it), for `apiGatewayCloudWatchRole:
 * managed`. Setting it replaces whatever role the account had; this one carries the AWS managed
 * policy AWS documents for the purpose (AmazonAPIGatewayPushToCloudWatchLogs), so the account's
 * other APIs keep logging through it.
 *
 * Plain RETAIN on both, not RETAIN_ON_UPDATE_OR_DELETE: the account setting outlives any stack
 * operation (deleting AWS::ApiGateway::Account does not reset it), so the role it points at must
 * too. Were the role deleted with the stack, or by the rollback of a failed first deploy, every
 * REST API in the Region would be left pointing at a role that no longer exists.
 */
export class ApiGatewayCloudWatchRole extends Construct {
  public readonly role: iam.Role;
  public readonly account: apigateway.CfnAccount;

  /**
   * The Region's logging role as cdk.json's `apiGatewayCloudWatchRole` says: this stack's own
   * (`managed`, id `ApiGatewayCloudWatchRole`), or none when the account already has one.
   */
  static ifManaged(
    stack: Construct,
    setting: DeploymentConfig['apiGatewayCloudWatchRole'],
  ): ApiGatewayCloudWatchRole | undefined {
    return setting === 'managed'
      ? new ApiGatewayCloudWatchRole(stack, 'ApiGatewayCloudWatchRole')
      : undefined;
  }

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: 'API Gateway (account-wide): pushes REST API execution logs to CloudWatch Logs',
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
      ],
    });
    this.role.applyRemovalPolicy(RemovalPolicy.RETAIN);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'This is the account-wide role API Gateway assumes to write the execution logs of every REST API in the region (not a function role); AWS documents this managed policy for it, and its log groups are named by API Gateway per API and stage, so it cannot be scoped to this stack.',
    });
    this.account = new apigateway.CfnAccount(this, 'Account', { cloudWatchRoleArn: this.role.roleArn });
    this.account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}

const JSON_HEADERS = { 'Content-Type': "'application/json'" };

/**
 * Gateway responses (what API Gateway answers by itself: authorizer denials, throttling, unknown
 * routes, its own errors) in the contract's error shape `{"error":{"code","message"}}`.
 */
interface JsonGatewayResponse {
  readonly type: apigateway.ResponseType;
  readonly statusCode?: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The gateway responses of usage plans (docs/rate-limits.md): a token over its rate (THROTTLED:
 * 429, retry after a second, when its bucket has refilled) or its quota (QUOTA_EXCEEDED: 429, no
 * Retry-After: the period's end is in GET /tokens/{id}), and a token whose usage key is not there
 * (INVALID_API_KEY, with the key taken from the authorizer: created seconds after the token; 503,
 * retry shortly). THROTTLED also covers the stage's own method throttling.
 */
const USAGE_PLAN_RESPONSES: readonly JsonGatewayResponse[] = [
  {
    type: apigateway.ResponseType.THROTTLED,
    statusCode: String(GATEWAY_ERRORS.throttled.statusCode),
    body: gatewayErrorBody(GATEWAY_ERRORS.throttled),
    headers: { 'Retry-After': `'${GATEWAY_ERRORS.throttled.retryAfterSeconds}'` },
  },
  {
    type: apigateway.ResponseType.QUOTA_EXCEEDED,
    statusCode: String(GATEWAY_ERRORS.quotaExceeded.statusCode),
    body: gatewayErrorBody(GATEWAY_ERRORS.quotaExceeded),
  },
  {
    type: apigateway.ResponseType.INVALID_API_KEY,
    statusCode: String(GATEWAY_ERRORS.usageKeyPending.statusCode),
    body: gatewayErrorBody(GATEWAY_ERRORS.usageKeyPending),
    headers: { 'Retry-After': `'${GATEWAY_ERRORS.usageKeyPending.retryAfterSeconds}'` },
  },
];

function addJsonGatewayResponse(api: apigateway.RestApi, response: JsonGatewayResponse): void {
  const id = `GatewayResponse${response.type.responseType}`;
  // Once per API: SecureRestApi and every TokenAuthorizer attached to it add the same ones.
  if (api.node.tryFindChild(id) !== undefined) return;
  api.addGatewayResponse(id, {
    type: response.type,
    ...(response.statusCode === undefined ? {} : { statusCode: response.statusCode }),
    responseHeaders: { ...JSON_HEADERS, ...response.headers },
    templates: { 'application/json': response.body },
  });
}

/** The usage plans' gateway responses on `api` (TokenAuthorizer adds them to the APIs it protects). */
export function addUsagePlanGatewayResponses(api: apigateway.RestApi): void {
  for (const response of USAGE_PLAN_RESPONSES) addJsonGatewayResponse(api, response);
}

function addJsonGatewayResponses(api: apigateway.RestApi): void {
  const responses: readonly JsonGatewayResponse[] = [
    ...USAGE_PLAN_RESPONSES,
    {
      type: apigateway.ResponseType.UNAUTHORIZED,
      statusCode: '401',
      body: gatewayErrorBody(GATEWAY_ERRORS.unauthorized),
    },
    {
      type: apigateway.ResponseType.ACCESS_DENIED,
      statusCode: '403',
      body: gatewayErrorBody(GATEWAY_ERRORS.accessDenied),
    },
    // IAM routes (POST /verify, docs/verify.md): a signature that does not verify, or signed with
    // expired credentials, is a 403 in the contract's shape (else DEFAULT_4XX would call it VALIDATION_FAILED).
    {
      type: apigateway.ResponseType.INVALID_SIGNATURE,
      statusCode: '403',
      body: gatewayErrorBody(GATEWAY_ERRORS.signatureRejected),
    },
    {
      type: apigateway.ResponseType.EXPIRED_TOKEN,
      statusCode: '403',
      body: gatewayErrorBody(GATEWAY_ERRORS.signatureRejected),
    },
    {
      type: apigateway.ResponseType.REQUEST_TOO_LARGE,
      statusCode: '413',
      body: gatewayErrorBody(GATEWAY_ERRORS.requestTooLarge),
    },
    // A "missing authentication token" means no such route, or an unsigned call of an IAM route
    // (POST /verify, docs/verify.md): to a caller without AWS credentials both are "no such route".
    {
      type: apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
      statusCode: '404',
      body: gatewayErrorBody(GATEWAY_ERRORS.noSuchRoute),
    },
    {
      type: apigateway.ResponseType.RESOURCE_NOT_FOUND,
      statusCode: '404',
      body: gatewayErrorBody(GATEWAY_ERRORS.noSuchRoute),
    },
    // Other 4xx keep their status; API Gateway's own message ($context.error.messageString is
    // already a quoted JSON string) holds nothing internal.
    {
      type: apigateway.ResponseType.DEFAULT_4XX,
      body: '{"error":{"code":"VALIDATION_FAILED","message":$context.error.messageString}}',
    },
    {
      type: apigateway.ResponseType.DEFAULT_5XX,
      body: gatewayErrorBody(GATEWAY_ERRORS.internal),
    },
  ];
  for (const response of responses) addJsonGatewayResponse(api, response);
}

/** The access log line: one JSON object per request; never a header or a body. */
function jsonAccessLogFormat(): apigateway.AccessLogFormat {
  const field = apigateway.AccessLogField;
  return apigateway.AccessLogFormat.custom(
    JSON.stringify({
      requestId: field.contextRequestId(),
      extendedRequestId: field.contextExtendedRequestId(),
      requestTime: field.contextRequestTime(),
      sourceIp: field.contextIdentitySourceIp(),
      userAgent: field.contextIdentityUserAgent(),
      httpMethod: field.contextHttpMethod(),
      resourcePath: field.contextResourcePath(),
      path: field.contextPath(),
      protocol: field.contextProtocol(),
      status: field.contextStatus(),
      responseLength: field.contextResponseLength(),
      responseLatency: field.contextResponseLatency(),
      integrationLatency: field.contextIntegrationLatency(),
      principalId: field.contextAuthorizerPrincipalId(),
      authorizerError: field.contextAuthorizerError(),
      errorType: field.contextErrorResponseType(),
      errorMessage: field.contextErrorMessage(),
      xrayTraceId: field.contextXrayTraceId(),
    }),
  );
}

interface SecureRestApiProps {
  /**
   * The API's name: also the `ApiName` dimension of its CloudWatch metrics, so it must be unique in
   * the account and Region (derive it from the stack name).
   */
  readonly restApiName: string;
  readonly description: string;
  /** Default method throttling of the stage. */
  readonly throttle: ThrottleConfig;
  /**
   * The account's API Gateway CloudWatch role, when this stack sets it: the stage's logging needs
   * it first.
   * @default - the account already has one (`apiGatewayCloudWatchRole: existing`)
   */
  readonly cloudWatchRole?: ApiGatewayCloudWatchRole;
  /** @default 'v1' */
  readonly stageName?: string;
  /** @default - none */
  readonly stageVariables?: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** Where this API's requests are validated, instead of an API Gateway request validator (cdk-nag APIG2). */
  readonly requestValidationReason: string;
}

/**
 * A REGIONAL REST API with this project's defaults: JSON access logs to its own log group,
 * execution logging at ERROR with data tracing OFF (request and response bodies, which carry token
 * secrets, never reach a log), X-Ray tracing, default method throttling, and gateway responses in
 * the contract's JSON error shape.
 *
 * Both log groups have the configured retention. API Gateway would create the execution log group
 * (`API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}`) itself when the stage is deployed, with
 * no retention (kept forever) and outside the stack ("Execution logging for REST APIs", API Gateway
 * Developer Guide: https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html);
 * so the stack creates it under that name first, and the stage depends on it.
 *
 * Payload size: REST APIs cannot cap request bodies below their fixed 10 MB limit; the handlers
 * refuse bodies over 16 KB with 413 PAYLOAD_TOO_LARGE.
 */
export class SecureRestApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly accessLogGroup: logs.LogGroup;
  /** The stage's name as plain text (no reference to the stage resource). */
  public readonly stageName: string;
  /** `API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}`, where API Gateway writes execution logs. */
  public readonly executionLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SecureRestApiProps) {
    super(scope, id);
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const stageName = props.stageName ?? 'v1';
    this.stageName = stageName;
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: props.restApiName,
      description: props.description,
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // The account-level role is managed once, by ApiGatewayCloudWatchRole.
      cloudWatchRole: false,
      deployOptions: {
        stageName,
        ...(props.stageVariables === undefined ? {} : { variables: { ...props.stageVariables } }),
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: jsonAccessLogFormat(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        tracingEnabled: true,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
      },
    });
    // RestApi adds an `Endpoint` output of its own; the stack names its outputs itself.
    this.api.node.tryRemoveChild('Endpoint');
    if (props.cloudWatchRole !== undefined) {
      this.api.deploymentStage.node.addDependency(props.cloudWatchRole.account);
    }
    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${stageName}`,
      retention,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);
    addJsonGatewayResponses(this.api);

    const cfnApi = this.api.node.defaultChild;
    if (cfnApi === undefined) throw new Error('RestApi without a CfnRestApi');
    Validations.of(cfnApi).acknowledge({ id: 'AwsSolutions-APIG2', reason: props.requestValidationReason });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No WAF web ACL by default: it is billed per ACL, rule and request and needs rules tuned per deployment. Every method is throttled and every non-public one authenticated by a Lambda authorizer; an operator can associate a web ACL with the stage.',
    });
  }
}
