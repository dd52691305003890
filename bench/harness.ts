// The scenario contract and the runner: one warm-up, then N measured repetitions, every one recorded.

/** What one repetition yields: one figure, or named figures measured together (`{ p50, p99 }`). */
export type Sample = number | Readonly<Record<string, number>>;

export type Unit = 'calls/s' | 'µs' | 'ms' | 'MB';

export interface RunOptions {
  /** Shorter repetitions and fewer of them; for smoke runs, not for numbers you quote. */
  readonly quick: boolean;
  /** This open of a suite is one of so many (Suite.opens): each runs that share of the pairs. */
  readonly opens?: number;
}

export interface Scenario {
  /** Unique; `--only` matches a substring of it, and `baseline` refers to it. */
  readonly name: string;
  /** Rows of the table are grouped under this heading. */
  readonly group: string;
  readonly unit: Unit;
  readonly higherIsBetter: boolean;
  /** Name of another scenario; the table shows how many times better this one is (see README). */
  readonly baseline?: string;
  /** Once, before the warm-up: spawn workers here, so repetitions measure only the steady state. */
  setup?(opts: RunOptions): Promise<void>;
  /** One repetition. */
  run(opts: RunOptions): Promise<Sample>;
  /** Once, always, even after a failure: end every thread, process and socket that setup started. */
  teardown?(): Promise<void>;
}

export type ScenarioMeta = Omit<Scenario, 'setup' | 'run' | 'teardown'>;

/** A scenario whose repetitions share something expensive to start (a worker, a child process). */
export interface Fixture<F> {
  open(opts: RunOptions): Promise<F>;
  measure(fixture: F, opts: RunOptions): Promise<Sample>;
  close(fixture: F): Promise<void>;
}

export function withFixture<F>(meta: ScenarioMeta, fx: Fixture<F>): Scenario {
  let opened: { fixture: F } | undefined;
  return {
    ...meta,
    async setup(opts) {
      opened = { fixture: await fx.open(opts) };
    },
    run(opts) {
      if (!opened) throw new Error(`scenario ${meta.name}: run() before setup()`);
      return fx.measure(opened.fixture, opts);
    },
    async teardown() {
      const o = opened;
      opened = undefined;
      if (o) await fx.close(o.fixture);
    },
  };
}

export interface Outcome {
  readonly scenario: Scenario;
  readonly warmup?: Sample;
  /** Measured repetitions, warm-up excluded. */
  readonly reps: readonly Sample[];
  readonly seconds: number;
  readonly error?: string;
}

export interface RunnerOptions extends RunOptions {
  readonly repetitions: number;
  /** Bound on each step (setup, one repetition, teardown), so a hung worker cannot hang the bench. */
  readonly stepTimeoutMs: number;
}

export async function runScenario(s: Scenario, o: RunnerOptions): Promise<Outcome> {
  const started = performance.now();
  const opts: RunOptions = { quick: o.quick };
  const step = <T>(what: string, p: () => Promise<T>): Promise<T> => withTimeout(p(), o.stepTimeoutMs, `${s.name}: ${what}`);
  const reps: Sample[] = [];
  let warmup: Sample | undefined;
  let error: string | undefined;
  try {
    if (s.setup) await step('setup', () => s.setup!(opts));
    warmup = await step('warm-up', () => s.run(opts));
    for (let i = 0; i < o.repetitions; i++) reps.push(await step(`repetition ${i + 1}`, () => s.run(opts)));
  } catch (e) {
    error = describe(e);
  }
  try {
    if (s.teardown) await step('teardown', () => s.teardown!());
  } catch (e) {
    error ??= describe(e);
  }
  const seconds = (performance.now() - started) / 1000;
  return { scenario: s, reps, seconds, ...(warmup === undefined ? {} : { warmup }), ...(error ? { error } : {}) };
}

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

/** Per metric (`value` for a plain number), the median and range over the repetitions. */
export function summarize(reps: readonly Sample[]): Map<string, Stat> {
  const byMetric = new Map<string, number[]>();
  for (const r of reps) {
    for (const [k, v] of typeof r === 'number' ? [['value', r] as const] : Object.entries(r)) {
      let list = byMetric.get(k);
      if (!list) byMetric.set(k, (list = []));
      list.push(v);
    }
  }
  const out = new Map<string, Stat>();
  for (const [k, values] of byMetric) {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    out.set(k, { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, values });
  }
  return out;
}

/** How many times better `s` is than `base` (> 1 = better), from medians, whatever the unit's direction. */
export function timesBetter(s: Stat, base: Stat, higherIsBetter: boolean): number {
  return higherIsBetter ? s.median / base.median : base.median / s.median;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
