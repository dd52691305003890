/**
 * Command-line parsing for `convoy`: each command declares its own flags, and a flag that is not one of
 * them (a typo, or another command's flag) is a usage error naming it. Usage text is generated from
 * the same declarations, so `convoy <command> --help` shows that command's options and nothing else.
 */
import { parseArgs } from 'node:util';

export type Command = 'bank' | 'counter' | 'replication';

export class UsageError extends Error {
  readonly code = 'ERR_CONVOY_USAGE';
  /** The command whose usage to show; undefined: the overview. */
  readonly command: Command | undefined;

  constructor(message: string, command?: Command) {
    super(message);
    this.command = command;
  }
}

interface Flag {
  type: 'string' | 'boolean';
  /** The value's placeholder in the usage, e.g. `N`. */
  arg?: string;
  help: string;
  short?: string;
}

const COMMON: Record<string, Flag> = {
  json: { type: 'boolean', help: 'print the final report as JSON' },
  verbose: { type: 'boolean', help: 'on an unexpected failure, print the whole stack' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

const COMMANDS: Record<Command, { summary: string; flags: Record<string, Flag> }> = {
  bank: {
    summary: 'Two-phase-commit transfers between shards, with optional chaos, then a checker',
    flags: {
      seconds: { type: 'string', arg: 'N', help: 'how long transfers run (default 10)' },
      shards: { type: 'string', arg: 'N', help: 'shard workers, at least 2 (default 4)' },
      tellers: { type: 'string', arg: 'N', help: 'teller workers (default 2)' },
      accounts: { type: 'string', arg: 'N', help: 'accounts per shard (default 200)' },
      concurrency: { type: 'string', arg: 'N', help: 'transfers in flight per teller (default 64)' },
      kind: { type: 'string', arg: 'K', help: 'thread | process | mixed (default mixed)' },
      crash: { type: 'boolean', help: 'kill one worker a third of the way in: every run crashes and restarts one (npm start)' },
      'chaos-ms': { type: 'string', arg: 'N', help: 'also kill a random worker about every N ms; 0 = never (default 0)' },
      'lock-policy': {
        type: 'string',
        arg: 'P',
        help: 'wound-wait | no-wait: wait for a locked account, or refuse at once (default wound-wait)',
      },
      'lock-wait-ms': { type: 'string', arg: 'N', help: 'how long a prepare may wait for a lock under wound-wait (default 250)' },
      'data-dir': {
        type: 'string',
        arg: 'DIR',
        help: 'where the write-ahead logs go, kept afterwards (default: a temporary directory, removed)',
      },
      seed: { type: 'string', arg: 'N', help: 'seed of the transfer generator (default 1)' },
      agents: {
        type: 'string',
        arg: 'N',
        help: 'run the shards on N local agents over NATS, each standing for a host of its own (default 0); chaos kills one agent too',
      },
      nats: { type: 'string', arg: 'URL', help: 'with --agents: the NATS server to use (default: start one; needs nats-server)' },
      dashboard: { type: 'boolean', help: 'serve the live dashboard during the run and print its address' },
      port: { type: 'string', arg: 'N', help: 'with --dashboard: its port (default 8787, or a free one if taken)' },
      hold: { type: 'boolean', help: 'with --dashboard: keep it open after the report, until Ctrl-C' },
    },
  },
  counter: {
    summary: "Ordered, awaited calls: A awaits B's inc(x) over one batched stream, then checks every reply and the order B saw",
    flags: {
      rounds: {
        type: 'string',
        arg: 'N',
        help: 'inc() calls, then one notify inc(); 2 to 1000000: half one at a time, half pipelined 10000 at a time (default 10000)',
      },
      kind: { type: 'string', arg: 'K', help: 'thread | process: what B runs in (default process)' },
    },
  },
  replication: {
    summary: 'Ordered replication with notify vs the same writes through the unordered pool, replicas checked against the primary',
    flags: {
      writes: { type: 'string', arg: 'N', help: 'writes per mode, 1 to 100000 (default 2000)' },
      replicas: { type: 'string', arg: 'N', help: 'replica workers, 1 to 32 (default 2)' },
      kind: { type: 'string', arg: 'K', help: 'thread | process: what the replicas run in (default thread)' },
    },
  },
};

/** The exit codes, as `command`'s help (or the overview, without one) gives them. */
const exitCodes = (command?: Command): string => {
  const interrupted =
    command === undefined
      ? 'Ctrl-C; `bank` still checks and reports what it did'
      : command === 'bank'
        ? 'Ctrl-C or SIGTERM: the bank still checks and reports what it did, 1 if that check fails; a second one or a hangup quits at once, unchecked'
        : 'Ctrl-C';
  const failed =
    command === undefined
      ? 'it failed its check (for `bank`, also: no transfer committed, or the run did not settle)'
      : command === 'bank'
        ? 'it failed its check, committed no transfer, or did not settle'
        : 'it failed its check';
  return `Exit codes: 0 the run passed its check, 1 ${failed}, 2 bad usage, 3 the run failed unexpectedly, 130 interrupted (${interrupted}).`;
};

function flagLines(flags: Record<string, Flag>): string[] {
  const left = Object.entries(flags).map(([name, f]) => `${f.short ? `-${f.short}, ` : ''}--${name}${f.arg ? ` ${f.arg}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  return Object.values(flags).map((f, i) => `  ${left[i]!.padEnd(width)}  ${f.help}`);
}

/** The overview, or one command's usage with its options only. */
export function usage(command?: Command): string {
  if (command) {
    const { summary, flags } = COMMANDS[command];
    return [
      `Usage: convoy ${command} [options]`,
      '',
      summary,
      '',
      'Options:',
      ...flagLines({ ...flags, ...COMMON }),
      '',
      exitCodes(command),
      '',
    ].join('\n');
  }
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: convoy <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    `  ${'agent'.padEnd(width)}  Serve a cluster's workers on this host, over NATS (see \`convoy agent --help\`)`,
    '',
    'Run `convoy <command> --help` for its options, `convoy --version` for the version.',
    exitCodes(),
    '',
  ].join('\n');
}

export type Values = Record<string, string | boolean | undefined>;

export type Cli =
  | { help: true; command: Command | undefined }
  | { help: false; command: Command; values: Values; json: boolean; verbose: boolean };

const isCommand = (word: string | undefined): word is Command => word !== undefined && Object.hasOwn(COMMANDS, word);

/** `convoy <command> [options]`, `convoy [<command>] --help`, `convoy help [<command>]`. */
export function parseCli(argv: readonly string[]): Cli {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('Missing command');
  if (first === 'help' && rest.length <= 1) {
    if (rest[0] !== undefined && !isCommand(rest[0])) throw new UsageError(`Unknown command "${rest[0]}"`);
    return { help: true, command: rest[0] as Command | undefined };
  }
  if (first === '--help' || first === '-h') return { help: true, command: undefined };
  if (first.startsWith('-')) throw new UsageError(`Expected a command before the options, got "${first}"`);
  if (!isCommand(first)) throw new UsageError(`Unknown command "${first}"`);
  const values = parseFlags(first, rest);
  if (values.help) return { help: true, command: first };
  return { help: false, command: first, values, json: values.json === true, verbose: values.verbose === true };
}

/**
 * The command's flags, strictly: an option it does not declare, a missing value or a stray argument
 * is a UsageError. Parsed leniently and checked token by token, so errors name the flag and the
 * command in our own words.
 */
function parseFlags(command: Command, args: string[]): Values {
  const flags = { ...COMMANDS[command].flags, ...COMMON };
  const options = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, f.short ? { type: f.type, short: f.short } : { type: f.type }]),
  );
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: Values = {};
  for (const token of tokens) {
    if (token.kind === 'positional') throw new UsageError(`Unexpected argument "${token.value}"`, command);
    if (token.kind !== 'option') continue;
    const flag = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (!flag) {
      const owners = (Object.keys(COMMANDS) as Command[]).filter((c) => Object.hasOwn(COMMANDS[c].flags, token.name));
      const where = owners.length > 0 ? ` (it belongs to ${owners.map((c) => `"convoy ${c}"`).join(', ')})` : '';
      throw new UsageError(`Unknown option ${token.rawName} for "convoy ${command}"${where}`, command);
    }
    if (flag.type === 'string' && token.value === undefined) throw new UsageError(`Option --${token.name} needs a value`, command);
    if (flag.type === 'boolean' && token.inlineValue) throw new UsageError(`Option --${token.name} takes no value`, command);
    values[token.name] = token.value ?? true;
  }
  return values;
}

/** A flag's value as a number within bounds, or its default. */
export function numberFlag(
  values: Values,
  name: string,
  fallback: number,
  { min = 0, max = Number.POSITIVE_INFINITY, integer = true } = {},
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  // Written in decimal, as the help shows them: Number() alone would also take '0x10', '1e3', '0b11' and
  // ' 2 ', and an integer flag '2.0'.
  const written = typeof raw === 'string' && (integer ? /^[+-]?\d+$/ : /^[+-]?(\d+(\.\d*)?|\.\d+)$/).test(raw);
  const value = Number(raw);
  const bad = !written || !Number.isFinite(value);
  if (bad || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`Expected --${name} to be ${integer ? 'an integer' : 'a number'} ${range}, got "${String(raw)}"`);
  }
  return value;
}

export function choiceFlag<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const raw = values[name];
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T)) throw new UsageError(`Expected --${name} to be one of ${allowed.join(', ')}, got "${String(raw)}"`);
  return raw as T;
}
