// The status strip: workers by state, the cluster's rates, and what went wrong.
import { bytes, count, el, rate } from './format.js';

export function renderStatus(root, snapshot) {
  const { cluster } = snapshot;
  const w = cluster.workers;
  const tiles = [
    ['ready', count(w.ready ?? 0), 'ready', 'good'],
    ['starting', count(w.starting ?? 0), 'starting', (w.starting ?? 0) > 0 ? 'warn' : ''],
    ['restarting', count(w.restarting ?? 0), 'restarting', (w.restarting ?? 0) > 0 ? 'warn' : ''],
    ['dead', count(w.dead ?? 0), 'dead', (w.dead ?? 0) > 0 ? 'bad' : ''],
    ['calls', rate(cluster.callsPerSec), 'calls/s', ''],
    ['notifies', rate(cluster.notifiesPerSec), 'notifies/s', ''],
    ['bytes', `${bytes(cluster.bytesPerSec)}`, 'per second', ''],
    ['faults', count(cluster.faults), `faults (${rate(cluster.faultsPerSec)}/s)`, cluster.faultsPerSec > 0 ? 'bad' : ''],
    ['deaths', count(cluster.deaths), `deaths · ${count(cluster.restarts)} restarts`, cluster.deaths > 0 ? 'warn' : ''],
  ];
  // The pool's, when the cluster has one.
  const { pool } = cluster;
  if (pool) {
    tiles.push(
      ['pool', count(pool.threads), `pool threads · ${count(pool.queued)} queued`, ''],
      ['tasks', rate(pool.tasksPerSec), `pool tasks/s · ${count(pool.completed)} done`, ''],
    );
  }
  root.replaceChildren(
    ...tiles.map(([key, value, label, tone]) =>
      el(
        'div',
        { class: `tile ${tone}`, dataset: { tile: key } },
        el('span', { class: 'value' }, value),
        el('span', { class: 'label' }, label),
      ),
    ),
  );
}
