import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { HMAC_KEY_PURPOSE } from '../../lambdas/core/key-context.js';
import { ENV } from '../../lambdas/runtime/env.js';
import { loadDeploymentConfig } from '../../lib/config.js';
import { addDeployment, type Deployment } from '../../lib/edge-stack.js';
import { logicalIdOf } from '../../lib/logical-id.js';
import { TokenAuthorizer } from '../../lib/token-authorizer.js';
import { appContext, type PolicyStatement, statementsOfRole, synthesize, WITH_EMAILS } from './helpers.js';

// Several Regions (README "Several Regions", docs/regions.md): a three-Region app as
// `cdk synth -c 'regions=["us-east-1","eu-west-1","ap-southeast-2"]'` builds it (bin/app.ts calls
// addDeployment), with emails on so that the notifier exists to be looked for.

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2'] as const;
const ACCOUNT = '123456789012';

interface ThreeRegions {
  readonly deployment: Deployment;
  readonly home: Template;
  readonly edges: ReadonlyMap<string, Template>;
  readonly app: App;
}

function threeRegionApp(): ThreeRegions {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'regions-cdk-')),
    context: appContext({ regions: [...REGIONS], ...WITH_EMAILS }),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  const deployment = addDeployment(app, 'AccessTokens', loadDeploymentConfig(app.node.getAllContext()), {
    account: ACCOUNT,
  });
  // Validation (cdk-nag and CloudFormation's template checks) runs here: a finding throws.
  app.synth();
  return {
    app,
    deployment,
    home: Template.fromStack(deployment.home),
    edges: new Map(deployment.edges.map((edge) => [edge.region, Template.fromStack(edge)])),
  };
}

function edge(synth: ThreeRegions, region: string): Template {
  const template = synth.edges.get(region);
  if (template === undefined) throw new Error(`no edge stack in ${region}`);
  return template;
}

function edgeStack(synth: ThreeRegions, region: string): Stack {
  const stack = synth.deployment.edges.find((candidate) => candidate.region === region);
  if (stack === undefined) throw new Error(`no edge stack in ${region}`);
  return stack;
}

function authorizerRoleOf(template: Template): string {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: 'Access Tokens: API Gateway authorizer for API access tokens' },
  });
  const [fn, ...others] = Object.values(functions);
  expect(others).toHaveLength(0);
  const role: unknown = fn?.Properties?.Role;
  const roleId = (role as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
  if (roleId === undefined) throw new Error('the authorizer has no role of its stack');
  return roleId;
}

