/**
 * Every tunable in one place: the option types, one frozen DEFAULTS object, and validation whose errors
 * name the option and the value.
 */
import { describe, describeKind } from './errors.js';
import { rejectUnknownKeys } from './option-keys.js';
import { MAX_RING_BYTES, MIN_RING_BYTES, isRingCapacity } from './transport/ring-capacity.js';

/** How a channel batches, bounds and frames what it sends. */
export interface ChannelOptions {
  /**
   * Extra time to wait for more messages before a batch leaves. 0 sends when the current event-loop
   * turn ends, so a lone call adds no delay and a burst issued in one turn leaves as one batch.
   * @default 0
   */
  flushDelayMs?: number;
  /** A batch is split before it grows past this many bytes. @default 1048576 (1 MiB) */
  maxBatchBytes?: number;
  /** A received frame larger than this closes the connection with ProtocolError. @default 67108864 (64 MiB) */
  maxFrameBytes?: number;
  /**
   * Bytes a sender may have queued or sent but not yet handled by the receiver. Past it, calls and
   * notifies wait (or reject, see `backpressure`). A single larger message still goes when the channel
   * is otherwise empty. @default 16777216 (16 MiB)
   */
  maxQueuedBytes?: number;
  /** Calls awaiting a reply on one channel before more calls wait (or reject). @default 100000 */
  maxInFlight?: number;
  /** What a call or notify does when the channel is full: wait for room, or reject at once. @default 'wait' */
  backpressure?: 'wait' | 'reject';
}

export interface RpcOptions {
  /** Rejects a call with TimeoutError after this long; 0 disables. @default 0 */
  callTimeoutMs?: number;
}

export interface HealthOptions {
  /** How often the coordinator pings each worker. @default 500 */
  heartbeatIntervalMs?: number;
  /**
   * A worker silent for this long is declared hung, killed, and its calls fail: judged at the heartbeat's
   * ticks, so within two `heartbeatIntervalMs` more, never sooner. @default 3000
   */
  heartbeatTimeoutMs?: number;
  /** How long a worker may take to load, connect to its peers and report ready. @default 30000 */
  startTimeoutMs?: number;
  /** Restarts of one worker after which it stays dead. @default 5 */
  maxRestarts?: number;
  /** Delay before the first restart; doubles with each failure in a row, up to 5 s (or this delay, if longer). @default 100 */
  restartDelayMs?: number;
  /**
   * How long a TCP peer has to complete the authentication handshake; one that fails or stalls is
   * dropped. @default 1000
   */
  handshakeTimeoutMs?: number;
}

/** The live dashboard: `startCluster({ dashboard })` or `cluster.serveDashboard(options)`. */
export interface DashboardOptions {
  /** TCP port; 0 picks a free one. @default 8787 (or a free port, if 8787 is taken) */
  port?: number;
  /** Interface the server binds. @default '127.0.0.1' */
  host?: string;
  /** How often the page updates unless it asks for another pace (it may pick 250–10000 ms). @default 1000 */
  refreshMs?: number;
  /**
   * The secret every request must carry: `?token=` (which also sets a cookie), that cookie, or
   * `Authorization: Bearer <token>` (for a Prometheus scraper). At least 16 characters, printable ASCII
   * but space, `"`, `,`, `;` and `\` (a cookie cannot hold those).
   * @default a random one for each server
   */
  token?: string;
  /** How far back the time series go. @default 300000 (5 minutes) */
  historyMs?: number;
  /** Keep serving the last state after the cluster closes, until `close()` or the process exits. @default false */
  hold?: boolean;
}

/**
 * Shared memory between threads: the coordinator↔thread and thread↔thread channels of workers that opt in
 * carry their frames through a ring per direction in a SharedArrayBuffer instead of posting each frame on
 * a MessagePort. Same semantics, same guarantees; processes are not affected.
 */
