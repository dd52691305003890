/**
 * `convoy`: runs the examples. Exit codes: 0 the run passed its check, 1 it failed its check, 2 bad
 * usage, 3 the run failed unexpectedly (an error, not a verdict: one line, the stack with --verbose),
 * 130 interrupted by Ctrl-C after the bank reported what it did.
 */
import { type Cli, type Command, parseCli, UsageError, usage, type Values } from './args.js';
import { bank, counter, replication, type Verdict } from './commands.js';

export const EXIT = Object.freeze({ ok: 0, checkFailed: 1, usage: 2, failed: 3, interrupted: 130 });

const RUN: Record<Command, (values: Values, json: boolean) => Promise<Verdict>> = { bank, counter, replication };

/** An unexpected failure as one line (with its code, if any), or its stack and causes with `verbose`. */
export function describeFailure(error: unknown, verbose: boolean): string {
  if (verbose) {
    const parts: string[] = [];
    for (let e: unknown = error; e !== undefined; e = (e as { cause?: unknown } | null)?.cause) {
      parts.push(e instanceof Error ? (e.stack ?? String(e)) : String(e));
    }
    return parts.join('\nCaused by: ');
  }
  const e = error as { message?: unknown; code?: unknown } | null;
  const message = (typeof e?.message === 'string' ? e.message : String(error)).split('\n')[0]!;
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? ` [${e.code}]` : '';
  return `${message}${code} (run with --verbose for the stack)`;
}

const printUsageError = (error: UsageError, command: Command | undefined): number => {
  console.error(`convoy: ${error.message}\n\n${usage(error.command ?? command)}`);
  return EXIT.usage;
};

export async function main(argv: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseCli(argv);
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, undefined);
    throw error;
  }
  if (cli.help) {
    console.log(usage(cli.command));
    return EXIT.ok;
  }
  try {
    return await RUN[cli.command](cli.values, cli.json);
  } catch (error) {
    if (error instanceof UsageError) return printUsageError(error, cli.command);
    console.error(`convoy: ${cli.command} failed: ${describeFailure(error, cli.verbose)}`);
    return EXIT.failed;
  }
}
