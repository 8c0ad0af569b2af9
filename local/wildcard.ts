// IAM-style wildcard matching as API Gateway applies it to the Resource (and Action) of an
// authorizer's policy: `*` matches any run of characters (also `/` and `:`), `?` exactly one.
// Everything else is literal. Linear-time two-pointer match (no regular expressions, so an
// authorizer's policy cannot make the gateway backtrack).

export function matchesWildcard(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (v < value.length) {
    const symbol = pattern[p];
    if (symbol === '?' || (symbol !== undefined && symbol !== '*' && symbol === value[v])) {
      p += 1;
      v += 1;
    } else if (symbol === '*') {
      starAt = p;
      resumeAt = v;
      p += 1;
    } else if (starAt !== -1) {
      p = starAt + 1;
      resumeAt += 1;
      v = resumeAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p += 1;
  return p === pattern.length;
}