export interface SharedMemoryOptions {
  /**
   * Thread channels over shared-memory rings (a thread pair uses them when both threads do; a worker's
   * own `sharedMemory` overrides this). @default false
   */
  sharedMemory?: boolean;
  /**
   * Bytes of each ring (one per direction of a channel): a power of two from 1 KiB to 1 GiB. Frames
   * larger than a quarter of it, and frames that transfer buffers, travel on the MessagePort beside it,
   * in order. A full ring holds the sender back until the receiver catches up. The default keeps convoy's
   * usual frames in the ring (4 KiB batches while calls are in flight, ~10–20 KiB for a burst of 1000
   * notifies) for 512 KiB per channel; 16 KiB to 1 MiB measured alike. @default 262144 (256 KiB)
   */
  ringBytes?: number;
  /**
   * How long a thread that just sent or received a frame keeps polling for the next one before it
   * sleeps, in microseconds (at most 10 000). Sleeping threads are woken through their event loop, as by
   * a message; a polling one sees data within a microsecond, so one call at a time gets several times
   * faster, at the cost of that much CPU per call on both sides. It must outlast the machine's wake-up
   * of a sleeping thread (idle virtual CPUs can take 50–100 µs): a shorter spin never catches an answer
   * once both sides have slept. Only where cores are to spare. 0 never polls; otherwise at least 1. @default 0
   */
  spinMicros?: number;
}

export type FilledChannelOptions = Required<ChannelOptions>;
export type FilledRpcOptions = Required<RpcOptions>;
export type FilledHealthOptions = Required<HealthOptions>;
export type FilledSharedMemoryOptions = Required<SharedMemoryOptions>;
export type FilledDashboardOptions = Required<Omit<DashboardOptions, 'token'>> & { token: string | undefined; portIsDefault: boolean };

export const DEFAULTS = Object.freeze({
  flushDelayMs: 0,
  maxBatchBytes: 1 << 20,
  maxFrameBytes: 64 << 20,
  maxQueuedBytes: 16 << 20,
  maxInFlight: 100_000,
  backpressure: 'wait',
  callTimeoutMs: 0,
  heartbeatIntervalMs: 500,
  heartbeatTimeoutMs: 3000,
  startTimeoutMs: 30_000,
  maxRestarts: 5,
  restartDelayMs: 100,
  handshakeTimeoutMs: 1000,
  dashboard: Object.freeze({ port: 8787, host: '127.0.0.1', refreshMs: 1000, historyMs: 300_000, hold: false }),
  sharedMemory: false,
  ringBytes: 256 * 1024,
  spinMicros: 0,
} as const);

/** The longest `spinMicros`: a spin blocks its thread's event loop, so it must stay short. */
export const MAX_SPIN_MICROS = 10_000;

const DASHBOARD_OPTION_KEYS = [
  'port',
  'host',
  'refreshMs',
  'token',
  'historyMs',
  'hold',
] as const satisfies readonly (keyof DashboardOptions)[];

/** The pace a page may ask the dashboard for. */
export const DASHBOARD_REFRESH_RANGE_MS = Object.freeze({ min: 250, max: 10_000 });

/**
 * The longest delay Node's timers take (2^31 - 1 ms, about 24.8 days): a longer one fires after 1 ms
 * (with a TimeoutOverflowWarning), so a timeout meant as "practically never" would fire at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export function expectNumber(
  name: string,
  value: unknown,
  { min = 0, integer = false, exclusiveMin = false, max = Number.POSITIVE_INFINITY } = {},
): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (exclusiveMin ? value > min : value >= min) &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    const bound =
      max === MAX_TIMER_MS
        ? ` and <= ${MAX_TIMER_MS} (the longest timer Node sets, about 24.8 days)`
        : max < Number.POSITIVE_INFINITY
          ? ` and <= ${max}`
          : '';
    const what = `${integer ? 'an integer' : 'a finite number'} ${exclusiveMin ? '>' : '>='} ${min}${bound}`;
    throw new TypeError(`Expected \`${name}\` to be ${what}, got ${describe(value)}`);
  }
  return value as number;
}

/** A duration in milliseconds that a timer waits out: at most MAX_TIMER_MS. */
export function expectDuration(name: string, value: unknown, options: { exclusiveMin?: boolean } = {}): number {
  return expectNumber(name, value, { ...options, max: MAX_TIMER_MS });
}

