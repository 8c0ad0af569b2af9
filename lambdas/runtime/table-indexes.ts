import { type TableIndexes, tableIndexesOf } from '../adapters/table-definition.js';
import { ENV, optionalEnv } from './env.js';

/**
 * The indexes this function queries: the legacy ones while TABLE_INDEXES is "legacy" (the first
 * steps of an index upgrade, set by the stack), the current ones otherwise.
 */
export function tableIndexesFromEnv(env: NodeJS.ProcessEnv = process.env): TableIndexes {
  return tableIndexesOf(optionalEnv(ENV.tableIndexes, env));
}
