import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CURSOR_KEY_PURPOSE, HMAC_KEY_PURPOSE } from '../../../lambdas/core/key-context.js';
import { ENV } from '../../../lambdas/runtime/env.js';
import { HmacKey } from '../../../lib/constructs/hmac-key.js';
import { ServiceFunction } from '../../../lib/constructs/service-function.js';
import { FUNCTION_ENTRIES } from '../../../lib/function-entries.js';
import { arnOf, logicalIdOf, statementsOfRole } from '../helpers.js';

// HmacKey in a stack of its own, with one function bound to each data key. Bundling is skipped.

describe('HmacKey construct', () => {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'HmacKeyTest');
  const hmacKey = new HmacKey(stack, 'HmacKey');
  const fn = (id: string) =>
    new ServiceFunction(stack, id, { entry: FUNCTION_ENTRIES.demoApi, description: id });
  const hasher = fn('Hasher');
  const lister = fn('Lister');
  hmacKey.bindDecrypt(hasher);
  hmacKey.bindDecryptCursorKey(lister);
  const template = Template.fromStack(stack);
  const environmentOf = (f: ServiceFunction) =>
    template.findResources('AWS::Lambda::Function')[logicalIdOf(f.function)]?.Properties.Environment
      .Variables;
  const grantsOf = (f: ServiceFunction) =>
    statementsOfRole(template, logicalIdOf(f.role)).filter((statement) => statement.Sid !== 'WriteOwnLogs');

  it('is a rotating KMS key, retained on replacement and on delete (except the rollback of its creation)', () => {
    template.hasResource('AWS::KMS::Key', {
      Properties: { EnableKeyRotation: true },
      UpdateReplacePolicy: 'Retain',
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  it('bindDecrypt: the HMAC key in the environment, Decrypt under its context only', () => {
    expect(environmentOf(hasher)).toMatchObject({ [ENV.hmacKeyVersion]: hmacKey.version });
    expect(environmentOf(hasher)[ENV.hmacKeyCiphertext]).toBeDefined();
    expect(environmentOf(hasher)[ENV.cursorKeyCiphertext]).toBeUndefined();
    expect(grantsOf(hasher)).toEqual([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: arnOf(hmacKey.key),
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:purpose': HMAC_KEY_PURPOSE,
            'kms:EncryptionContext:keyVersion': hmacKey.version,
          },
        },
      },
    ]);
  });

  it('bindDecryptCursorKey: the cursor key in the environment, Decrypt under its context only', () => {
    expect(environmentOf(lister)).toMatchObject({ [ENV.cursorKeyVersion]: hmacKey.cursorKeyVersion });
    expect(environmentOf(lister)[ENV.hmacKeyCiphertext]).toBeUndefined();
    expect(grantsOf(lister)).toEqual([
      expect.objectContaining({
        Action: 'kms:Decrypt',
        Condition: {
          StringEquals: {
            'kms:EncryptionContext:purpose': CURSOR_KEY_PURPOSE,
            'kms:EncryptionContext:keyVersion': hmacKey.cursorKeyVersion,
          },
        },
      }),
    ]);
  });

  it("names each bound role in the key policy's statement for its data key", () => {
    const [key] = Object.values(template.findResources('AWS::KMS::Key'));
    const statements: { Sid?: string; Condition?: unknown }[] = key?.Properties.KeyPolicy.Statement ?? [];
    const principalsOf = (sid: string) =>
      JSON.stringify(statements.find((statement) => statement.Sid === sid)?.Condition);
    expect(principalsOf('DecryptHmacKey')).toContain(logicalIdOf(hasher.role));
    expect(principalsOf('DecryptHmacKey')).not.toContain(logicalIdOf(lister.role));
    expect(principalsOf('DecryptCursorKey')).toContain(logicalIdOf(lister.role));
  });
});
