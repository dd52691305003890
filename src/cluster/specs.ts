/** Validates worker specs and expands `count` into numbered workers, with errors naming the field and value. */
import { describe } from '../errors.js';
import { expectNumber, expectOneOf } from '../options.js';
import { rejectUnknownKeys } from '../option-keys.js';
import { WORKER_SPEC_KEYS, type WorkerSpec } from './types.js';

/**
 * The most workers a cluster may have, `count`s expanded: far past what one coordinator can run (a thread
 * holds ~13 MB of its process, 256 of them 3.2 GB here), but a bound, so that a slip such as `count: 1e9`
 * is an error at once instead of a minute's allocation that ends the process out of memory.
 */
export const MAX_WORKERS = 10_000;

/**
 * `hasNats`: the cluster has the `nats` option, so a spec may name a `host`. `hasPool`: it has a pool, so
 * it may have no workers (absent `workers` is none).
 */
export function expandSpecs(specs: unknown, { hasNats = false, hasPool = false } = {}): { name: string; spec: WorkerSpec }[] {
  if (specs === undefined && hasPool) return [];
  if (!Array.isArray(specs) || (specs.length === 0 && !hasPool)) {
    throw new TypeError(`Expected \`workers\` to be a non-empty array of worker specs (or none beside a \`pool\`), got ${describe(specs)}`);
  }
  const out: { name: string; spec: WorkerSpec }[] = [];
  const seen = new Set<string>();
  specs.forEach((raw: WorkerSpec, index) => {
    const at = `workers[${index}]`;
    if (typeof raw !== 'object' || raw === null) throw new TypeError(`Expected \`${at}\` to be an object, got ${describe(raw)}`);
    rejectUnknownKeys(raw, WORKER_SPEC_KEYS, `\`${at}\``);
    if (typeof raw.name !== 'string' || !/^[\w.-]+$/.test(raw.name)) {
      throw new TypeError(`Expected \`${at}.name\` to be a non-empty name of letters, digits, '_', '.', '-', got ${describe(raw.name)}`);
    }
    expectModule(`${at}.module`, raw.module);
    const spec: WorkerSpec = { ...raw, kind: expectOneOf(`${at}.kind`, raw.kind ?? 'thread', ['thread', 'process'] as const) };
    expectOneOf(`${at}.restart`, raw.restart ?? 'never', ['never', 'on-failure'] as const);
    if (raw.maxRestarts !== undefined) expectNumber(`${at}.maxRestarts`, raw.maxRestarts, { integer: true });
    if (raw.sharedMemory !== undefined && typeof raw.sharedMemory !== 'boolean') {
      throw new TypeError(`Expected \`${at}.sharedMemory\` to be a boolean, got ${describe(raw.sharedMemory)}`);
    }
    if (raw.sharedMemory && spec.kind === 'process') {
      throw new TypeError(`\`${at}.sharedMemory\`: a process shares no memory with others; use kind 'thread' or leave it out`);
    }
    if (raw.host !== undefined) {
      // The name goes into NATS subjects: the characters of worker names only.
      if (typeof raw.host !== 'string' || !/^[\w.-]+$/.test(raw.host)) {
        throw new TypeError(
          `Expected \`${at}.host\` to be an agent's host name (letters, digits, '_', '.', '-'), got ${describe(raw.host)}`,
        );
      }
      if (!hasNats) throw new TypeError(`\`${at}.host\` places the worker on agent "${raw.host}": the cluster needs the \`nats\` option`);
      // Its channels cross hosts over NATS, or pair it with threads of its agent over ports: no rings.
      if (raw.sharedMemory) {
        throw new TypeError(
          `\`${at}.sharedMemory\`: a worker on another host (agent "${raw.host}") shares no memory with the coordinator's; leave it out`,
        );
      }
    }
    checkSpecFields(raw, at);
    const count = raw.count === undefined ? undefined : expectNumber(`${at}.count`, raw.count, { min: 1, integer: true, max: MAX_WORKERS });
    if (out.length + (count ?? 1) > MAX_WORKERS) {
      throw new TypeError(`A cluster has at most ${MAX_WORKERS} workers: \`${at}\` brings it to ${out.length + (count ?? 1)}`);
    }
    const names = count === undefined ? [raw.name] : Array.from({ length: count }, (_, i) => `${raw.name}-${i}`);
    for (const name of names) {
      if (name === 'coordinator') throw new TypeError(`\`${at}.name\`: "coordinator" is reserved`);
      if (seen.has(name)) throw new TypeError(`Duplicate worker name "${name}" (${at})`);
      seen.add(name);
      out.push({ name, spec });
    }
  });
  return out;
}

