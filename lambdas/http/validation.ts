import type { z } from 'zod';
import { type ErrorDetail, ValidationError } from '../core/errors.js';

// Request validation: a zod failure on client input becomes a ValidationError (400) with one
// detail per problem. Zod errors raised anywhere else (e.g. a stored item that no longer parses) are
// server faults and stay 500s: they never reach the client as a 400.

function detailsOf(error: z.ZodError): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'unknown field' }));
    }
    return [{ path: path.join('.'), message: issue.message }];
  });
}

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError(`Invalid ${what}`, detailsOf(result.error));
  return result.data;
}
