/**
 * The dashboard's HTTP side without a browser: the token (401 and an empty body without it), the cookie
 * `?token=` sets, read-only and no CORS, `/api/snapshot`, `/events` and `/metrics` on a live cluster with
 * traffic and faults. The server's lifetime is in dashboard-lifecycle.test.ts.
 */
import { connect } from 'node:net';
import test from 'ava';
import type { Cluster, DashboardSnapshot } from '../src/index.js';
import { startCluster } from '../src/index.js';
import { fixture, pollUntil, within } from './helpers/cluster.js';
import { parsePrometheus, readEvents, request } from './helpers/http.js';
import { failOnLeaks } from './helpers/leaks.js';

type Pump = { pump(to: string, method?: string): void; stop(): void; inc(by: number): number };

let starting: Promise<Cluster> | undefined;
let cluster: Cluster;
let base: URL;
let auth: Record<string, string>;

test.before(async () => {
  starting = startCluster({
    workers: [
      { name: 'a', module: fixture('dashboard-pump.ts') },
      { name: 'b', module: fixture('dashboard-pump.ts'), kind: 'process' },
      { name: 'c', module: fixture('dashboard-pump.ts') },
    ],
    dashboard: { port: 0, refreshMs: 250 },
  });
  cluster = await within(starting, 40_000, 'startCluster(a, b, c)');
  base = new URL(cluster.dashboardUrl!);
  auth = { authorization: `Bearer ${base.searchParams.get('token')}` };
  await cluster.worker<Pump>('a').pump('b');
  await cluster.worker<Pump>('b').pump('c', 'fail');
});

test.after.always(async () => {
  await (await starting?.catch(() => undefined))?.close();
});
failOnLeaks(test);

const at = (path: string) => new URL(path, base);

test('the address binds 127.0.0.1 and carries a random token', (t) => {
  t.is(base.protocol, 'http:');
  t.is(base.hostname, '127.0.0.1');
  t.is(base.pathname, '/');
  t.regex(base.searchParams.get('token')!, /^[A-Za-z0-9_-]{32}$/);
});

test('without the token every path answers 401 with nothing in it', async (t) => {
  const wrong = { authorization: 'Bearer not-the-token' };
  for (const path of ['/', '/index.html', '/app/main.js', '/vendor/uPlot.esm.js', '/api/snapshot', '/events', '/metrics', '/nowhere']) {
    for (const [how, headers, query] of [
      ['none', {}, ''],
      ['wrong bearer', wrong, ''],
      ['wrong query', {}, '?token=guess'],
      ['wrong cookie', { cookie: `convoy-dashboard-${base.port}=guess` }, ''],
    ] as const) {
      const answer = await request(at(`${path}${query}`), { headers });
      t.is(answer.status, 401, `${path} (${how})`);
      t.is(answer.body, '', `${path} (${how}): empty body`);
      t.is(answer.headers['set-cookie'], undefined);
      t.is(answer.headers['content-type'], undefined);
    }
  }
  const post = await request(at('/api/snapshot'), { method: 'POST' });
  t.is(post.status, 401, 'a write without the token learns nothing either');
});

test('?token= sets an HttpOnly, SameSite=Strict cookie that lets later requests in', async (t) => {
  const page = await request(base);
  t.is(page.status, 200);
  t.regex(page.headers['content-type']!, /^text\/html/);
  t.regex(page.body, /<script type="module" src="app\/main\.js">/);
  const [cookie] = page.headers['set-cookie'] ?? [];
  t.regex(cookie!, new RegExp(`^convoy-dashboard-${base.port}=${base.searchParams.get('token')};`));
  t.regex(cookie!, /HttpOnly/);
  t.regex(cookie!, /SameSite=Strict/);
  const withCookie = await request(at('/api/snapshot'), { headers: { cookie: cookie!.split(';')[0]! } });
  t.is(withCookie.status, 200);
  t.is(withCookie.headers['set-cookie'], undefined, 'only a token in the address sets the cookie');
});

test('read-only, no CORS, the page and its libraries served from the package', async (t) => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
    const answer = await request(at('/api/snapshot'), { method, headers: auth });
    t.is(answer.status, 405, method);
    t.is(answer.headers.allow, 'GET, HEAD');
  }
  const preflight = await request(at('/api/snapshot'), { method: 'OPTIONS', headers: { origin: 'http://evil.example', ...auth } });
  t.is(preflight.status, 405);
  for (const path of [
    '/',
    '/app/main.js',
    '/app/style.css',
    '/vendor/uPlot.esm.js',
    '/vendor/uPlot.min.css',
    '/api/snapshot',
    '/metrics',
  ]) {
    const answer = await request(at(path), { headers: { origin: 'http://evil.example', ...auth } });
    t.is(answer.status, 200, path);
    t.false(
      Object.keys(answer.headers).some((h) => h.startsWith('access-control-')),
      `${path}: no CORS headers`,
    );
    t.is(answer.headers['x-content-type-options'], 'nosniff');
    t.regex(String(answer.headers['content-security-policy']), /default-src 'self'/);
  }
  t.regex((await request(at('/vendor/uPlot.esm.js'), { headers: auth })).body, /export \{ uPlot as default \}/);
  t.is((await request(at('/app/../../package.json'), { headers: auth })).status, 404, 'no path reaches the file system');
  t.is((await request(at('/nowhere'), { headers: auth })).status, 404);
});

