import { randomBytes } from 'node:crypto';
import {
  nextQuotaPeriodStart,
  QUOTA_PERIODS,
  type Quota,
  type QuotaPeriod,
  quotaPeriodStart,
  type RateLimit,
} from '../lambdas/core/rate-limits.js';
import type { GatewayResponse } from './gateway-responses.js';

// The local stand-in for API Gateway's usage plans (docs/rate-limits.md "Local emulation"): the
// part of API Gateway's REST management API that the usage-plan adapter
// (lambdas/adapters/api-gateway-usage-plans.ts) calls, served over HTTP by the local gateway under
// API_GATEWAY_EMULATOR_PATH (the local functions reach it through the SDK's standard
// AWS_ENDPOINT_URL_API_GATEWAY), and the enforcement the deployed gateway does with them: a token
// bucket and a quota per API key (`admit`), whose counts are what GetUsage returns.
//
// Hand-written: there is no maintained in-process emulator of API Gateway's management API on npm
// (LocalStack is a Python service with a container); the subset is small and this file keeps to
// the wire shapes @aws-sdk/client-api-gateway sends and parses (restJson1: its paths and query
// names, the JSON names of its schemas, `item` for lists, timestamps in epoch seconds, errors as
// `x-amzn-errortype` plus `{"message"}` with the status the SDK maps to the same exception).
//
// Operations: CreateApiKey, GetApiKeys (name, includeValues, limit, position), GetApiKey,
// DeleteApiKey, CreateUsagePlan, GetUsagePlans (keyId, limit, position), GetUsagePlan,
// UpdateUsagePlan (add/remove /apiStages, replace /throttle/* and /quota/*, /name, /description),
// DeleteUsagePlan, CreateUsagePlanKey, GetUsagePlanKeys, DeleteUsagePlanKey, GetUsage. Anything
// else is a 404 NotFoundException naming the unsupported operation. State is in memory.

/** Where the local gateway serves the emulated management API. */
export const API_GATEWAY_EMULATOR_PATH = '/_aws/apigateway';

/** The emulated management API's URL, as the SDK's endpoint (AWS_ENDPOINT_URL_API_GATEWAY). */
export function apiGatewayEmulatorUrl(gatewayUrl: string): string {
  return `${gatewayUrl}${API_GATEWAY_EMULATOR_PATH}`;
}

/** Milliseconds: `monotonic` for the buckets (never jumps), `wall` for quota periods and dates. */
export interface EmulatorClock {
  monotonicMs(): number;
  wallMs(): number;
}

const SYSTEM_CLOCK: EmulatorClock = { monotonicMs: () => performance.now(), wallMs: () => Date.now() };

export interface ApiStageId {
  readonly apiId: string;
  readonly stage: string;
}

/** What the gateway does with a request whose authorizer named `keyValue`. */
export type Admission =
  | { readonly kind: 'allowed' }
  /** No such key, a disabled key, or a key in no plan of this stage: API Gateway's INVALID_API_KEY. */
  | { readonly kind: 'keyNotReady' }
  /** The plan's token bucket is empty: THROTTLED. */
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number }
  /** The plan's quota for this period is used up: QUOTA_EXCEEDED. */
  | { readonly kind: 'quotaExceeded'; readonly retryAfterSeconds: number };

interface EmulatorRequest {
  readonly method: string;
  /** The path below API_GATEWAY_EMULATOR_PATH, e.g. `/apikeys/abc`. */
  readonly path: string;
  readonly query: readonly (readonly [string, string])[];
  readonly body: string | null;
}

interface ApiKeyState {
  readonly id: string;
  readonly value: string;
  name: string;
  description: string | undefined;
  enabled: boolean;
  readonly createdDate: number;
  lastUpdatedDate: number;
}

interface PlanState {
  readonly id: string;
  name: string;
  description: string | undefined;
  apiStages: ApiStageId[];
  throttle: RateLimit | undefined;
  quota: Quota | undefined;
  readonly keyIds: Set<string>;
}

interface Bucket {
  tokens: number;
  at: number;
}