function actions(statement: PolicyStatement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

describe('regions context key', () => {
  it('takes Region names, home first; unset means the deploy Region alone', () => {
    expect(loadDeploymentConfig({}).regions).toBeUndefined();
    expect(loadDeploymentConfig({ regions: '["us-east-1","eu-west-1"]' }).regions).toEqual([
      'us-east-1',
      'eu-west-1',
    ]);
  });

  it('refuses an index upgrade step with several Regions (a new global table has no legacy indexes)', () => {
    expect(() => loadDeploymentConfig({ regions: ['us-east-1', 'eu-west-1'], indexUpgradeStep: 2 })).toThrow(
      /indexUpgradeStep: is for a single-Region table/,
    );
    expect(loadDeploymentConfig({ regions: ['us-east-1'], indexUpgradeStep: 2 }).indexUpgradeStep).toBe(2);
  });

  it.each([
    [[], /regions: must name at least the home Region/],
    [['us-east-1', 'us-east-1'], /regions: must not repeat a Region/],
    [['US-EAST-1'], /regions.0: must be an AWS Region name/],
    [['eu-west'], /regions.0: must be an AWS Region name/],
    ['us-east-1', /regions: /],
  ])('rejects %j', (regions, message) => {
    expect(() => loadDeploymentConfig({ regions })).toThrow(message);
  });
});

describe('one Region: the deployment as it always was', () => {
  it('has one environment-agnostic stack, a single-Region table and a single-Region key', () => {
    const { template, stack } = synthesize();
    expect(stack.region).toMatch(/^\$\{Token/);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    template.hasResourceProperties('AWS::KMS::Key', { MultiRegion: Match.absent() });
  });

  it('with one Region named, pins the stack there and changes nothing else', () => {
    const app = new App({ context: appContext({ regions: ['eu-west-1'] }) });
    const deployment = addDeployment(app, 'AccessTokens', loadDeploymentConfig(app.node.getAllContext()));
    expect(deployment.edges).toHaveLength(0);
    expect(deployment.home.region).toBe('eu-west-1');
    const template = Template.fromStack(deployment.home);
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });
});

describe('three Regions', () => {
  let synth: ThreeRegions;
  beforeAll(() => {
    synth = threeRegionApp();
  }, 240_000);

  it('deploys the home stack in the first Region and an edge stack in each other, cdk-nag clean in all', () => {
    expect(synth.deployment.home.region).toBe('us-east-1');
    expect(synth.deployment.edges.map((stack) => [stack.stackName, stack.region])).toEqual([
      ['AccessTokens-eu-west-1', 'eu-west-1'],
      ['AccessTokens-ap-southeast-2', 'ap-southeast-2'],
    ]);
    // Edge stacks deploy after the home stack (they read its key and ciphertext).
    for (const stack of synth.deployment.edges) {
      expect(stack.dependencies).toContain(synth.deployment.home);
    }
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      expect(pack.validateScope(synth.app).violations.map((violation) => violation.ruleName)).toEqual([]);
    }
  });

  it('makes the token table a global table: a replica per Region, each with PITR, deletion protection and encryption', () => {
    synth.home.resourceCountIs('AWS::DynamoDB::Table', 0);
    const tables = Object.values(synth.home.findResources('AWS::DynamoDB::GlobalTable'));
    expect(tables).toHaveLength(1);
    const properties = tables[0]?.Properties;
    expect(properties.TableName).toBe('AccessTokens-tokens');
    expect(properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(properties.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    const replicas: Array<Record<string, unknown>> = properties.Replicas;
    expect(replicas.map((replica) => replica.Region).sort()).toEqual([...REGIONS].sort());
    for (const replica of replicas) {
      expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(replica.DeletionProtectionEnabled).toBe(true);
    }
    expect(tables[0]?.DeletionPolicy).toBe('Retain');
  });

  it('makes the HMAC key a multi-Region primary with a replica key in each edge Region', () => {
    synth.home.hasResourceProperties('AWS::KMS::Key', { MultiRegion: true, EnableKeyRotation: true });
    for (const region of REGIONS.slice(1)) {
      const template = edge(synth, region);
      template.resourceCountIs('AWS::KMS::Key', 0);
      template.resourceCountIs('AWS::KMS::ReplicaKey', 1);
      template.hasResource('AWS::KMS::ReplicaKey', { DeletionPolicy: 'RetainExceptOnCreate' });
    }
  });

  // The stateful resources of several Regions keep their logical ids, for the reasons in
  // logical-ids.test.ts: a new global table id is a new, empty table in every Region; a new replica
  // key id is a new key that no longer decrypts the HMAC key, so that Region stops verifying tokens.
  it.each<readonly [string, string, string]>([
    ['home', 'AWS::DynamoDB::GlobalTable', 'TokenTableGlobalTable9ED216A8'],
    ['home', 'AWS::KMS::Key', 'HmacKey9C6F4D76'],
    ['home', 'Custom::HmacKeyCiphertext', 'HmacKeyCiphertext505480D6'],
    ['home', 'Custom::HmacKeyCiphertext', 'HmacKeyCursorKeyCiphertextEC628C66'],
    ...REGIONS.slice(1).map((region) => [region, 'AWS::KMS::ReplicaKey', 'HmacKeyAC491CF0'] as const),
  ])('keeps the logical id of the %s stack’s %s: %s', (where, type, logicalId) => {
    const template = where === 'home' ? synth.home : edge(synth, where);
    expect(template.toJSON().Resources[logicalId]?.Type).toBe(type);
  });

  it("lets each replica key decrypt the HMAC key for its own Region's authorizer only", () => {
    for (const region of REGIONS.slice(1)) {
      const template = edge(synth, region);
      const roleId = authorizerRoleOf(template);
      const [replicaKey] = Object.values(template.findResources('AWS::KMS::ReplicaKey'));
      const statements: PolicyStatement[] = replicaKey?.Properties.KeyPolicy.Statement;
      const decrypts = statements.filter((statement) => actions(statement).includes('kms:Decrypt'));
      expect(decrypts).toHaveLength(1);
      expect(decrypts[0]?.Condition).toEqual({
        StringEquals: {
          'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
          'kms:EncryptionContext:keyVersion': 'v1',
        },
        ArnEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [roleId, 'Arn'] }] },
      });
      // Nothing but the account's administration (kms:*) and that one use.
      expect(statements.map((statement) => actions(statement))).toEqual([['kms:*'], ['kms:Decrypt']]);
      // The authorizer's own policy: decrypt on this Region's replica key, nothing else of KMS.
      const kms = statementsOfRole(template, roleId).filter((statement) =>
        actions(statement).some((action) => action.startsWith('kms:')),
      );
      expect(kms).toHaveLength(1);
      expect(kms[0]?.Resource).toEqual({
        'Fn::GetAtt': [
          logicalIdOf(edgeStack(synth, region).node.findChild('HmacKey').node.findChild('Key')),
          'Arn',
        ],
      });
    }
  });

  it("runs one token authorizer per Region, each on its Region's replica, with the same HMAC key ciphertext", () => {
    const homeAuthorizers = synth.home.findResources('AWS::Lambda::Function', {
      Properties: { Description: 'Access Tokens: API Gateway authorizer for API access tokens' },
    });
    expect(Object.keys(homeAuthorizers)).toHaveLength(1);
    for (const region of REGIONS.slice(1)) {
      const template = edge(synth, region);
      const roleId = authorizerRoleOf(template);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: 'Access Tokens: API Gateway authorizer for API access tokens',
        Environment: {
          Variables: Match.objectLike({
            [ENV.tableName]: 'AccessTokens-tokens',
            [ENV.hmacKeyVersion]: 'v1',
            // Read from the SSM parameter the home stack writes into this Region.
            [ENV.hmacKeyCiphertext]: {
              'Fn::GetAtt': [
                Match.stringLikeRegexp('^ExportsReader'),
                Match.stringLikeRegexp(`^/cdk/exports/AccessTokens-${region}/.*Ciphertext`),
              ],
            },
          }),
        },
      });
      const dynamo = statementsOfRole(template, roleId).filter((statement) =>
        actions(statement).some((action) => action.startsWith('dynamodb:')),
      );
      const localReplica = {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, `:dynamodb:${region}:${ACCOUNT}:table/AccessTokens-tokens`],
        ],
      };
      // GetItem of credentials, UpdateItem of lastUsedAt and of strict-mode counters: on the local replica only.
      expect(dynamo.map((statement) => actions(statement))).toEqual([
        ['dynamodb:GetItem'],
        ['dynamodb:UpdateItem'],
        ['dynamodb:UpdateItem'],
      ]);
      for (const statement of dynamo) expect(statement.Resource).toEqual(localReplica);
    }
  });

  it('keeps every write, email and ledger entry at home: no management API, stream consumer or table of its own at the edge', () => {
    // The home stack's stream consumers (notifier, expiry ledger, usage keys...) are those of one Region.
    const oneRegion = synthesize({ context: WITH_EMAILS }).template;
    const consumers = Object.keys(oneRegion.findResources('AWS::Lambda::EventSourceMapping')).length;
    expect(consumers).toBeGreaterThanOrEqual(2);
    synth.home.resourceCountIs('AWS::Lambda::EventSourceMapping', consumers);
    for (const region of REGIONS.slice(1)) {
      const template = edge(synth, region);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
      template.resourceCountIs('AWS::DynamoDB::Table', 0);
      template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
      template.resourceCountIs('AWS::Cognito::UserPool', 0);
      template.resourceCountIs('AWS::SQS::Queue', 0);
      // One REST API: the demo API (the management API is home only).
      template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
      template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
      const writes = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
        (policy.Properties.PolicyDocument.Statement as PolicyStatement[]).flatMap(actions),
      );
      for (const action of [
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
        'dynamodb:ConditionCheckItem',
        'ses:SendEmail',
      ]) {
        expect(writes).not.toContain(action);
      }
    }
  });

  it('lets the home expiry ledger see TTL deletions replicated from other Regions (no TTL identity in its filter)', () => {
    const removeFilters = Object.values(synth.home.findResources('AWS::Lambda::EventSourceMapping'))
      .flatMap(
        (resource) => (resource.Properties.FilterCriteria?.Filters ?? []) as Array<{ Pattern: string }>,
      )
      .map((filter) => JSON.parse(filter.Pattern))
      .filter((pattern) => pattern.eventName?.[0] === 'REMOVE');
    expect(removeFilters).toEqual([
      { eventName: ['REMOVE'], dynamodb: { OldImage: { entity: { S: ['token'] } } } },
    ]);
    // The ledger and the notifier know the table is global (GLOBAL_TABLE), nothing else does.
    const globalTableFunctions = Object.values(synth.home.findResources('AWS::Lambda::Function'))
      .filter((fn) => fn.Properties.Environment?.Variables?.[ENV.globalTable] === 'true')
      .map((fn) => fn.Properties.Description as string)
      .sort();
    expect(globalTableFunctions).toEqual([
      'Access Tokens: emails token owners about their tokens (table stream to SES)',
      'Access Tokens: releases the limit slots of tokens deleted by TTL and audits their expiry',
    ]);
    const oneRegion = synthesize({ context: WITH_EMAILS }).template;
    const single = Object.values(oneRegion.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.Environment?.Variables?.[ENV.globalTable] !== undefined,
    );
    expect(single).toEqual([]);
  });

  it('has the alarms and the outputs of each Region', () => {
    synth.home.hasOutput('HomeRegion', { Value: 'us-east-1' });
    synth.home.hasOutput('GlobalTableName', {});
    synth.home.hasOutput('TokenAuthorizerFunctionArn', {});
    for (const region of REGIONS.slice(1)) {
      const template = edge(synth, region);
      template.hasOutput('Region', { Value: region });
      template.hasOutput('TokenAuthorizerFunctionArn', {});
      template.hasOutput('TokenAuthorizerCacheTtlSeconds', { Value: '50' });
      template.hasOutput('DemoApiUrl', {});
      // The token authorizer's errors and the demo API's 5XX rate.
      template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    }
  });
});

