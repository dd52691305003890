/**
 * `convoy agent`: run an agent on this host until SIGINT or SIGTERM. Exit codes: 0 stopped, 1 could not
 * start (NATS unreachable, unreadable secret), 2 bad usage.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { NatsConnectOptions, NatsTlsOptions } from '../cluster/nats-options.js';
import { closeNats, connectNats } from '../transport/nats-connect.js';
import { subjectToken } from '../transport/nats-wire.js';
import { Agent } from './agent.js';
import { readCredential, readSecret } from './secret.js';

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
`;

class UsageError extends Error {}

interface AgentCli {
  connect: NatsConnectOptions;
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
  if (typeof values['token-file'] === 'string') connect.token = await readCredential(values['token-file'], 'token');
  if (typeof values.user === 'string') {
    connect.user = values.user;
    connect.pass = await readCredential(required('pass-file'), 'password');
  }
  const tls: NatsTlsOptions = {};
  if (typeof values['tls-ca'] === 'string') tls.ca = await readFile(values['tls-ca'], 'utf8');
  if (typeof values['tls-cert'] === 'string') tls.cert = await readFile(values['tls-cert'], 'utf8');
  if (typeof values['tls-key'] === 'string') tls.key = await readFile(values['tls-key'], 'utf8');
  if (Object.keys(tls).length > 0) connect.tls = tls;
  return { connect, host, cluster, secretFile: required('secret-file'), cwd: typeof values.cwd === 'string' ? values.cwd : process.cwd() };
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
    log(`convoy agent: cannot read the secret: ${(error as Error).message}`);
    return 1;
  }
  const connection = await connectNats(cli.connect, `convoy agent ${cli.host}`).catch((error: Error) => {
    log(`convoy agent: ${error.message}`);
    return undefined;
  });
  if (!connection) return 1;
  const agent = new Agent({ connection, connect: cli.connect, cluster: cli.cluster, host: cli.host, secret, cwd: cli.cwd, log });
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
