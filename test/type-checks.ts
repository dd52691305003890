/**
 * Compile-time checks of Remote<T> and Notifier<T> (comlink's `tests/type-checks.ts`). Not run: `tsc`
 * checks it (tsconfig includes test/). Each `@ts-expect-error` line must be an error, or tsc fails.
 */
import {
  ConvoyError,
  type ConvoyErrorCode,
  notify,
  TimeoutError,
  transfer,
  withOptions,
  type Notifier,
  type Remote,
  type ClusterOptions,
  type ChannelFigures,
  type PeerExitEvent,
  type WorkerContextEvents,
  type WorkerDiedInfo,
  type WorkerKind,
} from '../src/index.js';

/** Exact type equality, so a check cannot pass by assignability alone. */
type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

interface Api {
  inc(by: number): number;
  load(key: string): Promise<Uint8Array>;
  nested(): Promise<Promise<string>>;
  log(line: string, level?: 'info' | 'warn'): void;
  many(...values: bigint[]): Map<string, Set<number>>;
  arrow: (a: number, b: string) => boolean;
  /** Not a method: not on the remote. */
  count: number;
  readonly label: string;
  config: { debug: boolean };
}

declare const remote: Remote<Api>;

// Methods return a Promise of their awaited result.
expectType<Equal<ReturnType<Remote<Api>['inc']>, Promise<number>>>();
expectType<Equal<ReturnType<Remote<Api>['load']>, Promise<Uint8Array>>>();
expectType<Equal<ReturnType<Remote<Api>['nested']>, Promise<string>>>();
expectType<Equal<ReturnType<Remote<Api>['log']>, Promise<void>>>();
expectType<Equal<ReturnType<Remote<Api>['many']>, Promise<Map<string, Set<number>>>>>();
expectType<Equal<ReturnType<Remote<Api>['arrow']>, Promise<boolean>>>();
// Parameters are kept as they are, optional ones included.
expectType<Equal<Parameters<Remote<Api>['log']>, [line: string, level?: 'info' | 'warn']>>();
expectType<Equal<Parameters<Remote<Api>['many']>, bigint[]>>();
// Only methods are keys.
expectType<Equal<keyof Remote<Api>, 'inc' | 'load' | 'nested' | 'log' | 'many' | 'arrow'>>();

export async function usage(): Promise<void> {
  const n: number = await remote.inc(1);
  const bytes: Uint8Array = await remote.load('k');
  const s: string = await remote.nested();
  await remote.log('x');
  await remote.log('x', 'warn');
  await remote.many(1n, 2n);
  void [n, bytes, s];

  // @ts-expect-error a string is not a number
  void remote.inc('1');
  // @ts-expect-error missing argument
  void remote.inc();
  // @ts-expect-error too many arguments
  void remote.inc(1, 2);
  // @ts-expect-error 'error' is not a level
  void remote.log('x', 'error');
  // @ts-expect-error numbers are not bigints
  void remote.many(1);
  // @ts-expect-error a non-method property is not on the remote
  void remote.count;
  // @ts-expect-error nor is a readonly data property
  void remote.label;
  // @ts-expect-error nor an object property
  void remote.config;
  // @ts-expect-error an unknown name is not on the remote
  void remote.missing();
  // @ts-expect-error the result is a Promise, not the value
  const wrong: number = remote.inc(1);
  void wrong;
  // @ts-expect-error methods cannot be replaced
  remote.inc = async () => 1;

  // `await remote` gives the remote back (no `then`).
  const same: Remote<Api> = await remote;
  void same;

  // Notifier: the same methods, each resolving to void when accepted.
  const notifier: Notifier<Api> = notify(remote);
  const accepted: Promise<void> = notifier.inc(1);
  void accepted;
  expectType<Equal<ReturnType<Notifier<Api>['load']>, Promise<void>>>();
  expectType<Equal<keyof Notifier<Api>, keyof Remote<Api>>>();
  // @ts-expect-error wrong argument type on a notify too
  void notifier.inc('1');
  // @ts-expect-error non-method keys are not notifiable
  void notifier.count;
  // @ts-expect-error a notify's promise carries no result
  const notResult: Promise<number> = notifier.inc(1);
  void notResult;

  // withOptions keeps the type.
  const timed: Remote<Api> = withOptions(remote, { timeoutMs: 100, signal: AbortSignal.timeout(1000) });
  void timed;
  // @ts-expect-error unknown call option
  void withOptions(remote, { retries: 3 });
  // @ts-expect-error timeoutMs is a number
  void withOptions(remote, { timeoutMs: '100' });

  // A remote whose type has a name of its own keeps its methods through notify() and withOptions() (a
  // review's: they were typed over the API, which TypeScript cannot tell back from such a name).
  type Named = Remote<Api>;
  const named: Named = remote;
  expectType<Equal<ReturnType<typeof notify<Named>>['inc'], (by: number) => Promise<void>>>();
  void notify(named).inc(1);
  const namedTimed: Named = withOptions(named, { timeoutMs: 100 });
  const incremented: Promise<number> = namedTimed.inc(1);
  void incremented;
  // @ts-expect-error wrong argument type through a named remote too
  void notify(named).inc('1');
  // @ts-expect-error only objects are remotes
  void notify(42);
  // @ts-expect-error only objects are remotes
  void withOptions('a', { timeoutMs: 1 });
  // A generic wrapper names its API: `notify(r)` alone types over the remote, Notifier<Remote<T>>, which
  // TypeScript cannot prove to be Notifier<T> for a T it does not know.
  function notifierOf<T>(r: Remote<T>): Notifier<T> {
    return notify<T>(r);
  }
  void notifierOf(remote).inc(1);
  // The API named, as before.
  const explicit: Notifier<Api> = notify<Api>(remote);
  const explicitTimed: Remote<Api> = withOptions<Api>(remote, { timeoutMs: 1 });
  void explicit;
  void explicitTimed;
}

