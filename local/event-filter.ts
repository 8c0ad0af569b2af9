// Lambda's event filtering (filter criteria of an event source mapping), for the local stream
// poller: the same pattern object the CDK construct deploys decides locally which records reach a
// function, so the two cannot drift. Only the part of the syntax this service uses is supported:
// nested objects, exact values (strings, numbers, booleans, null) and `{ prefix }`. Any other
// operator throws when the matcher is built, rather than letting a record through silently.

export type FilterValue = string | number | boolean | null | { readonly prefix: string };

export interface FilterPattern {
  readonly [key: string]: readonly FilterValue[] | FilterPattern;
}

type RecordFilter = (record: unknown) => boolean;

/** A predicate that holds for exactly the events Lambda would deliver under `pattern`. */
export function filterOf(pattern: FilterPattern): RecordFilter {
  checkPattern(pattern, '');
  return (record) => matches(pattern, record);
}

function checkPattern(pattern: FilterPattern, path: string): void {
  for (const [key, rule] of Object.entries(pattern)) {
    const where = `${path}${key}`;
    if (!Array.isArray(rule)) {
      checkPattern(rule as FilterPattern, `${where}.`);
      continue;
    }
    if (rule.length === 0) throw new Error(`filter pattern: ${where} has an empty list`);
    for (const value of rule as readonly unknown[]) {
      if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) continue;
      const keys = typeof value === 'object' ? Object.keys(value) : [];
      const prefix = (value as { prefix?: unknown }).prefix;
      if (keys.length === 1 && typeof prefix === 'string') continue;
      throw new Error(`filter pattern: ${where} uses an operator the local poller does not support`);
    }
  }
}

function matches(pattern: FilterPattern, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    // As in Lambda: a field the pattern names but the event lacks does not match.
    if (!(key in fields)) return false;
    const field = fields[key];
    if (!Array.isArray(rule)) return matches(rule as FilterPattern, field);
    const candidates = Array.isArray(field) ? field : [field];
    return candidates.some((candidate) =>
      (rule as readonly FilterValue[]).some((v) => valueMatches(v, candidate)),
    );
  });
}

function valueMatches(rule: FilterValue, candidate: unknown): boolean {
  if (rule !== null && typeof rule === 'object') {
    return typeof candidate === 'string' && candidate.startsWith(rule.prefix);
  }
  return rule === candidate;
}
