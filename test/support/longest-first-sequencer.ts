import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The files that take longest, started first within their project. Vitest orders a project's files by
// their durations in its results cache, which a clean clone (CI) does not have; it then orders them by
// size, and the lifecycle e2e file (a minute: five local stacks, one after another) started last and ran
// alone at the end of its project. Elsewhere the cache's order stands (these go first either way).
// The list is a hint, not a rule: a file missing from it only starts in vitest's own order.
const LONGEST_FIRST = [
  'test/e2e/local-stack-lifecycle.test.ts',
  'test/e2e/console.test.ts',
  'test/e2e/local-stack.test.ts',
  'test/e2e/cli.test.ts',
  'test/infra/regions.test.ts',
  'test/integration/revoke-all-job.test.ts',
  'test/integration/notifications-delivery.test.ts',
  'test/integration/leaks.test.ts',
  'test/integration/lifecycle-gateway.test.ts',
];

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const projectOrder = new Map<string, number>();
    for (const file of sorted) {
      if (!projectOrder.has(file.project.name)) projectOrder.set(file.project.name, projectOrder.size);
    }
    const rank = (file: TestSpecification) => {
      const index = LONGEST_FIRST.indexOf(
        relative(file.project.config.root, file.moduleId).replaceAll('\\', '/'),
      );
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // Array.prototype.sort is stable: unlisted files keep vitest's order.
    return sorted.sort(
      (a, b) =>
        (projectOrder.get(a.project.name) ?? 0) - (projectOrder.get(b.project.name) ?? 0) ||
        rank(a) - rank(b),
    );
  }
}