export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new TypeError(`Expected \`${name}\` to be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

function pick<T>(options: object | undefined, key: string, fallback: T): unknown {
  const value = (options as Record<string, unknown> | undefined)?.[key];
  return value === undefined ? fallback : value;
}

export function fillChannelOptions(options?: ChannelOptions): FilledChannelOptions {
  return {
    flushDelayMs: expectDuration('flushDelayMs', pick(options, 'flushDelayMs', DEFAULTS.flushDelayMs)),
    maxBatchBytes: expectNumber('maxBatchBytes', pick(options, 'maxBatchBytes', DEFAULTS.maxBatchBytes), { min: 1, integer: true }),
    maxFrameBytes: expectNumber('maxFrameBytes', pick(options, 'maxFrameBytes', DEFAULTS.maxFrameBytes), { min: 1, integer: true }),
    maxQueuedBytes: expectNumber('maxQueuedBytes', pick(options, 'maxQueuedBytes', DEFAULTS.maxQueuedBytes), { min: 1, integer: true }),
    maxInFlight: expectNumber('maxInFlight', pick(options, 'maxInFlight', DEFAULTS.maxInFlight), { min: 1, integer: true }),
    backpressure: expectOneOf('backpressure', pick(options, 'backpressure', DEFAULTS.backpressure), ['wait', 'reject'] as const),
  };
}

export function fillRpcOptions(options?: RpcOptions): FilledRpcOptions {
  return { callTimeoutMs: expectDuration('callTimeoutMs', pick(options, 'callTimeoutMs', DEFAULTS.callTimeoutMs)) };
}

export function fillHealthOptions(options?: HealthOptions): FilledHealthOptions {
  const filled = {
    heartbeatIntervalMs: expectDuration('heartbeatIntervalMs', pick(options, 'heartbeatIntervalMs', DEFAULTS.heartbeatIntervalMs), {
      exclusiveMin: true,
    }),
    heartbeatTimeoutMs: expectDuration('heartbeatTimeoutMs', pick(options, 'heartbeatTimeoutMs', DEFAULTS.heartbeatTimeoutMs), {
      exclusiveMin: true,
    }),
    startTimeoutMs: expectDuration('startTimeoutMs', pick(options, 'startTimeoutMs', DEFAULTS.startTimeoutMs), { exclusiveMin: true }),
    maxRestarts: expectNumber('maxRestarts', pick(options, 'maxRestarts', DEFAULTS.maxRestarts), { integer: true }),
    restartDelayMs: expectDuration('restartDelayMs', pick(options, 'restartDelayMs', DEFAULTS.restartDelayMs)),
    handshakeTimeoutMs: expectDuration('handshakeTimeoutMs', pick(options, 'handshakeTimeoutMs', DEFAULTS.handshakeTimeoutMs), {
      exclusiveMin: true,
    }),
  };
  if (filled.heartbeatTimeoutMs <= filled.heartbeatIntervalMs) {
    throw new TypeError(
      `Expected \`heartbeatTimeoutMs\` (${filled.heartbeatTimeoutMs}) to be greater than \`heartbeatIntervalMs\` (${filled.heartbeatIntervalMs})`,
    );
  }
  return filled;
}

/**
 * A dashboard token travels in a cookie and an Authorization header: a cookie's value may hold printable
 * ASCII but space, '"', ',', ';' and '\' (RFC 6265), and a header no character past it (Node throws).
 */
const TOKEN_CHAR = '[\\x21\\x23-\\x2b\\x2d-\\x3a\\x3c-\\x5b\\x5d-\\x7e]';
const DASHBOARD_TOKEN = new RegExp(`^${TOKEN_CHAR}{16,}$`);
const DASHBOARD_TOKEN_CHAR = new RegExp(`^${TOKEN_CHAR}$`);

