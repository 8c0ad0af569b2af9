// Unit files that replace modules (`vi.mock`, `vi.resetModules`) or import a handler after stubbing
// its environment (`stubHandlerEnv`, then `await import(…)`: the handler reads it once, at import):
// they get fresh modules (vitest's default). A new file belongs here if it does either.
export const UNIT_FILES_THAT_NEED_ISOLATION = [
  'test/unit/authorizer/token-authorizer.test.ts',
  'test/unit/authorizer/access-model.test.ts',
  'test/unit/authorizer/gateway-hardening.test.ts',
  'test/unit/authorizer/strict-limits.test.ts',
  'test/unit/authorizer/decision-log.test.ts',
  'test/unit/authorizer/json-line-logger.test.ts',
  'test/unit/jwt/jwt-authorizer.test.ts',
  'test/unit/fault-matrix.test.ts',
  'test/unit/management/http-plumbing.test.ts',
  'test/unit/management/list-cursor-key.test.ts',
  'test/unit/hmac-key-resource/handler.test.ts',
  'test/unit/local/lambda-runtime.test.ts',
  'test/unit/authorizer/fuzz-authorizer.test.ts',
  'test/unit/authorizer/demo-api.test.ts',
  'test/unit/notifications/reminder-handler.test.ts',
];

/** What makes a unit file need fresh modules (test/unit/unit-isolation.test.ts keeps the list true). */
export const NEEDS_ISOLATION =
  /\bvi\.(?:mock|doMock|resetModules|stubEnv)\(|\bstubHandlerEnv\(|\bawait import\(\s*['"]\./;
