import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** Share of requests answered 5XX (API Gateway `5XXError` is 0 or 1 per request; its average is the rate). */
export const API_5XX_RATE_THRESHOLD = 0.05;

interface ServiceAlarmsProps {
  /** The token authorizer: any error is a 500 at every gateway that attaches it. */
  readonly tokenAuthorizerFunction: lambda.IFunction;
  /** REST APIs whose 5XX rate alarms, by a short name used in the alarm's construct id. */
  readonly apis: Readonly<Record<string, apigateway.RestApi>>;
  /**
   * Actions of every alarm (e.g. an SNS topic).
   * @default none: the alarms show in CloudWatch only
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
}

/**
 * The request-path alarms (the dead-letter queue alarms live with their queues): token authorizer
 * errors (>= 1 in 5 minutes) and each API's 5XX rate (average >= 5% over 5 minutes).
 */
export class ServiceAlarms extends Construct {
  public readonly tokenAuthorizerErrors: cloudwatch.Alarm;
  /** The 5XX rate alarm of each API, by the name given in `apis`. */
  public readonly api5xxRate: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const stackName = Stack.of(this).stackName;
    const period = Duration.minutes(5);

    this.tokenAuthorizerErrors = new cloudwatch.Alarm(this, 'TokenAuthorizerErrors', {
      alarmDescription: `The token authorizer failed (a dependency error: API Gateway answers 500 to the caller). Stack: ${stackName}.`,
      metric: props.tokenAuthorizerFunction.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const api5xxRate: Record<string, cloudwatch.Alarm> = {};
    for (const [name, api] of Object.entries(props.apis)) {
      api5xxRate[name] = new cloudwatch.Alarm(this, `${name}5xxRate`, {
        alarmDescription: `${name}: ${API_5XX_RATE_THRESHOLD * 100}% or more of the requests answered 5XX over 5 minutes. Stack: ${stackName}.`,
        metric: api.metricServerError({ period, statistic: cloudwatch.Stats.AVERAGE }),
        threshold: API_5XX_RATE_THRESHOLD,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.api5xxRate = api5xxRate;

    if (props.alarmActions !== undefined) {
      for (const alarm of [this.tokenAuthorizerErrors, ...Object.values(api5xxRate)]) {
        alarm.addAlarmAction(...props.alarmActions);
      }
    }
  }
}
