import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INDEXES, LEGACY_INDEXES, TTL_ATTRIBUTE } from '../../../lambdas/adapters/table-definition.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { ServiceFunction } from '../../../lib/constructs/service-function.js';
import { TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS, TokenTable } from '../../../lib/constructs/token-table.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { arnOf, logicalIdOf, ref, statementsOfRole } from '../helpers.js';

// The TokenTable construct in a minimal stack of its own: the table, and one function per bind
// method. Bundling is skipped: the assertions read the template.

interface Built {
  readonly table: TokenTable;
  readonly reader: ServiceFunction;
  readonly writer: ServiceFunction;
  readonly verifier: ServiceFunction;
  readonly template: Template;
}

function build(): Built {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TokenTableTest');
  const table = new TokenTable(stack, 'TokenTable');
  const fn = (id: string) =>
    new ServiceFunction(stack, id, { entry: FUNCTION_ENTRIES.demoApi, description: id });
  const reader = fn('Reader');
  const writer = fn('Writer');
  const verifier = fn('Verifier');
  table.bindRead(reader);
  table.bindReadWrite(writer);
  table.bindVerify(verifier);
  return { table, reader, writer, verifier, template: Template.fromStack(stack) };
}

function environmentOf(template: Template, fn: ServiceFunction): Record<string, unknown> {
  const resource = template.findResources('AWS::Lambda::Function')[logicalIdOf(fn.function)];
  return resource?.Properties?.Environment?.Variables ?? {};
}

/** The statements of a function's role, without the one every function has (its own logs). */
function grantsOf(template: Template, fn: ServiceFunction) {
  return statementsOfRole(template, logicalIdOf(fn.role)).filter(
    (statement) => statement.Sid !== 'WriteOwnLogs',
  );
}

describe('TokenTable construct', () => {
  let built: Built;
  beforeAll(() => {
    built = build();
  });

  it('is on demand, recoverable, protected from deletion, retained, with its stream, TTL and indexes', () => {
    const { template, table } = built;
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
        GlobalSecondaryIndexes: Object.values(INDEXES).map((index) =>
          Match.objectLike({ IndexName: index.indexName }),
        ),
      }),
    });
    expect(table.indexArns).toHaveLength(Object.keys(INDEXES).length);
  });

  it.each(['reader', 'writer', 'verifier'] as const)(
    'bind: the %s gets the table name in its environment',
    (name) => {
      const { template, table } = built;
      expect(environmentOf(template, built[name])).toMatchObject({ [ENV.tableName]: ref(table.table) });
    },
  );

  it('bindRead: GetItem and Query on the table and each index, nothing else', () => {
    const { template, table, reader } = built;
    expect(grantsOf(template, reader)).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: [...TABLE_READ_ACTIONS],
        Resource: [arnOf(table.table), ...Object.values(INDEXES).map(() => expect.anything())],
      }),
    ]);
  });

  it('bindReadWrite: the reads, plus item writes on the base table only', () => {
    const { template, table, writer } = built;
    const grants = grantsOf(template, writer);
    expect(grants).toHaveLength(2);
    expect(grants[0]?.Action).toEqual([...TABLE_READ_ACTIONS]);
    expect(grants[1]).toMatchObject({ Action: [...TABLE_WRITE_ACTIONS], Resource: arnOf(table.table) });
  });

  it('bindVerify: GetItem of credential items, the lastUsedAt update of token items and the rate counters, nothing else', () => {
    const { template, table, verifier } = built;
    expect(grantsOf(template, verifier)).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: arnOf(table.table),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CREDENTIAL#*'] } },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: arnOf(table.table),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['TOKEN#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      },
      {
        // Strict-mode rate counters (HTTP APIs): RATE# items, naming only their own attributes.
        Effect: 'Allow',
        Action: 'dynamodb:UpdateItem',
        Resource: arnOf(table.table),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RATE#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'sk', 'count', 'entity', 'ttl'] },
          StringEquals: { 'dynamodb:ReturnValues': 'UPDATED_NEW' },
        },
      },
    ]);
  });
});