/** A token refused, without repeating it: it is a secret, and errors end up in logs. */
function describeToken(token: unknown): string {
  if (typeof token !== 'string') return describeKind(token);
  const bad = [...token].findIndex((char) => !DASHBOARD_TOKEN_CHAR.test(char));
  return bad < 0 ? `${token.length} characters` : `one whose character ${bad + 1} is not allowed`;
}

export function fillDashboardOptions(options: DashboardOptions | true | undefined): FilledDashboardOptions {
  const given = options === true || options === undefined ? {} : options;
  if (typeof given !== 'object' || given === null)
    throw new TypeError(`Expected \`dashboard\` to be an options object or true, got ${describe(given)}`);
  rejectUnknownKeys(given, DASHBOARD_OPTION_KEYS, '`dashboard`');
  const { min, max } = DASHBOARD_REFRESH_RANGE_MS;
  const defaults = DEFAULTS.dashboard;
  const token = pick(given, 'token', undefined);
  if (token !== undefined && (typeof token !== 'string' || !DASHBOARD_TOKEN.test(token))) {
    throw new TypeError(
      `Expected \`dashboard.token\` to be a string of at least 16 characters, each printable ASCII other than space, '"', ',', ';' and '\\' (it travels in a cookie and a header), got ${describeToken(token)}`,
    );
  }
  const host = pick(given, 'host', defaults.host);
  if (typeof host !== 'string' || host === '')
    throw new TypeError(`Expected \`dashboard.host\` to be a non-empty string, got ${describe(host)}`);
  const hold = pick(given, 'hold', defaults.hold);
  if (typeof hold !== 'boolean') throw new TypeError(`Expected \`dashboard.hold\` to be a boolean, got ${describe(hold)}`);
  const refreshMs = expectNumber('dashboard.refreshMs', pick(given, 'refreshMs', defaults.refreshMs), { min });
  if (refreshMs > max) throw new TypeError(`Expected \`dashboard.refreshMs\` to be at most ${max}, got ${refreshMs}`);
  const port = expectNumber('dashboard.port', pick(given, 'port', defaults.port), { integer: true });
  if (port > 65535) throw new TypeError(`Expected \`dashboard.port\` to be at most 65535, got ${port}`);
  return {
    port,
    portIsDefault: (given as DashboardOptions).port === undefined,
    host,
    refreshMs,
    token: token as string | undefined,
    historyMs: expectNumber('dashboard.historyMs', pick(given, 'historyMs', defaults.historyMs), { min: 1000 }),
    hold,
  };
}

export function fillSharedMemoryOptions(options?: SharedMemoryOptions): FilledSharedMemoryOptions {
  const sharedMemory = pick(options, 'sharedMemory', DEFAULTS.sharedMemory);
  if (typeof sharedMemory !== 'boolean') throw new TypeError(`Expected \`sharedMemory\` to be a boolean, got ${describe(sharedMemory)}`);
  const ringBytes = pick(options, 'ringBytes', DEFAULTS.ringBytes);
  if (typeof ringBytes !== 'number' || !isRingCapacity(ringBytes)) {
    throw new TypeError(
      `Expected \`ringBytes\` to be a power of two from ${MIN_RING_BYTES} to ${MAX_RING_BYTES}, got ${describe(ringBytes)}`,
    );
  }
  const spinMicros = expectNumber('spinMicros', pick(options, 'spinMicros', DEFAULTS.spinMicros));
  if (spinMicros > MAX_SPIN_MICROS) {
    throw new TypeError(`Expected \`spinMicros\` to be at most ${MAX_SPIN_MICROS}, got ${describe(spinMicros)}`);
  }
  // A spin shorter than a microsecond is never started, yet it would turn the polling path on: no gain
  // of either path (a review's).
  if (spinMicros > 0 && spinMicros < 1) {
    throw new TypeError(`Expected \`spinMicros\` to be 0 (no spin) or at least 1, got ${describe(spinMicros)}`);
  }
  return { sharedMemory, ringBytes, spinMicros };
}