// `then` and `toJSON` are never remote methods: the proxy has neither (awaiting or serialising a remote
// must not call the worker).
expectType<Equal<keyof Remote<{ then(): void; toJSON(): string; inc(): number }>, 'inc'>>();

// A Remote of an API with no methods has no keys.
expectType<Equal<keyof Remote<{ a: number }>, never>>();

// An optional method is a method: the remote has it (a worker without it answers MethodNotFoundError).
interface Partial {
  maybe?(by: number): string;
  maybeArrow?: (flag: boolean) => Promise<number>;
  maybeCount?: number;
}
expectType<Equal<keyof Remote<Partial>, 'maybe' | 'maybeArrow'>>();
expectType<Equal<Remote<Partial>['maybe'], (by: number) => Promise<string>>>();
expectType<Equal<Remote<Partial>['maybeArrow'], (flag: boolean) => Promise<number>>>();
expectType<Equal<Notifier<Partial>['maybe'], (by: number) => Promise<void>>>();
// @ts-expect-error Equal really distinguishes types (a check of the checker)
expectType<Equal<Promise<number>, Promise<string>>>();

// transfer() hands back what it marked, with its type, so it can wrap an argument in place.
declare const loadRemote: Remote<{ store(entry: { id: number; bytes: Uint8Array }): void }>;
const entry: { id: number; bytes: Uint8Array } = { id: 1, bytes: new Uint8Array(4) };
const marked = transfer(entry, [new ArrayBuffer(4)]);
expectType<Equal<typeof marked, typeof entry>>();
void loadRemote.store(transfer({ id: 2, bytes: new Uint8Array(4) }, []));
// @ts-expect-error: the list holds ArrayBuffers, not numbers
transfer(new Uint8Array(4), [4]);
// The documented idiom compiles, though a typed array's `buffer` is typed ArrayBufferLike (a
// SharedArrayBuffer is refused when it is called).
declare const bytes: Uint8Array;
void loadRemote.store(transfer({ id: 3, bytes }, [bytes.buffer]));
// @ts-expect-error: transfer() marks an object
transfer(5, []);

// Error codes are literal types: each class's its own, a ConvoyError's the union, so a misspelt code is an error.
declare const caught: unknown;
if (caught instanceof TimeoutError) expectType<Equal<typeof caught.code, 'ERR_CONVOY_TIMEOUT'>>();
if (caught instanceof ConvoyError) {
  expectType<Equal<typeof caught.code, ConvoyErrorCode>>();
  // @ts-expect-error: no such code
  if (caught.code === 'ERR_CONVOY_TIMEOUTT') throw caught;
}

// Options may be read-only: convoy changes none of them (a review's: a frozen list of specs was refused).
const specs = [{ name: 'a', module: './a.js', argv: ['--x'], execArgv: ['--no-warnings'] }] as const;
const frozenOptions: ClusterOptions = { workers: specs };
void frozenOptions;

// Types a user needs to name are exported (a review's: these were reachable only by inference).
const kind: WorkerKind = 'process';
const info: WorkerDiedInfo = { worker: 'b', reason: 'exit', exitCode: 1 };
expectType<Equal<WorkerContextEvents['peer-exit'], [event: PeerExitEvent]>>();
const figures: Pick<ChannelFigures, 'calls'> | undefined = undefined;
void [kind, info, figures];
