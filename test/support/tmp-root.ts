/**
 * The run's temporary directory (made by vitest.config.ts, removed when the vitest process exits):
 * every test file's own directory is made inside it (test/support/temp-dir.ts).
 */
export const TEST_TMP_ROOT_ENV = 'ACCESS_TOKENS_TEST_TMP_ROOT';
