/**
 * convoy's errors: one class per failure, each with a stable `code`. Code and tests match on `code` or
 * class, never on message text.
 */

export type DeathReason = 'exit' | 'crash' | 'killed' | 'heartbeat' | 'disconnected';

/**
 * A method's name as a message shows it. convoy's own calls (starting a worker, opening a pair, stats)
 * have names that begin with a NUL, so no user method can take them; a message names them in words.
 */
function shown(method: string): string {
  return method.charCodeAt(0) === 0 ? `convoy's own \`${method.slice(1)}\`` : `\`${method}\``;
}

/** Who answers a pool's tasks, as errors name it: no worker can have this name (they are `[\w.-]+`). */
export const THE_POOL = 'the pool';

/** Who a message says answered: a worker by name, the coordinator (a name no worker may take), or the pool. */
function whom(worker: string): string {
  return worker === 'coordinator' ? 'the coordinator' : worker === THE_POOL ? THE_POOL : `worker "${worker}"`;
}

/** The `code` of each error class convoy raises, one per class (README, "Errors"). */
export type ConvoyErrorCode =
  | 'ERR_CONVOY_WORKER_DIED'
  | 'ERR_CONVOY_START'
  | 'ERR_CONVOY_REMOTE'
  | 'ERR_CONVOY_NO_METHOD'
  | 'ERR_CONVOY_SERIALIZE'
  | 'ERR_CONVOY_TIMEOUT'
  | 'ERR_CONVOY_CLOSED'
  | 'ERR_CONVOY_PROTOCOL'
  | 'ERR_CONVOY_BACKPRESSURE'
  | 'ERR_CONVOY_AGENT_REFUSED'
  | 'ERR_CONVOY_HOST_DOWN';

/**
 * Base class of every error convoy raises itself. Each class's `code` is typed as its own literal, and a
 * ConvoyError's as the union of them all: a misspelt code in a `switch (error.code)` does not compile.
 */
export class ConvoyError extends Error {
  readonly code: ConvoyErrorCode;