class ApiError extends Error {
  constructor(
    readonly type: 'BadRequestException' | 'ConflictException' | 'NotFoundException',
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const badRequest = (message: string) => new ApiError('BadRequestException', 400, message);
const conflict = (message: string) => new ApiError('ConflictException', 409, message);
const notFound = (message: string) => new ApiError('NotFoundException', 404, message);

const DEFAULT_PAGE_SIZE = 25;
const MAX_PAGE_SIZE = 500;
const DAY_MS = 86_400_000;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stageKey(stage: ApiStageId): string {
  return `${stage.apiId}:${stage.stage}`;
}

function parseStageKey(value: unknown): ApiStageId {
  const [apiId, stage, ...rest] = typeof value === 'string' ? value.split(':') : [];
  if (apiId === undefined || apiId === '' || stage === undefined || stage === '' || rest.length > 0) {
    throw badRequest(`Invalid API stage ${String(value)}: expected <apiId>:<stage>`);
  }
  return { apiId, stage };
}

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function parseDay(value: string | undefined, name: string): number {
  if (value === undefined || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw badRequest(`${name} must be a date (yyyy-MM-dd)`);
  }
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (Number.isNaN(ms)) throw badRequest(`${name} must be a date (yyyy-MM-dd)`);
  return ms;
}

export class ApiGatewayEmulator {
  private readonly keys = new Map<string, ApiKeyState>();
  private readonly keysByValue = new Map<string, ApiKeyState>();
  private readonly plans = new Map<string, PlanState>();
  /** `<planId> <keyId>` → bucket. */
  private readonly buckets = new Map<string, Bucket>();
  /** `<planId> <keyId>` → UTC day → requests let through. */
  private readonly usage = new Map<string, Map<string, number>>();
  private readonly stages: Set<string>;
  private readonly clock: EmulatorClock;
  private sequence = 0;

  constructor(options: { readonly stages?: readonly ApiStageId[]; readonly clock?: EmulatorClock } = {}) {
    this.stages = new Set((options.stages ?? []).map(stageKey));
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Makes a stage known (a deployed stage exists before a plan can name it). */
  addStage(stage: ApiStageId): void {
    this.stages.add(stageKey(stage));
  }

  // --- enforcement ----------------------------------------------------------------------------

  /**
   * One request on `stage` whose authorizer answered `keyValue`: the key's plan on that stage,
   * its token bucket (`burst` requests, refilled at `requestsPerSecond`) and then its quota for the
   * current period (UTC). Only a request let through is counted (and taken from the bucket).
   */
  admit(stage: ApiStageId, keyValue: string): Admission {
    const key = this.keysByValue.get(keyValue);
    if (key === undefined || !key.enabled) return { kind: 'keyNotReady' };
    const wanted = stageKey(stage);
    const plan = [...this.plans.values()].find(
      (candidate) => candidate.keyIds.has(key.id) && candidate.apiStages.some((s) => stageKey(s) === wanted),
    );
    if (plan === undefined) return { kind: 'keyNotReady' };
    const pair = `${plan.id} ${key.id}`;
    let bucket: Bucket | undefined;
    if (plan.throttle !== undefined) {
      const { requestsPerSecond, burst } = plan.throttle;
      const now = this.clock.monotonicMs();
      bucket = this.buckets.get(pair) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * requestsPerSecond);
      bucket.at = now;
      this.buckets.set(pair, bucket);
      if (bucket.tokens < 1) {
        // A rate of 0 never refills: say 1 s, as API Gateway's Retry-After would at least.
        const seconds = requestsPerSecond > 0 ? Math.ceil((1 - bucket.tokens) / requestsPerSecond) : 1;
        return { kind: 'throttled', retryAfterSeconds: Math.max(1, seconds) };
      }
    }
    const wall = this.clock.wallMs();
    if (plan.quota !== undefined) {
      const used = this.usedInPeriod(pair, plan.quota.period, wall);
      if (used >= plan.quota.limit) {
        const reset = nextQuotaPeriodStart(plan.quota.period, new Date(wall)).getTime();
        return { kind: 'quotaExceeded', retryAfterSeconds: Math.max(1, Math.ceil((reset - wall) / 1000)) };
      }
    }
    if (bucket !== undefined) bucket.tokens -= 1;
    const days = this.usage.get(pair) ?? new Map<string, number>();
    const today = utcDay(wall);
    days.set(today, (days.get(today) ?? 0) + 1);
    this.usage.set(pair, days);
    return { kind: 'allowed' };
  }

  private usedInPeriod(pair: string, period: QuotaPeriod, wall: number): number {
    const from = utcDay(quotaPeriodStart(period, new Date(wall)).getTime());
    let used = 0;
    for (const [day, count] of this.usage.get(pair) ?? []) if (day >= from) used += count;
    return used;
  }

  // --- the management API over HTTP -----------------------------------------------------------

  /** One management API call (the path below API_GATEWAY_EMULATOR_PATH). */
  handle(request: EmulatorRequest): GatewayResponse {
    try {
      const { status, body } = this.route(request);
      return {
        statusCode: status,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? '' : JSON.stringify(body),
      };
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError('BadRequestException', 400, error instanceof Error ? error.message : String(error));
      return {
        statusCode: apiError.status,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': apiError.type },
        body: JSON.stringify({ message: apiError.message }),
      };
    }
  }

  private route(request: EmulatorRequest): { status: number; body?: unknown } {
    const method = request.method.toUpperCase();
    const parts = request.path
      .split('/')
      .filter((part) => part !== '')
      .map((part) => decodeURIComponent(part));
    const query = new Map(request.query.map(([name, value]) => [name, value] as const));
    const body = (): Json => {
      if (request.body === null || request.body === '') return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(request.body);
      } catch {
        throw badRequest('Invalid JSON body');
      }
      if (!isRecord(parsed)) throw badRequest('The body must be a JSON object');
      return parsed;
    };
    const [collection, id, sub, subId, leaf] = parts;
    if (collection === 'apikeys' && sub === undefined) {
      if (id === undefined && method === 'POST') return { status: 201, body: this.createApiKey(body()) };
      if (id === undefined && method === 'GET') return { status: 200, body: this.getApiKeys(query) };
      if (id !== undefined && method === 'GET')
        return { status: 200, body: this.keyView(this.keyById(id), query.get('includeValue') === 'true') };
      if (id !== undefined && method === 'DELETE') {
        this.deleteApiKey(id);
        return { status: 202 };
      }
    }
    if (collection === 'usageplans') {
      if (id === undefined && method === 'POST') return { status: 201, body: this.createUsagePlan(body()) };
      if (id === undefined && method === 'GET') return { status: 200, body: this.getUsagePlans(query) };
      if (id !== undefined && sub === undefined) {
        if (method === 'GET') return { status: 200, body: this.planView(this.planById(id)) };
        if (method === 'PATCH') return { status: 200, body: this.updateUsagePlan(id, body()) };
        if (method === 'DELETE') {
          const plan = this.planById(id);
          const [staged] = plan.apiStages;
          if (staged !== undefined) {
            throw badRequest(
              `Cannot delete Usage Plan ${id} because there are API Stages associated with it, including ${stageKey(staged)}`,
            );
          }
          this.plans.delete(plan.id);
          return { status: 202 };
        }
      }
      if (id !== undefined && sub === 'keys' && leaf === undefined) {
        if (subId === undefined && method === 'POST')
          return { status: 201, body: this.createUsagePlanKey(id, body()) };
        if (subId === undefined && method === 'GET')
          return { status: 200, body: this.getUsagePlanKeys(id, query) };
        if (subId !== undefined && method === 'GET')
          return { status: 200, body: this.planKeyView(this.planKey(id, subId)) };
        if (subId !== undefined && method === 'DELETE') {
          const key = this.planKey(id, subId);
          this.planById(id).keyIds.delete(key.id);
          return { status: 202 };
        }
      }
      if (id !== undefined && sub === 'usage' && subId === undefined && method === 'GET') {
        return { status: 200, body: this.getUsage(id, query) };
      }
    }
    throw notFound(`${method} ${request.path}: not an operation the local API Gateway emulator serves`);
  }

  private nextId(): string {
    // Fixed width, so that ids sort in creation order (the adapter keeps the smallest of a name).
    this.sequence += 1;
    return `${this.sequence.toString(36).padStart(6, '0')}${randomBytes(2).toString('hex')}`;
  }

  // --- API keys -------------------------------------------------------------------------------

  private keyById(id: string): ApiKeyState {
    const key = this.keys.get(id);
    if (key === undefined) throw notFound('Invalid API Key identifier specified');
    return key;
  }

  private keyView(key: ApiKeyState, includeValue: boolean): Json {
    return {
      id: key.id,
      ...(includeValue ? { value: key.value } : {}),
      name: key.name,
      ...(key.description === undefined ? {} : { description: key.description }),
      enabled: key.enabled,
      createdDate: key.createdDate,
      lastUpdatedDate: key.lastUpdatedDate,
      stageKeys: [],
    };
  }

  private createApiKey(input: Json): Json {
    const value = input.value === undefined ? randomBytes(20).toString('hex') : input.value;
    if (typeof value !== 'string' || value.length < 20 || value.length > 128) {
      throw badRequest('API Key value should be at least 20 characters and at most 128 characters');
    }
    if (this.keysByValue.has(value)) throw conflict('API Key already exists');
    const now = Math.floor(this.clock.wallMs() / 1000);
    const key: ApiKeyState = {
      id: this.nextId(),
      value,
      name: typeof input.name === 'string' ? input.name : value,
      description: typeof input.description === 'string' ? input.description : undefined,
      enabled: input.enabled === true,
      createdDate: now,
      lastUpdatedDate: now,
    };
    this.keys.set(key.id, key);
    this.keysByValue.set(value, key);
    return this.keyView(key, true);
  }

  private getApiKeys(query: ReadonlyMap<string, string>): Json {
    const name = query.get('name');
    const keys = [...this.keys.values()].filter((key) => name === undefined || key.name.startsWith(name));
    const includeValues = query.get('includeValues') === 'true';
    return page(keys, query, (key) => this.keyView(key, includeValues));
  }

  private deleteApiKey(id: string): void {
    const key = this.keyById(id);
    this.keys.delete(id);
    this.keysByValue.delete(key.value);
    for (const plan of this.plans.values()) {
      plan.keyIds.delete(id);
      this.buckets.delete(`${plan.id} ${id}`);
    }
  }

  // --- usage plans ----------------------------------------------------------------------------

  private planById(id: string): PlanState {
    const plan = this.plans.get(id);
    if (plan === undefined) throw notFound('Invalid Usage Plan ID specified');
    return plan;
  }

  private planView(plan: PlanState): Json {
    return {
      id: plan.id,
      name: plan.name,
      ...(plan.description === undefined ? {} : { description: plan.description }),
      apiStages: plan.apiStages.map((stage) => ({ apiId: stage.apiId, stage: stage.stage })),
      ...(plan.throttle === undefined
        ? {}
        : { throttle: { rateLimit: plan.throttle.requestsPerSecond, burstLimit: plan.throttle.burst } }),
      ...(plan.quota === undefined
        ? {}
        : { quota: { limit: plan.quota.limit, offset: 0, period: plan.quota.period } }),
    };
  }

  private checkStage(stage: ApiStageId): void {
    if (!this.stages.has(stageKey(stage))) {
      throw badRequest(
        `Invalid API Stage {api: ${stage.apiId}, stage: ${stage.stage}} specified for usageplan`,
      );
    }
  }

  /**
   * API Gateway keeps a key out of two plans on the same stage. Answered as a ConflictException, as
   * the usage-plan adapter expects (API Gateway's documentation does not name the exception).
   */
  private checkOneStagePerKey(keyIds: Iterable<string>, stages: readonly ApiStageId[], except: string): void {
    const wanted = new Set(stages.map(stageKey));
    for (const keyId of keyIds) {
      for (const other of this.plans.values()) {
        if (other.id === except || !other.keyIds.has(keyId)) continue;
        const shared = other.apiStages.find((stage) => wanted.has(stageKey(stage)));
        if (shared !== undefined) {
          throw conflict(
            `API Key ${keyId} cannot reference multiple Usage Plans with the same API Stage: ${stageKey(shared)}`,
          );
        }
      }
    }
  }

  private createUsagePlan(input: Json): Json {
    if (typeof input.name !== 'string' || input.name === '') throw badRequest('Usage plan name is required');
    const apiStages = (Array.isArray(input.apiStages) ? input.apiStages : []).map((stage) =>
      parseStageKey(isRecord(stage) ? `${String(stage.apiId)}:${String(stage.stage)}` : undefined),
    );
    for (const stage of apiStages) this.checkStage(stage);
    const plan: PlanState = {
      id: this.nextId(),
      name: input.name,
      description: typeof input.description === 'string' ? input.description : undefined,
      apiStages,
      throttle: throttleOf(input.throttle),
      quota: quotaOf(input.quota),
      keyIds: new Set(),
    };
    this.plans.set(plan.id, plan);
    return this.planView(plan);
  }

  private getUsagePlans(query: ReadonlyMap<string, string>): Json {
    const keyId = query.get('keyId');
    if (keyId !== undefined) this.keyById(keyId);
    const plans = [...this.plans.values()].filter((plan) => keyId === undefined || plan.keyIds.has(keyId));
    return page(plans, query, (plan) => this.planView(plan));
  }

  private updateUsagePlan(id: string, input: Json): Json {
    const plan = this.planById(id);
    const operations = Array.isArray(input.patchOperations) ? input.patchOperations : [];
    // Applied to a copy, so that a refused operation leaves the plan as it was.
    const next = {
      name: plan.name,
      description: plan.description,
      apiStages: [...plan.apiStages],
      throttle: plan.throttle,
      quota: plan.quota,
    };
    for (const operation of operations) {
      if (!isRecord(operation)) throw badRequest('Invalid patch operation');
      const { op, path, value } = operation;
      const text = typeof value === 'string' ? value : undefined;
      if (path === '/apiStages' && op === 'add') {
        const stage = parseStageKey(text);
        this.checkStage(stage);
        if (next.apiStages.some((s) => stageKey(s) === stageKey(stage))) {
          throw conflict(`Usage plan ${id} already has API stage ${stageKey(stage)}`);
        }
        this.checkOneStagePerKey(plan.keyIds, [stage], plan.id);
        next.apiStages.push(stage);
      } else if (path === '/apiStages' && op === 'remove') {
        const stage = parseStageKey(text);
        const index = next.apiStages.findIndex((s) => stageKey(s) === stageKey(stage));
        if (index === -1) throw notFound(`Usage plan ${id} has no API stage ${stageKey(stage)}`);
        next.apiStages.splice(index, 1);
      } else if (op === 'replace' && path === '/name' && text !== undefined && text !== '') {
        next.name = text;
      } else if (op === 'replace' && path === '/description') {
        next.description = text;
      } else if (op === 'replace' && (path === '/throttle/rateLimit' || path === '/throttle/burstLimit')) {
        const current = next.throttle ?? { requestsPerSecond: 0, burst: 0 };
        const number = positiveNumber(text, String(path));
        next.throttle =
          path === '/throttle/rateLimit'
            ? { ...current, requestsPerSecond: number }
            : { ...current, burst: Math.floor(number) };
      } else if (op === 'replace' && path === '/quota/limit') {
        next.quota = { period: next.quota?.period ?? 'DAY', limit: Math.floor(positiveNumber(text, path)) };
      } else if (op === 'replace' && path === '/quota/period') {
        next.quota = { limit: next.quota?.limit ?? 0, period: periodOf(text) };
      } else if (op === 'remove' && path === '/throttle') {
        next.throttle = undefined;
      } else if (op === 'remove' && path === '/quota') {
        next.quota = undefined;
      } else {
        throw badRequest(`Invalid patch operation: ${String(op)} ${String(path)}`);
      }
    }
    plan.name = next.name;
    plan.description = next.description;
    plan.apiStages = next.apiStages;
    plan.throttle = next.throttle;
    plan.quota = next.quota;
    for (const pair of [...this.buckets.keys()]) if (pair.startsWith(`${id} `)) this.buckets.delete(pair);
    return this.planView(plan);
  }

  // --- usage plan keys ------------------------------------------------------------------------

  private planKey(planId: string, keyId: string): ApiKeyState {
    const plan = this.planById(planId);
    const key = this.keys.get(keyId);
    if (key === undefined || !plan.keyIds.has(keyId)) throw notFound('Invalid API Key identifier specified');
    return key;
  }

  private planKeyView(key: ApiKeyState): Json {
    return { id: key.id, type: 'API_KEY', value: key.value, name: key.name };
  }

  private createUsagePlanKey(planId: string, input: Json): Json {
    const plan = this.planById(planId);
    if (input.keyType !== 'API_KEY') throw badRequest('keyType must be API_KEY');
    const key = this.keyById(String(input.keyId));
    if (plan.keyIds.has(key.id)) throw conflict(`Usage Plan ${planId} already contains API Key ${key.id}`);
    this.checkOneStagePerKey([key.id], plan.apiStages, plan.id);
    plan.keyIds.add(key.id);
    return this.planKeyView(key);
  }

  private getUsagePlanKeys(planId: string, query: ReadonlyMap<string, string>): Json {
    const plan = this.planById(planId);
    const name = query.get('name');
    const keys = [...plan.keyIds]
      .map((keyId) => this.keys.get(keyId))
      .filter(
        (key): key is ApiKeyState => key !== undefined && (name === undefined || key.name.startsWith(name)),
      );
    return page(keys, query, (key) => this.planKeyView(key));
  }

  // --- usage ----------------------------------------------------------------------------------

  /**
   * Per key, one `[used, remaining]` per day from startDate to endDate (UTC): `used` that day,
   * `remaining` of the quota's period after that day (API Gateway's shape; 0 without a quota).
   */
  private getUsage(planId: string, query: ReadonlyMap<string, string>): Json {
    const plan = this.planById(planId);
    const startDate = query.get('startDate');
    const endDate = query.get('endDate');
    const from = parseDay(startDate, 'startDate');
    const to = parseDay(endDate, 'endDate');
    if (to < from) throw badRequest('The usage end date must not be before the start date');
    const keyId = query.get('keyId');
    if (keyId !== undefined) this.keyById(keyId);
    const keyIds = keyId === undefined ? [...plan.keyIds] : [keyId];
    const items: Record<string, [number, number][]> = {};
    for (const id of keyIds) {
      const days = this.usage.get(`${plan.id} ${id}`);
      const values: [number, number][] = [];
      for (let day = from; day <= to; day += DAY_MS) {
        const used = days?.get(utcDay(day)) ?? 0;
        let remaining = 0;
        if (plan.quota !== undefined) {
          const periodFrom = utcDay(quotaPeriodStart(plan.quota.period, new Date(day)).getTime());
          let usedInPeriod = 0;
          for (const [other, count] of days ?? [])
            if (other >= periodFrom && other <= utcDay(day)) usedInPeriod += count;
          remaining = Math.max(0, plan.quota.limit - usedInPeriod);
        }
        values.push([used, remaining]);
      }
      items[id] = values;
    }
    return { usagePlanId: plan.id, startDate, endDate, values: items };
  }
}

function positiveNumber(text: string | undefined, name: string): number {
  const number = Number(text);
  if (text === undefined || !Number.isFinite(number) || number < 0)
    throw badRequest(`Invalid value for ${name}`);
  return number;
}

function periodOf(value: unknown): QuotaPeriod {
  const period = QUOTA_PERIODS.find((candidate) => candidate === value);
  if (period === undefined) throw badRequest(`Invalid quota period ${String(value)}: DAY, WEEK or MONTH`);
  return period;
}

function throttleOf(value: unknown): RateLimit | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw badRequest('Invalid throttle');
  const rate = Number(value.rateLimit ?? 0);
  const burst = Number(value.burstLimit ?? 0);
  if (!Number.isFinite(rate) || !Number.isFinite(burst) || rate < 0 || burst < 0) {
    throw badRequest('Invalid throttle');
  }
  return { requestsPerSecond: rate, burst: Math.floor(burst) };
}

