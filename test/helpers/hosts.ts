/**
 * Hosts for the cluster tests over NATS: one nats-server and agents standing for hosts `b`, `c`, … —
 * each a separate `convoy agent` process — started once for a test file and stopped after its last test
 * (`sharedHosts`), or for one test. An agent serves one coordinator at a time, so the tests sharing them
 * run serially, each with its own cluster.
 */
import type { TestFn } from 'ava';
import type { NatsClusterOptions } from '../../src/index.js';
import { type AgentProcess, secretFile, startAgent } from './agents.js';
import { type NatsServer, type NatsServerOptions, type Teardown, startNatsServer } from './nats-server.js';

export interface TestHosts {
  server: NatsServer;
  secretFile: string;
  agents: Map<string, AgentProcess>;
  /** The cluster's `nats` option for these hosts. */
  nats: NatsClusterOptions;
  /** Starts (or starts again, after a kill) the agent of host `name`. */
  startAgent(name: string): AgentProcess;
}

/** Fast enough to see a lost host within a test, slow enough for a loaded machine. */
export const HOST_HEALTH = { heartbeatIntervalMs: 250, heartbeatTimeoutMs: 2000 } as const;

/** A server and agents for `hosts`, stopped by `t`'s teardown. */
export async function startTestHosts(
  t: Teardown,
  hosts: readonly string[],
  { cluster = 'test', server: serverOptions = {} }: { cluster?: string; server?: NatsServerOptions } = {},
): Promise<TestHosts> {
  const server = await startNatsServer(t, serverOptions);
  const secret = secretFile(t);
  const agents = new Map<string, AgentProcess>();
  const nats: NatsClusterOptions = { servers: server.url, secretFile: secret, cluster };
  if (serverOptions.token !== undefined) nats.token = serverOptions.token;
  const extra = serverOptions.token !== undefined ? ['--token-file', secretFile(t, serverOptions.token)] : [];
  const start = (name: string): AgentProcess => {
    const agent = startAgent(t, { nats: server.url, host: name, secretFile: secret, cluster, extra });
    agents.set(name, agent);
    return agent;
  };
  for (const name of hosts) start(name);
  return { server, secretFile: secret, agents, nats, startAgent: start };
}

/** Things to stop after a file's last test, in reverse order of their start. */
class Cleanups implements Teardown {
  readonly #steps: (() => unknown)[] = [];

  teardown(step: () => unknown): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.reverse()) await step();
  }
}

/**
 * Hosts shared by every test of a file: started before the first test, stopped after the last. Call it
 * before `failOnLeaks(test)`, so that they are stopped before the leak check runs.
 */
export function sharedHosts(test: TestFn, hosts: readonly string[], options?: Parameters<typeof startTestHosts>[2]): () => TestHosts {
  const cleanups = new Cleanups();
  let shared: TestHosts | undefined;
  test.before(async () => {
    shared = await startTestHosts(cleanups, hosts, options);
  });
  test.after.always(() => cleanups.run());
  return () => {
    if (!shared) throw new Error('The shared hosts have not started');
    return shared;
  };
}
