/**
 * `convoy agent` on the command line: usage errors name the flag (exit 2), a secret too short or
 * unreadable, or a credential or TLS file missing or empty, stops it before it touches NATS (exit 1),
 * the secret can come from standard input, and SIGTERM ends it cleanly after a coordinator's goodbye has
 * ended its workers.
 */
import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { agentFixture, connectHosts, secretFile, startAgent, startRemoteWorker } from './helpers/agents.js';
import { pidAlive, pollUntil } from './helpers/cluster.js';
import { withDeadline } from './helpers/deadline.js';
import { failOnLeaks } from './helpers/leaks.js';
import { startNatsServer } from './helpers/nats-server.js';
import { repoRoot } from './helpers/repo.js';
import { ended } from './helpers/child-exit.js';

failOnLeaks(test);

const root = fileURLToPath(repoRoot);
const health = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 3000 };

/** Runs `convoy agent …args` to its end, feeding `stdin`. */
function run(args: string[], stdin = ''): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['bin/convoy.js', 'agent', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stdin.end(stdin);
  const done = ended(child).then(([code]) => ({ code, stderr, stdout }));
  return withDeadline(done, 30_000, `convoy agent ${args.join(' ')}`);
}

test('usage errors name the missing flag and exit 2; --help exits 0', async (t) => {
  const missing = await run(['--nats', 'nats://127.0.0.1:1', '--secret-file', '/dev/null']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--host is required/);
  const badName = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'a b', '--secret-file', '/dev/null']);
  t.is(badName.code, 2);
  t.regex(badName.stderr, /--host must be/);
  const help = await run(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /--secret-file FILE/);
  t.regex(help.stdout, /Exit codes: 0 stopped, 1 could not start \([^)]+\), 2 bad usage\./);
});

test('a secret too short, or a --secret-file that cannot be read, is refused before anything else in one line (exit 1)', async (t) => {
  const short = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secretFile(t, 'short')]);
  t.is(short.code, 1);
  t.regex(short.stderr, /^convoy agent: --secret-file: The secret in \S+ is 5 bytes; at least 16 are needed\b[^\n]*\n$/);
  // Before, this line said "cannot read the secret", naming the file but not its flag as the other files' do.
  const missing = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', '/nonexistent/convoy-agent-cli-test']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /^convoy agent: cannot read --secret-file \/nonexistent\S*: ENOENT: no such file or directory[^\n]*\n$/);
});

test('a NATS server it cannot reach as it starts: one line naming the server, exit 1 (a service manager restarts it)', async (t) => {
  // A port nothing listens on: taken, then freed.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const url = `nats://127.0.0.1:${port}`;
  const { code, stderr } = await run(['--nats', url, '--host', 'b', '--secret-file', secretFile(t)]);
  t.is(code, 1, stderr);
  t.regex(stderr, new RegExp(`^convoy agent: Cannot reach the NATS server at ${url}: [^\n]*\n$`));
});

test('--pass-file without --user (and the reverse), --tls-cert without --tls-key (and the reverse), are usage errors naming both flags (exit 2)', async (t) => {
  const secret = secretFile(t);
  const passOnly = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secret, '--pass-file', secretFile(t, 'pw')]);
  t.is(passOnly.code, 2);
  t.regex(passOnly.stderr, /^convoy agent: --pass-file needs --user\b/);
  const userOnly = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secret, '--user', 'u']);
  t.is(userOnly.code, 2);
  t.regex(userOnly.stderr, /^convoy agent: --user needs --pass-file\b/);
  const certOnly = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secret, '--tls-cert', secretFile(t, 'c')]);
  t.is(certOnly.code, 2);
  t.regex(certOnly.stderr, /^convoy agent: --tls-cert needs --tls-key\b/);
  const keyOnly = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secret, '--tls-key', secretFile(t, 'k')]);
  t.is(keyOnly.code, 2);
  t.regex(keyOnly.stderr, /^convoy agent: --tls-key needs --tls-cert\b/);
});

// Each was read while parsing the command line, and a failure there was rethrown: a raw Node stack trace.
test('a credential or TLS file that is missing or empty, or a --cwd that is no directory: one line naming the flag and file, exit 1, like the secret', async (t) => {
  const secret = secretFile(t);
  const empty = secretFile(t, '');
  const missing = '/nonexistent/convoy-agent-cli-test';
  const cases: [string, string[], RegExp][] = [
    [
      '--token-file missing',
      ['--token-file', missing],
      /^convoy agent: cannot read --token-file \/nonexistent\S*: ENOENT: no such file or directory/,
    ],
    ['--token-file empty', ['--token-file', empty], /^convoy agent: --token-file \S+ is empty$/],
    ['--pass-file missing', ['--user', 'u', '--pass-file', missing], /^convoy agent: cannot read --pass-file \/nonexistent\S*: ENOENT/],
    ['--pass-file empty', ['--user', 'u', '--pass-file', empty], /^convoy agent: --pass-file \S+ is empty$/],
    ['--tls-ca missing', ['--tls-ca', missing], /^convoy agent: cannot read --tls-ca \/nonexistent\S*: ENOENT/],
    ['--tls-cert missing', ['--tls-cert', missing, '--tls-key', empty], /^convoy agent: cannot read --tls-cert \/nonexistent\S*: ENOENT/],
    ['--tls-key missing', ['--tls-cert', secret, '--tls-key', missing], /^convoy agent: cannot read --tls-key \/nonexistent\S*: ENOENT/],
    // Before, a wrong --cwd showed only when a worker failed to load from it.
    ['--cwd missing', ['--cwd', missing], /^convoy agent: cannot use --cwd \/nonexistent\S*: ENOENT/],
    ['--cwd a file', ['--cwd', secret], /^convoy agent: --cwd \S+ is not a directory$/],
  ];
  for (const [title, extra, expected] of cases) {
    const { code, stderr } = await run(['--nats', 'nats://127.0.0.1:1', '--host', 'b', '--secret-file', secret, ...extra]);
    t.is(code, 1, `${title}: ${stderr}`);
    const lines = stderr.trimEnd().split('\n');
    t.is(lines.length, 1, `${title}: one line, no stack: ${stderr}`);
    t.regex(lines[0]!, expected, title);
  }
});

test('the secret from standard input; SIGTERM after a goodbye that ended its workers', async (t) => {
  const server = await startNatsServer(t);
  const secret = randomBytes(32).toString('hex');
  const hosts = await connectHosts(t, { servers: server.url, secretFile: secretFile(t, secret), cluster: 'stdin' }, health);
  const agent = startAgent(t, { nats: server.url, host: 'b', secretFile: '-', cluster: 'stdin', stdin: secret });
  await hosts.waitFor(['b'], 20_000);
  const worker = await startRemoteWorker(t, hosts, 'b', 'w', agentFixture('counter.ts'), { kind: 'process' });
  t.is(await worker.control.call('inc', [1]), 1);
  const ended = agent.line(/session \w+ ended: the coordinator said goodbye/, 10_000, 'goodbye ends the session');
  await hosts.close();
  await ended;
  t.false(pidAlive(worker.child.pid), 'its workers ended before the session did');
  t.true(pidAlive(agent.pid), 'the agent outlives its coordinator');
  agent.child.kill('SIGTERM');
  t.is(await withDeadline(agent.exited, 10_000, 'agent exit'), 0);
  await pollUntil(() => !pidAlive(agent.pid), 5000, 'agent gone');
});
