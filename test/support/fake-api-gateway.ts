import {
  type APIGatewayClient,
  BadRequestException,
  ConflictException,
  CreateApiKeyCommand,
  CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand,
  DeleteApiKeyCommand,
  DeleteUsagePlanCommand,
  DeleteUsagePlanKeyCommand,
  GetApiKeysCommand,
  GetUsageCommand,
  GetUsagePlansCommand,
  NotFoundException,
  type QuotaSettings,
  type ThrottleSettings,
  TooManyRequestsException,
  UpdateUsagePlanCommand,
} from '@aws-sdk/client-api-gateway';
import type { AwsClientStub } from 'aws-sdk-client-mock';

// A model of API Gateway's API keys, usage plans and plan keys behind an aws-sdk-client-mock stub:
// the operations the usage-plan adapter calls, with the state they change and the errors the real
// service answers (ConflictException for a duplicate key value, a key already in the plan or in
// another plan on the same stage; NotFoundException for what is gone; BadRequestException for
// deleting a plan with stages; TooManyRequestsException when throttled). Every call yields to the
// event loop a seeded-random number of times before and after it takes effect, so concurrent calls
// interleave differently per seed; `faults` adds throttling (no effect) and lost responses (effect
// done, error returned) at seeded-random points.

interface FakeKey {
  readonly id: string;
  readonly name: string;
  readonly value: string;
  readonly enabled: boolean;
  readonly createdDate: Date;
  readonly description: string | undefined;
}

interface FakePlan {
  readonly id: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly throttle: ThrottleSettings | undefined;
  readonly quota: QuotaSettings | undefined;
  readonly stages: Set<string>;
  readonly keys: Set<string>;
}

interface FakeFaults {
  /** Probability that a call is throttled (TooManyRequestsException, nothing done). */
  readonly throttle?: number;
  /** Probability that a mutating call takes effect but its caller gets an error (a lost response). */
  readonly lostResponse?: number;
}