  constructor(code: ConvoyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

export interface WorkerDiedInfo {
  worker: string;
  reason: DeathReason;
  exitCode?: number;
  signal?: string;
  /** The method of the call that failed, when the error belongs to one call. */
  method?: string;
  /** Whether the call had left when the death was seen: false means it certainly did not run. @default true */
  mayHaveRun?: boolean;
  /** The uncaught error the worker crashed with, when its last words carried it: named in the message, kept as `cause`. */
  error?: Error;
}

/** `Name: message` of an error, by its original class when it came from another worker. */
export function errorHeadline(error: Error): string {
  return `${error instanceof RemoteError ? error.remoteName : error.name}: ${error.message}`;
}

/** An error as a death's message names it: its class and the first line of its message, kept short. */
function shortHeadline(error: Error): string {
  const headline = errorHeadline(error).split('\n', 1)[0] ?? '';
  return headline.length > 240 ? `${headline.slice(0, 237)}...` : headline;
}

/**
 * What a death's message adds to its reason: the uncaught error a crash was on, or what ended the
 * channel of a worker that disconnected (a reset, a lost connection, a closed socket), which is all a
 * caller learns of why.
 */
function deathDetail(info: WorkerDiedInfo, cause: unknown): string {
  if (info.error) return `, uncaught ${shortHeadline(info.error)}`;
  if (info.reason === 'disconnected' && cause instanceof Error && !(cause instanceof WorkerDiedError)) return `, ${shortHeadline(cause)}`;
  return '';
}

/**
 * The callee died, was killed, or stopped answering heartbeats before the call settled. At-most-once:
 * a call that had left may or may not have run (`mayHaveRun`); one still waiting for room when the death
 * was seen, or made after it, never left.
 */
export class WorkerDiedError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_WORKER_DIED';
  readonly worker: string;
  readonly reason: DeathReason;
  readonly exitCode?: number;
  readonly signal?: string;
  /** False when the call was never sent (still waiting for room, or the worker was already known dead): it did not run. */
  readonly mayHaveRun: boolean;

  /** What it crashed with, passed on to the error of each call it fails. */
  readonly #uncaught: Error | undefined;

  constructor(info: WorkerDiedInfo, options?: { cause?: unknown }) {
    const code = info.exitCode !== undefined ? ` (exit code ${info.exitCode})` : info.signal ? ` (signal ${info.signal})` : '';
    const how = `${code}${deathDetail(info, options?.cause)}`;
    const mayHaveRun = info.mayHaveRun ?? true;
    // A lost path says only that: the worker behind it may be alive (a host cut off, a pair that could
    // not be opened), so the message does not call it dead.
    const [died, hadDied] = info.reason === 'disconnected' ? ['was cut off', 'had been cut off'] : ['died', 'had died'];
    const message = !info.method
      ? `Worker "${info.worker}" ${died}: ${info.reason}${how}`
      : mayHaveRun
        ? `Worker "${info.worker}" ${died} during the call to ${shown(info.method)}: ${info.reason}${how}; the call may or may not have run`
        : `Worker "${info.worker}" ${hadDied} (${info.reason}${how}) when ${shown(info.method)} was called: the call was not sent and did not run`;
    // The error it crashed with explains the death better than the transport's end that reported it.
    super('ERR_CONVOY_WORKER_DIED', message, info.error ? { cause: info.error } : options);
    this.#uncaught = info.error;
    this.worker = info.worker;
    this.reason = info.reason;
    this.mayHaveRun = mayHaveRun;
    if (info.exitCode !== undefined) this.exitCode = info.exitCode;
    if (info.signal !== undefined) this.signal = info.signal;
  }

  /**
   * The same death, for one call (keeps `worker`, `reason`, exit details). `sent`: whether the call had
   * left when the death was seen.
   */
  forMethod(method: string, { sent = true }: { sent?: boolean } = {}): WorkerDiedError {
    const info: WorkerDiedInfo = { worker: this.worker, reason: this.reason, method, mayHaveRun: sent };
    if (this.exitCode !== undefined) info.exitCode = this.exitCode;
    if (this.signal !== undefined) info.signal = this.signal;
    if (this.#uncaught) info.error = this.#uncaught;
    // The cause goes too (what the transport said, e.g. why a NATS peer reset the pair): a call's error
    // is often the only one its caller sees.
    return diedError(info, this.cause === undefined ? undefined : { cause: this.cause });
  }
}

/**
 * A new WorkerDiedError, made outside its class: a class that names itself in its own body is bundled as
 * `var WorkerDiedError = class _WorkerDiedError`, and `_WorkerDiedError` would be its `name`.
 */
function diedError(info: WorkerDiedInfo, options?: { cause?: unknown }): WorkerDiedError {
  return new WorkerDiedError(info, options);
}

/**
 * A worker could not be started: its module failed to load, its factory threw, or it exited or ran out
 * of time while starting. `worker` names it; `cause` holds what went wrong.
 */
export class WorkerStartError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_START';
  readonly worker: string;

  constructor(worker: string, message: string, options?: { cause?: unknown }) {
    // The cause's message often names the worker too: it is said once.
    const subject = `Worker "${worker}" `;
    const detail = message.replace(new RegExp(`^Worker "${escapeRegExp(worker)}":? `), '');
    super('ERR_CONVOY_START', `${subject}failed to start: ${detail}${rootDetail(detail, options?.cause)}`, options);
    this.worker = worker;
  }
}

const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/**
 * What went wrong at the bottom of a start error's causes (a module not found, what a factory threw), as
 * its message ends with it: a log line or a test report often shows the message alone, and the reason is
 * otherwise two causes down. Nothing when the message says it already, or there is no deeper cause.
 */
function rootDetail(detail: string, cause: unknown): string {
  if (!(cause instanceof Error)) return '';
  let root = cause;
  while (root.cause instanceof Error) root = root.cause;
  if (root === cause) {
    // convoy's own wrapper of a factory or module that threw a string or an object: the value is its cause.
    return root.cause === undefined ? '' : ` (Non-error thrown: ${describe(root.cause)})`;
  }
  const headline = shortHeadline(root);
  return detail.includes(root.message.split('\n', 1)[0] ?? '') ? '' : ` (${headline})`;
}

/** A handler threw. `message` is the original message; the rest of the original travels alongside. */
export class RemoteError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_REMOTE';
  readonly remoteName: string;
  readonly remoteStack: string | undefined;
  readonly data: Record<string, unknown>;

