import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { expect, it } from 'vitest';
import { loadDeploymentConfig } from '../../lib/config.js';
import { addDeployment } from '../../lib/edge-stack.js';
import { TokenAuthorizer } from '../../lib/token-authorizer.js';
import { appContext, WITH_EMAILS } from './helpers.js';

// Several apps built in one process (the infra files share their worker's modules, and a CDK program
// may build more than one): what the constructs remember about an app stays with that app.

it("checks an app's HTTP API against its own token authorizer functions, not another app's", () => {
  // First, a deployment in several Regions (docs/regions.md): stacks in concrete environments.
  const other = new App({
    context: appContext({ regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'], ...WITH_EMAILS }),
  });
  Validations.of(other).addPlugins(new AwsSolutionsChecks(other), new ServerlessChecks(other));
  addDeployment(other, 'AccessTokens', loadDeploymentConfig(other.node.getAllContext()), {
    account: '123456789012',
  });
  other.synth();

  const stack = new Stack(new App(), 'Api');
  const handler = new lambda.Function(stack, 'AuthorizerFn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const api = new apigwv2.HttpApi(stack, 'Http');
  const auth = new TokenAuthorizer(stack, 'Auth', { handler, cacheTtl: Duration.seconds(50) });
  api.addRoutes({
    path: '/jobs/{id}',
    methods: [apigwv2.HttpMethod.GET],
    integration: new HttpLambdaIntegration('Backend', handler),
    authorizer: auth.forHttpApi(api),
  });
  // Failed before (in CI, in whichever infra file a worker ran after the Regions tests): the cache-key
  // check resolved the other app's function ARNs in this stack: "Cannot use resource
  // 'AccessTokens/TokenAuthorizer/Function' in a cross-environment fashion".
  expect(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Authorizer')).not.toEqual({});
});
