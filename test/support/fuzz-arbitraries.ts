import fc from 'fast-check';

// fast-check arbitraries shared by the fuzz suites (test/unit/management/fuzz-routes.test.ts,
// test/unit/authorizer/fuzz-authorizer.test.ts): hostile text, hostile JSON, near-limit sizes.

/** Runs per property; `FC_RUNS=5000 npx vitest run ...` raises it. */
export const FUZZ_RUNS = Number(process.env.FC_RUNS ?? 300);

/** Short hostile strings: binary UTF-16 units (lone surrogates included), graphemes, controls, classics. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\r\n',
    '\ud800',
    '\udfff',
    'a\udc00b',
    '\ufeff',
    '\u202e',
    '💥'.repeat(30),
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '*',
    '#',
    'a#b',
    '%00',
    '%2F',
    '../..',
    '\u0024{jndi:x}',
    'null',
    'undefined',
    'NaN',
    '-0',
    '1e309',
  ),
  fc.string({
    unit: fc.constantFrom('\u0000', '\u0007', '\n', '\t', '\u001b', '\u007f', '\u0085', '\u2028', 'a', '#'),
    maxLength: 40,
  }),
);

/** Strings around and beyond the 16 KB body limit, in single- and multi-byte characters. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 1, max: 3 * 16 * 1024 }),
    fc.constantFrom('x', 'é', '💥', '\u0000', '\ud800', '"', '\\'),
  )
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: nastyString },
  { weight: 1, arbitrary: hugeString },
);

export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4 });

/** `{"<field>": [[[[...]]]]}` or `{"<field>": {"a":{"a":...}}}`, up to 7000 levels. */
export function deepJson(fields: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.integer({ min: 1, max: 7_000 }), fc.constantFrom('[', '{"a":'), fc.constantFrom(...fields, 'x'))
    .map(([depth, opener, field]) => {
      const closer = opener === '[' ? ']' : '}';
      return `{"${field}":${opener.repeat(depth)}${opener === '[' ? '' : '1'}${closer.repeat(depth)}}`;
    });
}

/** A value of any type, weighted towards the plausible ones. */
export function fieldValue(plausible: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...plausible) },
    { weight: 2, arbitrary: anyString },
    { weight: 2, arbitrary: anyJson },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(anyString, { maxLength: 60 }),
      ),
    },
  );
}

/** JSON text escaped as it would appear inside a JSON log line (without the quotes). */
export const jsonEscaped = (text: string): string => JSON.stringify(text).slice(1, -1);