  constructor(message: string, fields: { remoteName: string; remoteStack?: string; data?: Record<string, unknown>; cause?: unknown }) {
    super('ERR_CONVOY_REMOTE', message, 'cause' in fields && fields.cause !== undefined ? { cause: fields.cause } : undefined);
    this.remoteName = fields.remoteName;
    this.remoteStack = fields.remoteStack;
    this.data = fields.data ?? {};
  }
}

export class MethodNotFoundError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_NO_METHOD';
  readonly method: string;
  /** Why the name is not served though the API seems to have it (see Dispatcher.notFound). */
  readonly hint?: string;
  constructor(method: string, worker?: string, hint?: string) {
    super('ERR_CONVOY_NO_METHOD', `No method ${shown(method)} on ${worker ? whom(worker) : 'the remote API'}${hint ? `: ${hint}` : ''}`);
    this.method = method;
    // An own property, so it travels in the wire form's data with `method`.
    if (hint) this.hint = hint;
  }
}

export class SerializationError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_SERIALIZE';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONVOY_SERIALIZE', message, options);
  }
}

/**
 * `error`, raised sending a call's or notify's arguments, as the caller sees it: which method, to whom.
 * (Its own message says what could not be sent: a function, a symbol, a remote, a message too large.)
 */
export function unsendableArguments(error: SerializationError, method: string, worker: string | undefined): SerializationError {
  return new SerializationError(
    `The arguments of ${shown(method)} cannot be sent${worker ? ` to ${whom(worker)}` : ''}: ${error.message}`,
    {
      cause: error,
    },
  );
}

export class TimeoutError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_TIMEOUT';
  readonly method: string;
  readonly timeoutMs: number;
  constructor(method: string, timeoutMs: number, worker?: string) {
    super('ERR_CONVOY_TIMEOUT', `Call to ${shown(method)}${worker ? ` on ${whom(worker)}` : ''} timed out after ${timeoutMs} ms`);
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

export class ClusterClosedError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_CLOSED';
  constructor(message = 'The cluster is closed', options?: { cause?: unknown }) {
    super('ERR_CONVOY_CLOSED', message, options);
  }
}

export class ProtocolError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_PROTOCOL';
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONVOY_PROTOCOL', message, options);
  }
}

/** Turns anything thrown into an Error, keeping convoy errors and `Error` instances as they are. */
export function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  return new Error(typeof reason === 'string' ? reason : `Non-error thrown: ${describe(reason)}`);
}

/**
 * What kind of value a secret option was given, and nothing of the value: `an object`, `a number`. For a
 * token or password, where describe() would print the value (an object's first fields included), and
 * errors end up in logs.
 */
export function describeKind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** A short, safe description of a value for error messages: `-1 (number)`. */
export function describe(value: unknown): string {
  let shown: string;
  try {
    if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
    shown = typeof value === 'string' ? JSON.stringify(value) : hasNoPrototype(value) ? objectPreview(value) : String(value);
    // An object with no toString of its own says more by its first properties, after its class if it has
    // one: `{code: "E_QUOTA"}`, `Quota {left: 0}`.
    if (shown === '[object Object]') {
      const name: unknown = (value as object).constructor?.name;
      shown = `${typeof name === 'string' && name !== '' && name !== 'Object' ? `${name} ` : ''}${objectPreview(value as object)}`;
    }
  } catch {
    // A Proxy's traps can make every reading throw, even Object.prototype.toString's.
    shown = 'an unreadable value';
  }
  if (shown.length > 60) shown = `${shown.slice(0, 57)}...`;
  return `${shown} (${value === null ? 'null' : typeof value})`;
}

/** `Object.create(null)`, which String() cannot show (it has no toString at all). */
function hasNoPrototype(value: unknown): value is object {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === null;
}

/**
 * An object's first own properties, `{code: "E_QUOTA", detail: "over quota"}`: one level deep, and read no
 * further than a message shows (describe cuts it at 60). The engine still lists every key of the object
 * first (~0.4 µs a key here). A getter that throws shows as `?`.
 */
function objectPreview(value: object): string {
  let text = '';
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    let shown: string;
    try {
      shown = fieldPreview((value as Record<string, unknown>)[key]);
    } catch {
      shown = '?';
    }
    text += `${text === '' ? '' : ', '}${key}: ${shown}`;
    if (text.length > 60) break;
  }
  return `{${text}}`;
}