describe('TokenTable indexes: what they copy, and the upgrade from the legacy ones (#18 item 8)', () => {
  function gsisAt(step: number | undefined) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'TokenTableIndexes');
    const table = new TokenTable(stack, 'TokenTable', step === undefined ? {} : { indexUpgradeStep: step });
    const reader = new ServiceFunction(stack, 'Reader', {
      entry: FUNCTION_ENTRIES.demoApi,
      description: 'r',
    });
    table.bindRead(reader);
    const template = Template.fromStack(stack);
    const properties = Object.values(template.findResources('AWS::DynamoDB::Table'))[0]?.Properties;
    const gsis = (properties?.GlobalSecondaryIndexes ?? []) as {
      IndexName: string;
      Projection: { ProjectionType: string; NonKeyAttributes?: string[] };
    }[];
    return { gsis, environment: environmentOf(template, reader), table };
  }

  it('a new stack: byOwner2 and byAccount2 include only listing fields, byExpiryDay2 only keys; nothing ALL', () => {
    const { gsis } = gsisAt(undefined);
    const byName = new Map(gsis.map((gsi) => [gsi.IndexName, gsi.Projection]));
    expect([...byName.keys()].sort()).toEqual(['byAccount2', 'byExpiryDay2', 'byOwner2']);
    expect(byName.get('byExpiryDay2')).toEqual({ ProjectionType: 'KEYS_ONLY' });
    for (const name of ['byOwner2', 'byAccount2']) {
      const projection = byName.get(name);
      expect(projection?.ProjectionType).toBe('INCLUDE');
      expect(projection?.NonKeyAttributes).toEqual(
        expect.arrayContaining(['name', 'scopes', 'actor', 'details']),
      );
      for (const secretOrUnread of [
        'secretHash',
        'previousSecretHash',
        'ownerEmail',
        'lastChange',
        'keyVersion',
        'ttl',
      ]) {
        expect(projection?.NonKeyAttributes).not.toContain(secretOrUnread);
      }
    }
  });

  // Steps: before (the legacy layout every stack deployed until now has), 1-6, then unset (done).
  const STEPS: readonly (number | 'legacy' | undefined)[] = ['legacy', 1, 2, 3, 4, 5, 6, undefined];
  const layoutAt = (step: number | 'legacy' | undefined) =>
    step === 'legacy'
      ? {
          names: Object.values(LEGACY_INDEXES).map((index) => index.indexName),
          reads: 'legacy',
          arns: Object.values(LEGACY_INDEXES).length,
        }
      : (() => {
          const { gsis, environment, table } = gsisAt(step);
          return {
            names: gsis.map((gsi) => gsi.IndexName),
            reads: environment[ENV.tableIndexes] === 'legacy' ? 'legacy' : 'current',
            arns: table.indexArns.length,
          };
        })();

  it('each upgrade deploy adds or removes one index, or only switches the reads once all are there', () => {
    const layouts = STEPS.map(layoutAt);
    for (let i = 1; i < layouts.length; i++) {
      const before = new Set(layouts[i - 1]?.names);
      const after = new Set(layouts[i]?.names);
      const changed =
        [...before].filter((name) => !after.has(name)).length +
        [...after].filter((name) => !before.has(name)).length;
      const switched = layouts[i - 1]?.reads !== layouts[i]?.reads;
      expect({ step: STEPS[i], changes: changed + (switched ? 1 : 0) }).toEqual({
        step: STEPS[i],
        changes: 1,
      });
      // The functions never read an index the table does not have.
      const read = layouts[i]?.reads === 'legacy' ? LEGACY_INDEXES : INDEXES;
      for (const index of Object.values(read)) expect(after.has(index.indexName)).toBe(true);
      expect(layouts[i]?.arns).toBe(after.size);
    }
    expect(layouts.at(-1)?.names.sort()).toEqual(
      Object.values(INDEXES)
        .map((index) => index.indexName)
        .sort(),
    );
  });

  it.each([1, 2, 3, 4, 5, 6, undefined])(
    'step %s stays within 100 projected attributes per table',
    (step) => {
      const { gsis } = gsisAt(step);
      const projected = gsis.reduce((sum, gsi) => sum + (gsi.Projection.NonKeyAttributes?.length ?? 0), 0);
      expect(projected).toBeLessThanOrEqual(100);
    },
  );

  it('an unknown step fails synth', () => {
    expect(() => gsisAt(7)).toThrow(/indexUpgradeStep/);
  });
});