describe("TokenAuthorizer by Region: an API attaches its own Region's authorizer", () => {
  const byRegion = {
    'us-east-1': `arn:aws:lambda:us-east-1:${ACCOUNT}:function:AccessTokens-TokenAuthorizer-home`,
    'eu-west-1': `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:AccessTokens-eu-west-1-TokenAuthorizer-edge`,
  };

  function apiStack(region?: string): Stack {
    const app = new App();
    return new Stack(
      app,
      `Api${region ?? ''}`,
      region === undefined ? {} : { env: { account: ACCOUNT, region } },
    );
  }

  it.each(Object.entries(byRegion))('in %s, the authorizer of %s', (region, arn) => {
    const stack = apiStack(region);
    const api = new apigateway.RestApi(stack, 'Api', { deploy: true });
    const authorizer = new TokenAuthorizer(stack, 'Tokens', {
      functionArnsByRegion: byRegion,
      cacheTtl: Duration.seconds(50),
    });
    api.root
      .addResource('content')
      .addMethod('GET', new apigateway.MockIntegration(), authorizer.restMethodOptions(api));
    expect(authorizer.functionArn).toBe(arn);
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerUri: Match.stringLikeRegexp(
        `apigateway:${region}:lambda:path/2015-03-31/functions/${arn}/invocations`,
      ),
    });
  });

  it('refuses a Region it has no authorizer for, a stack without a Region, and an ARN listed under another Region', () => {
    expect(
      () =>
        new TokenAuthorizer(apiStack('ap-southeast-2'), 'Tokens', {
          functionArnsByRegion: byRegion,
          cacheTtl: Duration.seconds(50),
        }),
    ).toThrow(/no authorizer for this stack's Region ap-southeast-2 \(it lists us-east-1, eu-west-1\)/);
    expect(
      () =>
        new TokenAuthorizer(apiStack(), 'Tokens', {
          functionArnsByRegion: byRegion,
          cacheTtl: Duration.seconds(50),
        }),
    ).toThrow(/needs a stack with a concrete Region/);
    expect(
      () =>
        new TokenAuthorizer(apiStack('eu-west-1'), 'Tokens', {
          functionArnsByRegion: { 'eu-west-1': byRegion['us-east-1'] },
          cacheTtl: Duration.seconds(50),
        }),
    ).toThrow(/must be the ARN of a Lambda function in eu-west-1/);
    expect(
      () =>
        new TokenAuthorizer(apiStack('eu-west-1'), 'Tokens', {
          functionArnsByRegion: byRegion,
          functionArn: byRegion['eu-west-1'],
          cacheTtl: Duration.seconds(50),
        }),
    ).toThrow(/give exactly one of handler and functionArn \(or functionArnsByRegion instead\)/);
  });
});
