// Route matching as an API Gateway REST API does it: paths use `{param}` and a final greedy
// `{param+}`; the most specific resource wins (at each segment a literal beats `{param}`, which
// beats `{param+}`), and then the method must be one of that resource's methods or `ANY`. REST APIs
// answer both "no such resource" and "no such method on it" with the same MISSING_AUTHENTICATION_TOKEN
// gateway response (this project's stack maps it to 404), so the two are reported apart here only
// for the log.

export interface GatewayRoute<T> {
  /** An HTTP method in upper case, or `ANY`. */
  readonly method: string;
  /** The resource path, e.g. `/tokens/{id}` or `/demo/{area}/{proxy+}`. */
  readonly path: string;
  readonly target: T;
}

type RouteMatch<T> =
  | {
      readonly kind: 'matched';
      readonly route: GatewayRoute<T>;
      readonly pathParameters: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'noResource' }
  | { readonly kind: 'noMethod' };

type Segment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

const RANK: Readonly<Record<Segment['kind'], number>> = { literal: 0, param: 1, greedy: 2 };

interface Resource<T> {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly routes: GatewayRoute<T>[];
}

function splitPath(path: string): string[] {
  const trimmed = path.startsWith('/') ? path.slice(1) : path;
  return trimmed === '' ? [] : trimmed.split('/');
}

export function parseResourcePath(path: string): Segment[] {
  const parts = splitPath(path);
  return parts.map((part, index) => {
    const param = /^\{([A-Za-z0-9_.-]+)(\+?)\}$/.exec(part);
    if (param === null) return { kind: 'literal', value: part };
    const name = param[1] ?? '';
    if (param[2] === '+') {
      if (index !== parts.length - 1) throw new Error(`greedy parameter must be last: ${path}`);
      return { kind: 'greedy', name };
    }
    return { kind: 'param', name };
  });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The path parameters when the resource matches the (still encoded) request path, else undefined. */
function matchResource(segments: readonly Segment[], rawParts: readonly string[]) {
  const parameters: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    const part = rawParts[index];
    if (part === undefined || part === '') return undefined;
    if (segment.kind === 'literal') {
      if (decode(part) !== segment.value) return undefined;
    } else if (segment.kind === 'param') {
      parameters[segment.name] = decode(part);
    } else {
      const rest = rawParts.slice(index);
      if (rest.some((piece) => piece === '')) return undefined;
      parameters[segment.name] = rest.map(decode).join('/');
      return parameters;
    }
  }
  return rawParts.length === segments.length ? parameters : undefined;
}

/** Negative when `a` is more specific than `b`. */
function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const left = a[index];
    const right = b[index];
    if (left === undefined || right === undefined)
      return (left === undefined ? 1 : 0) - (right === undefined ? 1 : 0);
    const difference = RANK[left.kind] - RANK[right.kind];
    if (difference !== 0) return difference;
  }
  return 0;
}

export class RouteTable<T> {
  private readonly resources: Resource<T>[] = [];

  constructor(routes: readonly GatewayRoute<T>[]) {
    for (const route of routes) {
      let resource = this.resources.find((candidate) => candidate.path === route.path);
      if (resource === undefined) {
        resource = { path: route.path, segments: parseResourcePath(route.path), routes: [] };
        this.resources.push(resource);
      }
      if (resource.routes.some((existing) => existing.method === route.method)) {
        throw new Error(`duplicate route ${route.method} ${route.path}`);
      }
      resource.routes.push(route);
    }
  }

  /** `path` is the request path without the query string, as received (percent-encoded). */
  match(method: string, path: string): RouteMatch<T> {
    const rawParts = splitPath(path);
    let best: { resource: Resource<T>; parameters: Record<string, string> } | undefined;
    for (const resource of this.resources) {
      const parameters = matchResource(resource.segments, rawParts);
      if (parameters === undefined) continue;
      if (best === undefined || compareSpecificity(resource.segments, best.resource.segments) < 0) {
        best = { resource, parameters };
      }
    }
    if (best === undefined) return { kind: 'noResource' };
    const upper = method.toUpperCase();
    const route =
      best.resource.routes.find((candidate) => candidate.method === upper) ??
      best.resource.routes.find((candidate) => candidate.method === 'ANY');
    if (route === undefined) return { kind: 'noMethod' };
    return { kind: 'matched', route, pathParameters: best.parameters };
  }
}
