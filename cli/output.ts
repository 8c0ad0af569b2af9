// Human output: aligned columns. Hand-written rather than a table library: a dozen lines, plain
// text only (no borders, no colours), so that `grep`/`awk` work on it the way they do on `gh`'s.

export type Cell = string | number | boolean | null | undefined | readonly string[];

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => Cell;
}

function cellText(value: Cell): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.join(',');
  return String(value);
}

/** Rows as aligned columns under upper-case headers; the last column is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(cellText(column.value(row)))));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = headers.map((header, index) =>
    Math.max(header.length, ...cells.map((line) => (line[index] ?? '').length)),
  );
  const render = (line: readonly string[]) =>
    line
      .map((cell, index) => (index === line.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(headers), ...cells.map(render)].join('\n');
}

/** Field: value lines for one record. */
export function keyValues(entries: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries
    .map(([key, value]) => `${`${key}:`.padEnd(width + 2)}${oneLine(cellText(value))}`)
    .join('\n');
}

// A name or description may hold a line break or a tab (descriptions may): one line per row.
function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

// A token's shape (lambdas/core/token-format.ts: a prefix of 2–16 lower-case characters, `_`, 49
// base62 characters), loosely: ids (`tok_`, `evt_` + 22) are far shorter.
const SECRET_SHAPE = /\b([a-z][a-z0-9]{1,15})_[0-9A-Za-z]{30,}\b/g;

/**
 * Error text with anything shaped like a token secret replaced. commander repeats a refused value in
 * its message ("argument 'atk_…' is invalid"): a secret pasted where a token id goes must not be
 * echoed into a terminal or a CI log.
 */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_SHAPE, '$1_…(redacted)');
}