function fieldPreview(field: unknown): string {
  switch (typeof field) {
    case 'string':
      return JSON.stringify(field.slice(0, 60));
    case 'object':
      return field === null ? 'null' : Array.isArray(field) ? '[…]' : '{…}';
    case 'function':
      return 'ƒ';
    case 'bigint':
      return `${field}n`;
    default:
      return String(field);
  }
}

/** An error as it travels: plain data that any codec can carry. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  /** Own enumerable properties of the original (`code`, `errno`, ...). */
  data?: Record<string, unknown>;
  cause?: WireError;
  /** A non-Error cause or throw value, as is. */
  value?: unknown;
  /**
   * Set when convoy raised the error about this very call (no such method; its result cannot be encoded):
   * such errors keep their class on the far side. Whatever a handler throws — even a convoy error from a
   * call of its own — arrives as a RemoteError, so the caller never takes it for a verdict on its call.
   */
  internal?: string;
}

const MAX_CAUSE_DEPTH = 8;

/**
 * The wire form an error was rebuilt from, kept on it to be passed on unchanged (see `relayed`). A symbol
 * key: errorToWire reads own string keys only, so it never travels itself.
 */
const RELAYED = Symbol('convoy.relayed');

/**
 * Marks `error`, rebuilt from `wire`, to be sent on as `wire` when it is thrown on to another worker: a
 * pool task's failure relayed to the worker that called it through the coordinator (`ctx.pool()`), which
 * gets it as `cluster.pool()` does (its own class, `data` and causes, not a RemoteError of a RemoteError).
 */
export function relayed<T extends Error>(error: T, wire: WireError): T {
  Object.defineProperty(error, RELAYED, { value: wire });
  return error;
}

/**
 * Never throws: it runs where a handler's error becomes a fault, and a throw there would escape the
 * frame handler and take the process down.
 */
export function errorToWire(thrown: unknown, depth = 0): WireError {
  try {
    const passedOn = thrown instanceof Error ? (thrown as Error & { [RELAYED]?: WireError })[RELAYED] : undefined;
    if (passedOn) return passedOn;
    // Inside the try: `instanceof` and `describe` run a Proxy's traps, which may throw (a revoked one does).
    if (!(thrown instanceof Error)) return nonErrorToWire(thrown);
    const wire: WireError = { name: String(thrown.name), message: String(thrown.message) };
    if (typeof thrown.stack === 'string') wire.stack = thrown.stack;
    const data = ownData(thrown);
    if (data) wire.data = data;
    if (thrown.cause !== undefined && depth < MAX_CAUSE_DEPTH) wire.cause = errorToWire(thrown.cause, depth + 1);
    return wire;
  } catch {
    return { name: 'Error', message: `Unreadable error thrown: ${describe(thrown)}` };
  }
}

/**
 * Something thrown that is not an Error: the value itself travels (`value`, the RemoteError's `cause`, and
 * an object's own properties its `data`, taken from it where it arrives: see valueData). One shaped like an
 * error (a string `message`, and maybe `name` and `stack`: an Error of another realm, say) keeps them:
 * `throw { message: 'over quota', code: 'E_QUOTA' }` arrives as 'over quota'. Anything else is "Non-error
 * thrown: …". A field whose getter throws is read as absent.
 */
function nonErrorToWire(thrown: unknown): WireError {
  const wire: WireError = { name: 'Error', message: `Non-error thrown: ${describe(thrown)}`, value: thrown };
  if (!isRecord(thrown)) return wire;
  const message = readField(thrown, 'message');
  if (typeof message !== 'string') return wire;
  wire.message = message;
  const name = readField(thrown, 'name');
  if (typeof name === 'string') wire.name = name;
  const stack = readField(thrown, 'stack');
  if (typeof stack === 'string') wire.stack = stack;
  return wire;
}