/**
 * The cluster's `host`: the interface its listeners bind (the coordinator's, for process workers). A
 * number or an empty string would reach the workers as their coordinator's address, and fail there.
 */
export function expectListenHost(host: unknown): string {
  if (host === undefined) return '127.0.0.1';
  if (typeof host !== 'string' || host === '') {
    throw new TypeError(`Expected \`host\` to be a non-empty string (an interface to bind, such as '127.0.0.1'), got ${describe(host)}`);
  }
  return host;
}

/** A worker's or the pool's `module`: a non-empty path, or a file URL (a URL object or a `file:` string). */
export function expectModule(name: string, module: unknown): void {
  if (!(module instanceof URL) && (typeof module !== 'string' || module === '')) {
    throw new TypeError(`Expected \`${name}\` to be a path or file URL, got ${describe(module)}`);
  }
  // A URL of another scheme would be taken for a relative path ('http://x/w.js' as ./http:/x/w.js), or
  // fail in the worker: convoy loads a worker's module from a file, on this host or on an agent's. A
  // string is such a URL when its scheme is followed by '//', or is one that never is (data:, node:,
  // blob:); a file name with a colon ('v2:worker.js') is a path.
  const match = module instanceof URL ? null : /^(?:([a-z][a-z\d+.-]+:)\/\/|(data:|node:|blob:))/i.exec(module);
  const scheme = module instanceof URL ? module.protocol : (match?.[1] ?? match?.[2]);
  if (scheme !== undefined && scheme.toLowerCase() !== 'file:') {
    throw new TypeError(`Expected \`${name}\` to be a path or file URL, got a ${scheme} URL, ${JSON.stringify(String(module))}`);
  }
}

const RESOURCE_LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'stackSizeMb'] as const;

/** The fields Node itself would take as they come (or refuse in its own words, later, while spawning). */
function checkSpecFields(raw: WorkerSpec, at: string): void {
  if (raw.serial !== undefined && typeof raw.serial !== 'boolean') {
    throw new TypeError(`Expected \`${at}.serial\` to be a boolean, got ${describe(raw.serial)}`);
  }
  if (raw.env !== undefined) {
    const env = raw.env as unknown;
    if (typeof env !== 'object' || env === null || Array.isArray(env)) {
      throw new TypeError(`Expected \`${at}.env\` to be an object of variable names and string values, got ${describe(env)}`);
    }
    for (const [name, value] of Object.entries(env)) {
      if (typeof value !== 'string') throw new TypeError(`Expected \`${at}.env.${name}\` to be a string, got ${describe(value)}`);
    }
  }
  for (const field of ['argv', 'execArgv'] as const) {
    const list = raw[field] as unknown;
    if (list !== undefined && (!Array.isArray(list) || !list.every((item) => typeof item === 'string'))) {
      throw new TypeError(`Expected \`${at}.${field}\` to be an array of strings, got ${describe(list)}`);
    }
  }
  if (raw.resourceLimits !== undefined) {
    const limits = raw.resourceLimits as unknown;
    if (typeof limits !== 'object' || limits === null) {
      throw new TypeError(`Expected \`${at}.resourceLimits\` to be an object, got ${describe(limits)}`);
    }
    rejectUnknownKeys(limits, RESOURCE_LIMIT_KEYS, `\`${at}.resourceLimits\``);
    for (const key of RESOURCE_LIMIT_KEYS) {
      const value = (limits as Record<string, unknown>)[key];
      if (value !== undefined) expectNumber(`${at}.resourceLimits.${key}`, value, { exclusiveMin: true });
    }
  }
}