/** Sends `head` as it is (what an HTTP client would refuse to send) and returns the answer's status line. */
function rawStatusLine(head: string): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const socket = connect(Number(base.port), '127.0.0.1', () => socket.write(head));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        const end = text.indexOf('\r\n');
        if (end >= 0) {
          resolve(text.slice(0, end));
          socket.destroy();
        }
      });
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed with no status line: ${JSON.stringify(text)}`)));
    }),
    10_000,
    `raw ${JSON.stringify(head.split('\r\n')[0])}`,
  );
}

// Node's parser takes these targets and `new URL()` threw on them outside any catch, in a handler whose
// promise nobody awaited: one request, without the token, ended the coordinator's process (a review's).
test('a request whose target is no URL gets 400, with or without the token, and the dashboard lives on', async (t) => {
  for (const target of ['//[', 'http://a:99999/']) {
    t.is(await rawStatusLine(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`), 'HTTP/1.1 400 Bad Request', target);
    t.is(
      await rawStatusLine(`GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\n\r\n`),
      'HTTP/1.1 400 Bad Request',
      target,
    );
  }
  t.is((await request(at('/api/snapshot'), { headers: auth })).status, 200);
});

// HEAD went to the stream, whose headers Node sends for a HEAD only at its end, which never came: no
// answer, and a viewer that kept the readings going for a client that could receive nothing.
test("HEAD /events answers with the stream's headers and ends", async (t) => {
  const answer = await request(at('/events'), { method: 'HEAD', headers: auth });
  t.is(answer.status, 200);
  t.regex(answer.headers['content-type']!, /^text\/event-stream/);
  t.is(answer.body, '');
  // The headers a GET would get: gzipped for a client that accepts it.
  const gzipped = await request(at('/events'), { method: 'HEAD', headers: { ...auth, 'accept-encoding': 'gzip' } });
  t.is(gzipped.headers['content-encoding'], 'gzip');
  const page = await request(at('/'), { method: 'HEAD', headers: auth });
  t.is(page.status, 200);
  t.regex(page.headers['content-type']!, /^text\/html/);
});

test('/api/snapshot: workers, the pairs that talk, rates, latency and events', async (t) => {
  let snapshot!: DashboardSnapshot;
  await pollUntil(
    async () => {
      snapshot = JSON.parse((await request(at('/api/snapshot'), { headers: auth })).body) as DashboardSnapshot;
      const ab = snapshot.pairs.find((p) => p.from === 'a' && p.to === 'b');
      return (ab?.callsPerSec ?? 0) > 0 && snapshot.latency.byMethod.some((m) => m.method === 'inc' && m.p50Ms !== null);
    },
    15_000,
    'a → b traffic in /api/snapshot',
    100,
  );
  t.is(snapshot.version, 1);
  t.false(snapshot.closed);
  t.deepEqual(
    snapshot.workers.map((w) => [w.name, w.kind, w.state]),
    [
      ['a', 'thread', 'ready'],
      ['b', 'process', 'ready'],
      ['c', 'thread', 'ready'],
    ],
  );
  for (const w of snapshot.workers) {
    t.true(w.answered, `${w.name} answered`);
    t.true((w.heapUsedBytes ?? 0) > 0, `${w.name} heap`);
  }
  t.is(snapshot.cluster.workers.ready, 3);
  const talk = (from: string, to: string) => snapshot.pairs.find((p) => p.from === from && p.to === to)?.callsPerSec ?? 0;
  t.true(talk('b', 'c') > 0, 'b → c calls (each one faults)');
  t.is(talk('a', 'c'), 0, 'a does not call c');
  t.is(talk('c', 'a'), 0, 'c does not call a');
  t.is(talk('coordinator', 'c'), 0, "the dashboard's own stats calls are not traffic");
  t.true(snapshot.cluster.callsPerSec >= talk('a', 'b'));
  t.true(Array.isArray(snapshot.history));
  // One each, in the order they became ready.
  t.deepEqual(
    snapshot.events
      .filter((e) => e.type === 'ready')
      .map((e) => e.worker)
      .sort(),
    ['a', 'b', 'c'],
  );
  t.true(
    snapshot.latency.byPair.some((r) => r.caller === 'a' && r.callee === 'b' && r.method === 'inc'),
    'latency of a → b inc',
  );
});

test('faults in the handler show as fault events, per caller and callee', async (t) => {
  await pollUntil(
    async () => {
      const snapshot = JSON.parse((await request(at('/api/snapshot'), { headers: auth })).body) as DashboardSnapshot;
      return snapshot.events.some((e) => e.type === 'fault' && e.worker === 'c' && e.from === 'b' && (e.count ?? 0) > 0);
    },
    15_000,
    'a fault event for b → c',
    100,
  );
  t.pass();
});

