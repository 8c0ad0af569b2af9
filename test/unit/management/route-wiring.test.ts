import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ManagementRouteName } from '../../../lambdas/contract/routes.js';
import { ROUTE_DEPLOYMENTS } from '../../../lib/function-entries.js';
import { MANAGEMENT_ROUTE_FACTORIES } from '../../support/management-deps.js';

// The unit tests call each route's factory (lambdas/<route>/route.ts) with deps they build; the
// deployed function runs handler.ts beside it, which builds the deps from its environment and
// exports that same factory's handler. This keeps the two one thing: a handler.ts that did its own
// routing would be tested by nothing.

const ROOT = resolve(import.meta.dirname, '../../..');

describe('management routes: handler.ts wires the factory the tests call', () => {
  for (const [name, factory] of Object.entries(MANAGEMENT_ROUTE_FACTORIES)) {
    it(`${name}: ${factory.name} in route.ts, exported as handler by handler.ts`, () => {
      const entry = ROUTE_DEPLOYMENTS[name as ManagementRouteName].entry;
      expect(entry).toMatch(/\/handler\.ts$/);
      const route = readFileSync(join(ROOT, dirname(entry), 'route.ts'), 'utf8');
      const handler = readFileSync(join(ROOT, entry), 'utf8');
      expect(route).toMatch(new RegExp(`^export function ${factory.name}\\(`, 'm'));
      expect(handler).toMatch(new RegExp(`^import \\{ ${factory.name} \\} from '\\./route\\.js';$`, 'm'));
      expect(handler).toMatch(new RegExp(`^export const handler = ${factory.name}\\(`, 'm'));
    });
  }

  it('every deployed route has a factory', () => {
    expect(Object.keys(MANAGEMENT_ROUTE_FACTORIES).sort()).toEqual(Object.keys(ROUTE_DEPLOYMENTS).sort());
  });
});