/** An object with fields of its own to read as an error's: not null, not an array. */
function isRecord(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readField(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/**
 * The `data` of a RemoteError for a thrown object that is not an Error (`wire.value`): its own properties
 * but its message, stack and cause, and its name when that was taken for the error's, as an Error's are.
 * Built where it arrives, so the object crosses once.
 */
function valueData(wire: WireError): Record<string, unknown> | undefined {
  const value = wire.value;
  if (!isRecord(value)) return undefined;
  const name = readField(value, 'name');
  return ownData(value, typeof name === 'string' && name === wire.name ? ['name'] : []);
}

/** An error's (or a thrown object's) own enumerable properties but its message, stack and cause; undefined if none. */
function ownData(thrown: object, skip: string[] = []): Record<string, unknown> | undefined {
  const data: Record<string, unknown> = {};
  let hasData = false;
  for (const key of Object.keys(thrown)) {
    if (key === 'message' || key === 'stack' || key === 'cause' || skip.includes(key)) continue;
    try {
      data[key] = (thrown as Record<string, unknown>)[key];
      hasData = true;
    } catch {
      // A getter that throws: that one property stays behind.
    }
  }
  return hasData ? data : undefined;
}

/** An Error's own properties that Node hands to a thread's parent and that are strings by nature. */
const KEPT_ERROR_KEYS = new Set<PropertyKey>(['message', 'stack', 'name']);

/**
 * Leaves `thrown`, the uncaught error a thread is dying of, with no more than Node 20 can hand to the
 * thread's parent, once the thread's last words have carried it (errorToWire). Node's serialiser takes
 * time growing with the square of a chain of causes (2.5 s for 1 000 errors here) and never ends on a
 * loop (`a.cause = b; b.cause = a`); and data nested ~10 000 deep is serialised, then overflows the
 * stack of the parent's deserialiser, in the parent's event loop, where the RangeError is uncaught: the
 * coordinator would go down with the thread. So each error keeps its message, stack and name, and its
 * cause as far as errorToWire follows it; any other data is removed. Never throws; what cannot be
 * changed stays as it is.
 */
export function stripForHandOff(thrown: unknown): void {
  const seen = new Set<unknown>();
  let node = thrown;
  try {
    for (let depth = 0; typeof node === 'object' && node !== null && !seen.has(node); depth++) {
      seen.add(node);
      const isError = node instanceof Error;
      const next: unknown = isError ? (node as Error).cause : undefined;
      for (const key of Reflect.ownKeys(node)) {
        if (!isError || !(KEPT_ERROR_KEYS.has(key) || key === 'cause')) Reflect.deleteProperty(node, key);
      }
      if (!isError) return;
      // An error cause past errorToWire's depth, or one that loops back, goes. Any other cause is next:
      // an object is stripped like a thrown one, a plain value stays.
      if (next instanceof Error && (depth === MAX_CAUSE_DEPTH || seen.has(next))) {
        Reflect.deleteProperty(node, 'cause');
        return;
      }
      node = next;
    }
  } catch {
    // A getter or a proxy trap that throws: Node's serialiser falls back on its own for those.
  }
}

/** `error` as the failure of a call to `method`: a death names the call it failed. */
export function errorForMethod(error: Error, method: string, options?: { sent?: boolean }): Error {
  return error instanceof WorkerDiedError ? error.forMethod(method, options) : error;
}

/** The wire form of an error convoy raised about the call it answers (see WireError.internal). */
export function ownErrorToWire(error: MethodNotFoundError | SerializationError): WireError {
  return { ...errorToWire(error), internal: error.code };
}

/**
 * The same error without data that the codec could not carry: a fallback that always encodes. With
 * `maxStringChars`, every string in it is cut to that length, so that it also fits in a frame.
 */
export function plainWireError(wire: WireError, maxStringChars = Number.POSITIVE_INFINITY): WireError {
  const clip = (text: unknown) => {
    const whole = String(text);
    return whole.length > maxStringChars ? `${whole.slice(0, maxStringChars)}... (${whole.length} characters)` : whole;
  };
  const plain: WireError = { name: clip(wire.name), message: clip(wire.message) };
  if (wire.stack !== undefined) plain.stack = clip(wire.stack);
  if (wire.internal !== undefined) plain.internal = wire.internal;
  if (wire.data) plain.data = plainFields(wire.data, clip);
  if ('value' in wire) {
    const value = plainValue(wire.value, clip);
    if (value !== UNSENDABLE) plain.value = value;
  }
  if (wire.cause) plain.cause = plainWireError(wire.cause, maxStringChars);
  return plain;
}

const UNSENDABLE = Symbol('unsendable');

/**
 * A thrown value (or an error's non-Error cause) as plainWireError keeps data: a string cut, a number, a
 * boolean or null as it is, an object as its fields of those kinds; anything else is left out, and so is
 * an object that cannot be read (a proxy whose traps throw: it is what failed to encode).
 */
function plainValue(value: unknown, clip: (text: unknown) => string): unknown {
  if (typeof value === 'string') return clip(value);
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value !== 'object') return UNSENDABLE;
  try {
    return Array.isArray(value) ? UNSENDABLE : plainFields(value as Record<string, unknown>, clip);
  } catch {
    return UNSENDABLE;
  }
}

/** The fields of `record` that always encode: strings (cut), numbers, booleans and null. */
function plainFields(record: Record<string, unknown>, clip: (text: unknown) => string): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(record)) {
    if (typeof field === 'string') plain[key] = clip(field);
    else if (field === null || typeof field === 'number' || typeof field === 'boolean') plain[key] = field;
  }
  return plain;
}