function quotaOf(value: unknown): Quota | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw badRequest('Invalid quota');
  const limit = Number(value.limit);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest('Invalid quota limit');
  return { limit, period: periodOf(value.period) };
}

/** One page of `all` as API Gateway lists: `item` and, when more follow, `position`. */
function page<T>(all: readonly T[], query: ReadonlyMap<string, string>, view: (item: T) => Json): Json {
  const limitText = query.get('limit');
  const limit = limitText === undefined ? DEFAULT_PAGE_SIZE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw badRequest(`limit must be between 1 and ${MAX_PAGE_SIZE}`);
  }
  const positionText = query.get('position');
  const start = positionText === undefined ? 0 : Number(positionText);
  if (!Number.isInteger(start) || start < 0) throw badRequest('Invalid position');
  const items = all.slice(start, start + limit).map(view);
  const next = start + limit;
  return { item: items, ...(next < all.length ? { position: String(next) } : {}) };
}

/** The local gateway's route to the emulated management API (any method, any path below the prefix). */
export function apiGatewayEmulatorHandler(
  emulator: ApiGatewayEmulator,
): (request: {
  method: string;
  path: string;
  query: EmulatorRequest['query'];
  body: string | null;
}) => GatewayResponse {
  return (request) =>
    emulator.handle({
      method: request.method,
      path: request.path.slice(API_GATEWAY_EMULATOR_PATH.length),
      query: request.query,
      body: request.body,
    });
}
