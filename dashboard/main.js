// The dashboard page: one server-sent event stream of snapshots, drawn by the panels. The header says
// how fresh the view is: live, paused, stale (no reading for a while: the coordinator is busy or gone),
// disconnected, or closed (the cluster has ended; this is its last state).
import { ClusterSeries } from './series.js';
import { EventLogView } from './events.js';
import { clock } from './format.js';
import { renderLatency } from './latency.js';
import { PairMatrix } from './matrix.js';
import { PairDetail } from './pair-detail.js';
import { renderStatus } from './status.js';
import { WorkersTable } from './workers.js';

// The token came in the address and the server set a cookie with it: keep it out of history and screenshots.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);

const $ = (id) => document.getElementById(id);
const view = {
  workers: new WorkersTable($('workers')),
  matrix: undefined,
  series: new ClusterSeries($('series')),
  events: new EventLogView($('event-log')),
  detail: new PairDetail($('pair-detail')),
};
view.matrix = new PairMatrix($('matrix'), $('matrix-mode'), (from, to, grouped) => view.detail.open(from, to, grouped, state.snapshot));

const state = {
  /** The pace asked for; until the user picks one, the server's own (each message says which). */
  paceMs: undefined,
  paused: false,
  closed: false,
  disconnected: false,
  /** performance.now() of the last message, and the reading's own time. */
  receivedAt: 0,
  snapshot: undefined,
  stream: undefined,
};

function connect() {
  state.stream?.close();
  state.disconnected = false;
  const stream = new EventSource(state.paceMs ? `events?intervalMs=${state.paceMs}` : 'events');
  stream.addEventListener('snapshot', (message) => draw(JSON.parse(message.data)));
  stream.addEventListener('error', () => {
    state.disconnected = stream.readyState !== EventSource.OPEN;
    updateFreshness();
  });
  state.stream = stream;
}

function draw(snapshot) {
  state.receivedAt = performance.now();
  state.snapshot = snapshot;
  state.closed = snapshot.closed;
  state.disconnected = false;
  showPace(snapshot.refreshMs);
  renderStatus($('status'), snapshot);
  view.workers.render(snapshot.workers);
  view.matrix.render(snapshot);
  renderLatency($('latency'), snapshot.latency);
  view.events.add(snapshot.events);
  view.detail.record(snapshot);
  if (snapshot.history) view.series.reset(snapshot.history);
  else {
    const { callsPerSec, notifiesPerSec, bytesPerSec, faultsPerSec } = snapshot.cluster;
    const deaths = snapshot.events.filter((e) => e.type === 'exit').length;
    view.series.add({ at: snapshot.at, callsPerSec, notifiesPerSec, bytesPerSec, faultsPerSec, deaths });
  }
  if (snapshot.closed) state.stream?.close();
  updateFreshness();
}

function showPace(ms) {
  const select = $('pace');
  if (![...select.options].some((o) => Number(o.value) === ms)) select.add(new Option(`${ms} ms`, String(ms)));
  select.value = String(ms);
}

/** Stale once no reading came for a few paces: the coordinator is stalled, or the server gone. */
function updateFreshness() {
  const ageMs = state.receivedAt ? performance.now() - state.receivedAt : 0;
  let freshness = 'live';
  if (state.closed) freshness = 'closed';
  else if (state.paused) freshness = 'paused';
  else if (!state.snapshot) freshness = state.disconnected ? 'disconnected' : 'connecting';
  else if (ageMs > Math.max(2.5 * (state.snapshot.refreshMs ?? 1000), 1500)) freshness = state.disconnected ? 'disconnected' : 'stale';
  document.body.dataset.freshness = freshness;
  const stamp = state.snapshot ? `updated ${clock(state.snapshot.at)}` : '';
  const age = `${Math.round(ageMs / 1000)} s`;
  const text = {
    live: stamp,
    connecting: 'connecting…',
    paused: `paused · ${stamp}`,
    closed: `cluster closed · last state ${stamp}`,
    stale: `stale: no update for ${age} · ${stamp}`,
    disconnected: `disconnected, retrying · ${stamp || 'no data yet'}`,
  }[freshness];
  $('freshness').textContent = text;
}

$('pace').addEventListener('change', () => {
  state.paceMs = Number($('pace').value);
  if (!state.paused && !state.closed) connect();
});
$('pause').addEventListener('click', () => {
  state.paused = !state.paused;
  $('pause').textContent = state.paused ? 'resume' : 'pause';
  if (state.paused) state.stream?.close();
  else if (!state.closed) connect();
  updateFreshness();
});
setInterval(updateFreshness, 250);
connect();