/**
 * Every string of an error cut to fit, as it travels, is cut to this: a death's error always (a worker's
 * last words go on every channel at once from an exiting thread or process, and the coordinator passes
 * the error on to every peer; each must fit in a frame), and a handler's fault when it cannot be sent whole.
 */
export const WIRE_ERROR_MAX_STRING_CHARS = 16_384;

/** The error a worker died of, as its last words and its peers' word of its exit carry it: plain and bounded. */
export function deathErrorToWire(thrown: unknown): WireError {
  return plainWireError(errorToWire(thrown), WIRE_ERROR_MAX_STRING_CHARS);
}

/**
 * A worker's error as the coordinator passes it on to the other workers: a RemoteError (rebuilt from the
 * worker's last words) goes back to the wire form it came in, so each peer rebuilds the error the
 * coordinator did, with the class name the worker threw, its stack and its data. Encoded as it is, it read
 * `RemoteError`, with those fields in its data.
 */
export function passedOnDeathErrorToWire(error: Error): WireError {
  return plainWireError(error instanceof RemoteError ? remoteErrorToWire(error) : errorToWire(error), WIRE_ERROR_MAX_STRING_CHARS);
}

/** errorFromWire's inverse for a RemoteError: the wire error it was rebuilt from. */
function remoteErrorToWire(error: RemoteError, depth = 0): WireError {
  const wire: WireError = { name: error.remoteName, message: error.message };
  if (error.remoteStack !== undefined) wire.stack = error.remoteStack;
  if (Object.keys(error.data).length > 0) wire.data = error.data;
  const cause = error.cause;
  if (cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    wire.cause = cause instanceof RemoteError ? remoteErrorToWire(cause, depth + 1) : errorToWire(cause, depth + 1);
  }
  return wire;
}

/** Rebuilds a received error: convoy's own errors keep their class, a handler's error becomes `RemoteError`. */
export function errorFromWire(wire: WireError, worker?: string): Error {
  if (wire.internal === 'ERR_CONVOY_NO_METHOD') {
    const hint = wire.data?.hint;
    return new MethodNotFoundError(String(wire.data?.method ?? '?'), worker, typeof hint === 'string' ? hint : undefined);
  }
  if (wire.internal === 'ERR_CONVOY_SERIALIZE') return new SerializationError(wire.message);
  // A non-Error cause (`{ cause: 17 }`) travels as a wire error holding `value`: give back the value itself.
  const cause = wire.cause
    ? 'value' in wire.cause
      ? wire.cause.value
      : errorFromWire(wire.cause, worker)
    : 'value' in wire
      ? wire.value
      : undefined;
  const fields: ConstructorParameters<typeof RemoteError>[1] = { remoteName: wire.name, cause };
  if (wire.stack !== undefined) fields.remoteStack = wire.stack;
  const data = wire.data ?? ('value' in wire ? valueData(wire) : undefined);
  if (data) fields.data = data;
  return new RemoteError(wire.message, fields);
}

/** A channel is full and `backpressure: 'reject'` was chosen. */
export class ChannelFullError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_BACKPRESSURE';
  constructor(windowBytes: number, inFlight: number, limits: { maxQueuedBytes: number; maxInFlight: number }) {
    super(
      'ERR_CONVOY_BACKPRESSURE',
      `Channel full: ${windowBytes} bytes queued or unacked (maxQueuedBytes ${limits.maxQueuedBytes}), ` +
        `${inFlight} calls in flight (maxInFlight ${limits.maxInFlight})`,
    );
  }
}
