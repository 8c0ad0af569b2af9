// The scope and area patterns, in a module without zod: the token authorizer's bundle needs them
// (gateway-scope.ts, route-scopes.ts, gateway-policy.ts) but must not pull in zod. settings.ts
// re-exports them for everyone else.

export const AREA_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
export const SCOPE_PATTERN = /^([a-z][a-z0-9-]{0,39}):(read|write)$/;
export type ScopeAction = 'read' | 'write';
