import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { API_5XX_RATE_THRESHOLD, ServiceAlarms } from '../../../lib/constructs/service-alarms.js';

// The request-path alarms, in a stack of their own (an inline function, one REST API).

describe('ServiceAlarms construct', () => {
  const stack = new Stack(new App(), 'ServiceAlarmsTest');
  const fn = new lambda.Function(stack, 'Authorizer', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const api = new apigateway.RestApi(stack, 'Api');
  api.root.addMethod('GET');
  const alarms = new ServiceAlarms(stack, 'Alarms', { tokenAuthorizerFunction: fn, apis: { TestApi: api } });
  const template = Template.fromStack(stack);

  it('alarms on the first token authorizer error in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("alarms on each API's 5XX rate", () => {
    expect(Object.keys(alarms.api5xxRate)).toEqual(['TestApi']);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
      Statistic: 'Average',
      Threshold: API_5XX_RATE_THRESHOLD,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  });
});
