/**
 * `convoy agent`: run an agent on this host until SIGINT or SIGTERM. Exit codes: 0 stopped, 1 could not
 * start (NATS unreachable, an unreadable secret, credential or TLS file, a --cwd that is no directory),
 * 2 bad usage.
 */
import { readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { NatsConnectOptions, NatsTlsOptions } from '../cluster/nats-options.js';
import { closeNats, connectNats } from '../transport/nats-connect.js';
import { subjectToken } from '../transport/nats-wire.js';
import { Agent } from './agent.js';
import { readSecret } from './secret.js';

export const AGENT_USAGE = `Usage: convoy agent --nats URL --host NAME --secret-file FILE [options]

Serves one convoy cluster at a time on this host: starts the workers its coordinator places here.

  --nats URL          NATS server (repeat, or separate with commas, for a NATS cluster)
  --host NAME         this host's name, as WorkerSpec.host names it
  --secret-file FILE  the cluster secret (the coordinator's nats.secretFile); - reads standard input
  --cluster NAME      the cluster's name on the NATS server (default convoy)
  --cwd DIR           where worker modules are resolved (default: the current directory)
  --token-file FILE   NATS token
  --user NAME         NATS user, with --pass-file FILE
  --tls-ca FILE       CA of the NATS server's certificate; --tls-cert FILE and --tls-key FILE for a client certificate
  -h, --help          show this help

Runs until SIGINT or SIGTERM, which stop its workers. Exit codes: 0 stopped, 1 could not start (NATS
unreachable; an unreadable secret, credential or TLS file; a --cwd that is no directory), 2 bad usage.
`;

class UsageError extends Error {}

/** The files named by these flags are read once the command line is known to be good (exit 1 if one cannot be). */
const CREDENTIAL_FLAGS = ['token-file', 'pass-file'] as const;
const TLS_FLAGS = { 'tls-ca': 'ca', 'tls-cert': 'cert', 'tls-key': 'key' } as const;
type FileFlag = (typeof CREDENTIAL_FLAGS)[number] | keyof typeof TLS_FLAGS;

interface AgentCli {
  /** The servers and user; the credentials and TLS files are read into it from `files`. */
  connect: NatsConnectOptions;
  files: Partial<Record<FileFlag, string>>;
  host: string;
  cluster: string;
  secretFile: string;
  cwd: string;
}

async function parse(argv: string[]): Promise<AgentCli | 'help'> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        nats: { type: 'string', multiple: true },
        host: { type: 'string' },
        'secret-file': { type: 'string' },
        cluster: { type: 'string' },
        cwd: { type: 'string' },
        'token-file': { type: 'string' },
        user: { type: 'string' },
        'pass-file': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const required = (flag: string): string => {
    const value = values[flag];
    if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required`);
    return value;
  };
  const servers = ((values.nats as string[] | undefined) ?? []).flatMap((list) => list.split(',')).filter(Boolean);
  if (servers.length === 0) throw new UsageError('--nats is required');
  const host = required('host');
  const cluster = typeof values.cluster === 'string' ? values.cluster : 'convoy';
  for (const [flag, name] of [
    ['host', host],
    ['cluster', cluster],
  ] as const) {
    try {
      subjectToken(name);
    } catch {
      throw new UsageError(`--${flag} must be letters, digits, '_', '.', '-', got ${JSON.stringify(name)}`);
    }
  }
  const connect: NatsConnectOptions = { servers };
  if (typeof values.user === 'string') {
    if (typeof values['pass-file'] !== 'string') throw new UsageError('--user needs --pass-file (the NATS password of that user)');
    connect.user = values.user;
  } else if (typeof values['pass-file'] === 'string') {
    throw new UsageError('--pass-file needs --user (the NATS user whose password it holds)');
  }
  // A client certificate is the two together: the NATS client would fail with either alone.
  if ((typeof values['tls-cert'] === 'string') !== (typeof values['tls-key'] === 'string')) {
    throw new UsageError(
      typeof values['tls-cert'] === 'string'
        ? '--tls-cert needs --tls-key (its private key)'
        : '--tls-key needs --tls-cert (its certificate)',
    );
  }
  const files: AgentCli['files'] = {};
  for (const flag of [...CREDENTIAL_FLAGS, ...(Object.keys(TLS_FLAGS) as (keyof typeof TLS_FLAGS)[])]) {
    const file = values[flag];
    if (typeof file !== 'string') continue;
    if (file === '') throw new UsageError(`--${flag} needs a file name`);
    files[flag] = file;
  }
  return {
    connect,
    files,
    host,
    cluster,
    secretFile: required('secret-file'),
    cwd: typeof values.cwd === 'string' ? values.cwd : process.cwd(),
  };
}

/** A flag's file that cannot be read, or is empty: one line, exit 1, like an unreadable secret. */
class FileError extends Error {}

/** The contents of `--flag file`, which must not be empty. */
async function readFlagFile(flag: FileFlag, file: string): Promise<string> {
  let text: string;
  try {
    // A token or password, like the secret, may come from standard input (-) and loses its trailing newline.
    text =
      flag === 'token-file' || flag === 'pass-file'
        ? Buffer.from(await readSecret(file, flag === 'token-file' ? 'token' : 'password')).toString('utf8')
        : await readFile(file, 'utf8');
  } catch (error) {
    throw new FileError(`cannot read --${flag} ${file}: ${(error as Error).message}`);
  }
  if (text.length === 0) throw new FileError(`--${flag} ${file} is empty`);
  return text;
}

/** `--cwd` must be a directory: a wrong one would otherwise show only when a worker fails to load from it. */
async function checkCwd(cwd: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(cwd)).isDirectory();
  } catch (error) {
    throw new FileError(`cannot use --cwd ${cwd}: ${(error as Error).message}`);
  }
  if (!isDirectory) throw new FileError(`--cwd ${cwd} is not a directory`);
}

/** `cli.connect` with the credentials and TLS files of `cli.files` read into it. */
async function readConnectFiles(cli: AgentCli): Promise<NatsConnectOptions> {
  const connect: NatsConnectOptions = { ...cli.connect };
  const { files } = cli;
  if (files['token-file'] !== undefined) connect.token = await readFlagFile('token-file', files['token-file']);
  if (files['pass-file'] !== undefined) connect.pass = await readFlagFile('pass-file', files['pass-file']);
  const tls: NatsTlsOptions = {};
  for (const [flag, key] of Object.entries(TLS_FLAGS) as [keyof typeof TLS_FLAGS, 'ca' | 'cert' | 'key'][]) {
    const file = files[flag];
    if (file !== undefined) tls[key] = await readFlagFile(flag, file);
  }
  if (Object.keys(tls).length > 0) connect.tls = tls;
  return connect;
}

export async function main(argv: string[]): Promise<number> {
  let cli: AgentCli | 'help';
  try {
    cli = await parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`convoy agent: ${error.message}\n\n${AGENT_USAGE}`);
    return 2;
  }
  if (cli === 'help') {
    console.log(AGENT_USAGE);
    return 0;
  }
  const log = (line: string): void => console.error(line);
  let secret: Uint8Array;
  try {
    secret = await readSecret(cli.secretFile);
  } catch (error) {
    // Like the other files' flags, named with the flag: a file that cannot be read, or a secret too short
    // (whose message names the file).
    const { message, code } = error as NodeJS.ErrnoException;
    log(`convoy agent: ${code === undefined ? `--secret-file: ${message}` : `cannot read --secret-file ${cli.secretFile}: ${message}`}`);
    return 1;
  }
  let connect: NatsConnectOptions;
  try {
    connect = await readConnectFiles(cli);
    await checkCwd(cli.cwd);
  } catch (error) {
    if (!(error instanceof FileError)) throw error;
    log(`convoy agent: ${error.message}`);
    return 1;
  }
  const connection = await connectNats(connect, `convoy agent ${cli.host}`).catch((error: Error) => {
    log(`convoy agent: ${error.message}`);
    return undefined;
  });
  if (!connection) return 1;
  const agent = new Agent({ connection, connect, cluster: cli.cluster, host: cli.host, secret, cwd: cli.cwd, log });
  agent.start();
  const stop = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  log(`convoy agent "${cli.host}": stopping (${await stop})`);
  await agent.close();
  await closeNats(connection);
  return 0;
}
