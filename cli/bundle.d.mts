// Types for cli/bundle.mjs (plain JavaScript: it runs before any TypeScript loader).
export declare function freshBundle(paths: {
  entry: string;
  outfile: string;
  root: string;
}): Promise<string | undefined>;