test('/events streams snapshots at the pace asked for, the first with history and all recent events', async (t) => {
  const [first, second] = (await readEvents(at('/events?intervalMs=250'), 2, auth)) as { event: string; data: DashboardSnapshot }[];
  t.is(first!.event, 'snapshot');
  t.is(first!.data.refreshMs, 250);
  t.true(Array.isArray(first!.data.history));
  t.true(first!.data.events.some((e) => e.type === 'ready'));
  t.is(second!.data.history, undefined, 'history only once');
  t.false(
    second!.data.events.some((e) => e.type === 'ready'),
    'events only once',
  );
  t.true(second!.data.at > first!.data.at);
  const [clamped] = (await readEvents(at('/events?intervalMs=5'), 1, auth)) as { data: DashboardSnapshot }[];
  t.is(clamped!.data.refreshMs, 250, 'a pace below 250 ms is raised to 250');
});

test('a client that accepts gzip gets every answer gzipped, the stream message by message; others get it plain', async (t) => {
  const gzip = { ...auth, 'accept-encoding': 'gzip, deflate, br' };
  const snapshot = await request(at('/api/snapshot'), { headers: gzip });
  t.is(snapshot.headers['content-encoding'], 'gzip');
  t.is(snapshot.headers.vary, 'Accept-Encoding');
  const parsed = JSON.parse(snapshot.body) as DashboardSnapshot;
  t.deepEqual(parsed.workers.map((w) => w.name).sort(), ['a', 'b', 'c']);
  t.true(
    snapshot.wireBytes < Buffer.byteLength(snapshot.body) / 2,
    `${snapshot.wireBytes} bytes on the wire for ${Buffer.byteLength(snapshot.body)}`,
  );
  for (const path of ['/', '/app/main.js', '/vendor/uPlot.esm.js', '/metrics']) {
    t.is((await request(at(path), { headers: gzip })).headers['content-encoding'], 'gzip', path);
  }
  // Each message decodes as soon as it is sent, not once zlib has gathered enough to emit: at a 10 s pace
  // the first one is the only one for 10 s, and it must arrive within 5.
  const [alone] = (await readEvents(at('/events?intervalMs=10000'), 1, gzip, 5000)) as { data: DashboardSnapshot }[];
  t.true(Array.isArray(alone!.data.history));
  const [first, second] = (await readEvents(at('/events?intervalMs=250'), 2, gzip)) as { data: DashboardSnapshot }[];
  t.true(second!.data.at > first!.data.at);
  for (const refused of [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip;q=0, deflate' }] as Record<string, string>[]) {
    const plain = await request(at('/api/snapshot'), { headers: { ...auth, ...refused } });
    t.is(plain.headers['content-encoding'], undefined, JSON.stringify(refused));
    t.is(plain.wireBytes, Buffer.byteLength(plain.body));
  }
});

test('/metrics parses as Prometheus text, per pair and per worker, and its counters grow', async (t) => {
  const scrape = async () => {
    const answer = await request(at('/metrics'), { headers: auth });
    t.is(answer.status, 200);
    t.regex(answer.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
    return parsePrometheus(answer.body);
  };
  const value = (samples: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string>) =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  const first = await scrape();
  const calls = { from: 'a', to: 'b' };
  let later = first;
  await pollUntil(
    async () => {
      later = await scrape();
      // b's faults to c are counted when b's stats are read: the same scrape may not have them yet.
      return (
        (value(later, 'convoy_channel_calls_total', calls) ?? 0) > (value(first, 'convoy_channel_calls_total', calls) ?? 0) &&
        (value(later, 'convoy_channel_faults_total', { from: 'b', to: 'c' }) ?? 0) > 0
      );
    },
    15_000,
    'convoy_channel_calls_total{from="a",to="b"} grows and b → c has faults',
    200,
  );
  t.true((value(later, 'convoy_channel_sent_bytes_total', calls) ?? 0) > 0);
  t.true((value(later, 'convoy_channel_faults_total', { from: 'b', to: 'c' }) ?? 0) > 0);
  t.is(value(later, 'convoy_workers', { state: 'ready' }), 3);
  t.is(value(later, 'convoy_worker_up', { worker: 'b', kind: 'process' }), 1);
  t.true((value(later, 'convoy_heap_used_bytes', { worker: 'coordinator' }) ?? 0) > 0);
  const buckets = later.filter(
    (s) => s.name === 'convoy_call_duration_seconds_bucket' && s.labels.caller === 'a' && s.labels.callee === 'b',
  );
  t.true(buckets.length > 2, 'latency buckets for a → b');
  for (let i = 1; i < buckets.length; i++) t.true(buckets[i]!.value >= buckets[i - 1]!.value, 'cumulative buckets');
  t.is(buckets.at(-1)!.labels.le, '+Inf');
  t.is(buckets.at(-1)!.value, value(later, 'convoy_call_duration_seconds_count', { caller: 'a', callee: 'b', method: 'inc' }) ?? -1);
});