/** mulberry32: a small seeded generator, so a failing seed can be run again. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const meta = { $metadata: {} };
const PAGE = 2; // small pages, so every listing goes through pagination

export class FakeApiGateway {
  readonly keys = new Map<string, FakeKey>();
  readonly plans = new Map<string, FakePlan>();
  readonly calls: string[] = [];
  faults: FakeFaults = {};
  private nextId = 0;

  constructor(private readonly random: () => number = seededRandom(1)) {}

  /** Routes the stub's commands to this model. */
  install(api: AwsClientStub<APIGatewayClient>) {
    api
      .on(GetApiKeysCommand)
      .callsFake((input) => this.run('GetApiKeys', false, () => this.getApiKeys(input)));
    api
      .on(CreateApiKeyCommand)
      .callsFake((input) => this.run('CreateApiKey', true, () => this.createApiKey(input)));
    api
      .on(DeleteApiKeyCommand)
      .callsFake((input) => this.run('DeleteApiKey', true, () => this.deleteApiKey(input)));
    api
      .on(GetUsagePlansCommand)
      .callsFake((input) => this.run('GetUsagePlans', false, () => this.getUsagePlans(input)));
    api
      .on(CreateUsagePlanCommand)
      .callsFake((input) => this.run('CreateUsagePlan', true, () => this.createUsagePlan(input)));
    api
      .on(UpdateUsagePlanCommand)
      .callsFake((input) => this.run('UpdateUsagePlan', true, () => this.updateUsagePlan(input)));
    api
      .on(DeleteUsagePlanCommand)
      .callsFake((input) => this.run('DeleteUsagePlan', true, () => this.deleteUsagePlan(input)));
    api
      .on(CreateUsagePlanKeyCommand)
      .callsFake((input) => this.run('CreateUsagePlanKey', true, () => this.createUsagePlanKey(input)));
    api
      .on(DeleteUsagePlanKeyCommand)
      .callsFake((input) => this.run('DeleteUsagePlanKey', true, () => this.deleteUsagePlanKey(input)));
    api.on(GetUsageCommand).callsFake((input) => this.run('GetUsage', false, () => this.getUsage(input)));
  }

  /** A plan as CDK creates a type's (on the protected stages). */
  addTypePlan(
    name: string,
    stages: readonly string[],
    throttle: ThrottleSettings = { rateLimit: 50, burstLimit: 100 },
  ) {
    const id = this.newId('tp');
    this.plans.set(id, {
      id,
      name,
      description: undefined,
      throttle,
      quota: undefined,
      stages: new Set(stages),
      keys: new Set(),
    });
    return id;
  }

  keysWithValue(value: string): FakeKey[] {
    return [...this.keys.values()].filter((key) => key.value === value);
  }

  /** The names of the plans the key with this value is in. */
  plansOfValue(value: string): string[] {
    const ids = new Set(this.keysWithValue(value).map((key) => key.id));
    return [...this.plans.values()]
      .filter((plan) => [...plan.keys].some((id) => ids.has(id)))
      .map((plan) => plan.name);
  }

  plansNamed(name: string): FakePlan[] {
    return [...this.plans.values()].filter((plan) => plan.name === name);
  }

  private newId(prefix: string): string {
    this.nextId += 1;
    // Random-looking ids (not in creation order), as API Gateway's.
    return `${prefix}${Math.floor(this.random() * 1e6).toString(36)}${this.nextId}`;
  }

  private async yieldSome() {
    const times = Math.floor(this.random() * 4);
    for (let i = 0; i < times; i += 1) await new Promise((resolve) => setImmediate(resolve));
  }

  private async run<T>(operation: string, mutates: boolean, effect: () => T): Promise<T> {
    this.calls.push(operation);
    await this.yieldSome();
    if (this.random() < (this.faults.throttle ?? 0)) {
      throw new TooManyRequestsException({ message: 'Too Many Requests', retryAfterSeconds: '1', ...meta });
    }
    const result = effect();
    await this.yieldSome();
    if (mutates && this.random() < (this.faults.lostResponse ?? 0)) {
      const error = new Error('socket hang up (response lost after the change was made)');
      error.name = 'TimeoutError';
      throw error;
    }
    return result;
  }

  private page<T>(items: T[], position: string | undefined) {
    const start = position === undefined ? 0 : Number(position);
    const next = start + PAGE;
    return { items: items.slice(start, next), position: next < items.length ? String(next) : undefined };
  }

  private getApiKeys(input: { nameQuery?: string; includeValues?: boolean; position?: string }) {
    const matching = [...this.keys.values()].filter(
      (key) => input.nameQuery === undefined || key.name.startsWith(input.nameQuery),
    );
    const shown = matching.map((key) => (input.includeValues ? { ...key } : { ...key, value: undefined }));
    return this.page(shown, input.position);
  }

  private createApiKey(input: { name?: string; value?: string; enabled?: boolean; description?: string }) {
    const value = input.value ?? '';
    if (value.length < 20 || value.length > 128) {
      throw new BadRequestException({ message: 'API Key value should be at least 20 characters', ...meta });
    }
    if (this.keysWithValue(value).length > 0)
      throw new ConflictException({ message: 'API Key already exists', ...meta });
    const key: FakeKey = {
      id: this.newId('k'),
      name: input.name ?? value,
      value,
      enabled: input.enabled ?? false,
      createdDate: new Date(),
      description: input.description,
    };
    this.keys.set(key.id, key);
    return { ...key };
  }

  private deleteApiKey(input: { apiKey?: string }) {
    const id = input.apiKey ?? '';
    if (!this.keys.delete(id))
      throw new NotFoundException({ message: 'Invalid API Key identifier specified', ...meta });
    for (const plan of this.plans.values()) plan.keys.delete(id);
    return {};
  }

  private view(plan: FakePlan) {
    return {
      id: plan.id,
      name: plan.name,
      description: plan.description,
      throttle: plan.throttle,
      quota: plan.quota,
      apiStages: [...plan.stages].map((stage) => {
        const [apiId, name] = stage.split(':');
        return { apiId, stage: name };
      }),
    };
  }

  private getUsagePlans(input: { keyId?: string; position?: string }) {
    const plans = [...this.plans.values()].filter(
      (plan) => input.keyId === undefined || plan.keys.has(input.keyId),
    );
    return this.page(
      plans.map((plan) => this.view(plan)),
      input.position,
    );
  }

  private createUsagePlan(input: {
    name?: string;
    description?: string;
    throttle?: ThrottleSettings;
    quota?: QuotaSettings;
    apiStages?: { apiId?: string; stage?: string }[];
  }) {
    if (input.name === undefined)
      throw new BadRequestException({ message: 'Invalid usage plan name', ...meta });
    const id = this.newId('p');
    const plan: FakePlan = {
      id,
      name: input.name,
      description: input.description,
      throttle: input.throttle,
      quota: input.quota,
      stages: new Set((input.apiStages ?? []).map((stage) => `${stage.apiId}:${stage.stage}`)),
      keys: new Set(),
    };
    this.plans.set(id, plan);
    return this.view(plan);
  }

  private planOrThrow(id: string | undefined): FakePlan {
    const plan = id === undefined ? undefined : this.plans.get(id);
    if (plan === undefined)
      throw new NotFoundException({ message: 'Invalid Usage Plan ID specified', ...meta });
    return plan;
  }

  private updateUsagePlan(input: {
    usagePlanId?: string;
    patchOperations?: { op?: string; path?: string; value?: string }[];
  }) {
    const plan = this.planOrThrow(input.usagePlanId);
    for (const operation of input.patchOperations ?? []) {
      if (operation.op !== 'add' || operation.path !== '/apiStages' || operation.value === undefined) {
        throw new BadRequestException({ message: 'Invalid patch operation', ...meta });
      }
      if (plan.stages.has(operation.value)) {
        throw new ConflictException({
          message: `Usage Plan ${plan.id} already contains ${operation.value}`,
          ...meta,
        });
      }
    }
    for (const operation of input.patchOperations ?? []) plan.stages.add(operation.value ?? '');
    return this.view(plan);
  }

  private deleteUsagePlan(input: { usagePlanId?: string }) {
    const plan = this.planOrThrow(input.usagePlanId);
    if (plan.stages.size > 0) {
      throw new BadRequestException({
        message: 'Cannot delete Usage Plan with associated API Stages',
        ...meta,
      });
    }
    this.plans.delete(plan.id);
    return {};
  }

  private createUsagePlanKey(input: { usagePlanId?: string; keyId?: string }) {
    const plan = this.planOrThrow(input.usagePlanId);
    const keyId = input.keyId ?? '';
    if (!this.keys.has(keyId))
      throw new NotFoundException({ message: 'Invalid API Key identifier specified', ...meta });
    if (plan.keys.has(keyId))
      throw new ConflictException({ message: 'Usage Plan Key already exists', ...meta });
    for (const other of this.plans.values()) {
      if (other.keys.has(keyId) && [...other.stages].some((stage) => plan.stages.has(stage))) {
        throw new ConflictException({
          message: `API Key ${keyId} is already associated with a usage plan for an API stage of ${plan.id}`,
          ...meta,
        });
      }
    }
    plan.keys.add(keyId);
    return { id: keyId, type: 'API_KEY' };
  }

  private deleteUsagePlanKey(input: { usagePlanId?: string; keyId?: string }) {
    const plan = this.planOrThrow(input.usagePlanId);
    if (!plan.keys.delete(input.keyId ?? '')) {
      throw new NotFoundException({ message: 'Invalid Usage Plan Key identifier specified', ...meta });
    }
    return {};
  }

  private getUsage(input: { usagePlanId?: string; keyId?: string }) {
    const plan = this.planOrThrow(input.usagePlanId);
    return {
      usagePlanId: plan.id,
      items: input.keyId !== undefined && plan.keys.has(input.keyId) ? { [input.keyId]: [[0, 0]] } : {},
    };
  }
}
