import type { CredentialRecord } from '../core/model.js';
import {
  isOversized,
  type RestAnswer,
  type RestAuthorizerResult,
  restRequestResponse,
  restResponse,
} from './gateway.js';

// REST answers kept per credential. Under the area rule (no mapped route) the answer to VALID and to
// INSUFFICIENT_SCOPE is the same Allow policy listing every method ARN the scopes allow, plus the
// context (gateway.ts, restResponse): it depends on the credential, the API stage and the base path
// only, and building it (a regex per scope, a few dozen ARN strings) was a large share of a cache-hit
// verification. So it is built once per (credential, API stage, base path) and kept with the
// credential object itself: the verification cache hands out the same object on every hit, a new
// read brings a new object (and so a new answer, e.g. after the scopes changed), and an object the
// cache has dropped takes its answers with it. Every other answer is built per request, as before.
// Kept answers are frozen: no caller can change what the next request gets.

/** API stages per credential, and base paths per stage, remembered; more only means rebuilding. */
const MAX_ANSWERS_PER_CREDENTIAL = 16;

/** Per credential: API stage ARN → base path → answer (nested, so no key string is built per request). */
const answers = new WeakMap<CredentialRecord, Map<string, Map<string, RestAuthorizerResult>>>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Kept answers whose policy is above MAX_POLICY_BYTES (measured once, when built). */
const oversized = new WeakSet<RestAuthorizerResult>();

/**
 * restResponse, with the area-rule Allow answer of a credential built once per API stage and base
 * path (and its size measured once): when it is too large and the cache is keyed on the method and
 * the path, the answer narrowed to this request (one ARN, built per request).
 */
export const restResponseFor: RestAnswer = (decision, methodArn, basePath, keyedByPath = false) => {
  const credential = decision.credential;
  if (
    credential === undefined ||
    decision.route !== undefined ||
    (decision.reason !== 'VALID' && decision.reason !== 'INSUFFICIENT_SCOPE')
  ) {
    return restResponse(decision, methodArn, basePath, keyedByPath);
  }
  let byStage = answers.get(credential);
  if (byStage === undefined) {
    byStage = new Map();
    answers.set(credential, byStage);
  }
  let byBasePath = byStage.get(methodArn.apiStageArn);
  if (byBasePath === undefined) {
    if (byStage.size >= MAX_ANSWERS_PER_CREDENTIAL) byStage.clear();
    byBasePath = new Map();
    byStage.set(methodArn.apiStageArn, byBasePath);
  }
  let answer = byBasePath.get(basePath);
  if (answer === undefined) {
    answer = deepFreeze(restResponse(decision, methodArn, basePath));
    if (isOversized(answer)) oversized.add(answer);
    if (byBasePath.size >= MAX_ANSWERS_PER_CREDENTIAL) byBasePath.clear();
    byBasePath.set(basePath, answer);
  }
  return keyedByPath && oversized.has(answer) ? restRequestResponse(decision, methodArn) : answer;
};
