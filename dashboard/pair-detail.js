// One channel's counters over time, in a dialog opened from the pair matrix. The page keeps each
// direction's readings since it opened (the last 5 minutes of them, see pair-history.js).
import { TimeChart } from './charts.js';
import { bytes, count, el, rate } from './format.js';
import { GROUP_PAST } from './matrix.js';
import { FIELDS, PairHistory } from './pair-history.js';

const WINDOW_MS = 5 * 60 * 1000;

export class PairDetail {
  #dialog;
  #history = new PairHistory(WINDOW_MS);
  #open;
  #charts = [];

  constructor(dialog) {
    this.#dialog = dialog;
    dialog.addEventListener('close', () => {
      this.#open = undefined;
      for (const chart of this.#charts) chart.destroy();
      this.#charts = [];
    });
  }

  /** Records one reading of every channel (and of every spec pair, when the matrix groups by spec). */
  record(snapshot) {
    const readings = new Map();
    const specOf = new Map(snapshot.workers.map((w) => [w.name, w.spec]));
    specOf.set('coordinator', 'coordinator');
    const grouped = snapshot.workers.length > GROUP_PAST;
    for (const pair of snapshot.pairs) {
      readings.set(`${pair.from}\u0000${pair.to}`, pair);
      if (!grouped) continue;
      const key = `spec:${specOf.get(pair.from)}\u0000${specOf.get(pair.to)}`;
      let sum = readings.get(key);
      if (!sum) readings.set(key, (sum = Object.fromEntries(FIELDS.map((f) => [f, null]))));
      for (const f of FIELDS) if (pair[f] !== null) sum[f] = (sum[f] ?? 0) + pair[f];
    }
    this.#history.record(snapshot.at, readings);
    if (this.#open) this.#draw(snapshot);
  }

  open(from, to, grouped, snapshot) {
    this.#open = { from, to, grouped };
    this.#dialog.querySelector('#pair-title').textContent = `${from} → ${to}${grouped ? ' (all workers of these specs)' : ''}`;
    const charts = this.#dialog.querySelector('#pair-charts');
    charts.replaceChildren();
    const box = () => charts.appendChild(el('div', { class: 'chart' }));
    this.#dialog.showModal();
    this.#charts = [
      new TimeChart(box(), 'calls, notifies and faults /s', [
        { label: 'calls/s', unit: 'rate' },
        { label: 'notifies/s', unit: 'rate' },
        { label: 'faults/s', unit: 'rate' },
      ]),
      new TimeChart(box(), 'bytes /s', [{ label: 'bytes/s', unit: 'bytes' }]),
      new TimeChart(box(), 'in flight and queued', [
        { label: 'calls in flight', unit: 'rate' },
        { label: 'queued bytes', unit: 'bytes' },
      ]),
    ];
    this.#draw(snapshot);
  }

  #points() {
    const { from, to, grouped } = this.#open;
    return this.#history.points(`${grouped ? 'spec:' : ''}${from}\u0000${to}`);
  }

  #draw(snapshot) {
    const points = this.#points();
    const times = points.map((p) => p.at);
    const column = (f) => points.map((p) => p[f]);
    const [rates, traffic, gauges] = this.#charts;
    rates?.set(times, [column('callsPerSec'), column('notifiesPerSec'), column('faultsPerSec')]);
    traffic?.set(times, [column('bytesPerSec')]);
    gauges?.set(times, [column('inFlight'), column('queuedBytes')]);
    const { from, to } = this.#open;
    const pair = this.#open.grouped ? undefined : snapshot?.pairs.find((p) => p.from === from && p.to === to);
    const numbers = this.#dialog.querySelector('#pair-numbers');
    numbers.replaceChildren(
      pair
        ? el(
            'p',
            {},
            `now: ${rate(pair.callsPerSec)} calls/s, ${rate(pair.notifiesPerSec)} notifies/s, ${bytes(pair.bytesPerSec)}/s; ` +
              `since the channel opened: ${count(pair.calls)} calls, ${count(pair.notifies)} notifies, ${count(pair.faults)} faults, ${bytes(pair.bytes)}` +
              (pair.inFlight === null
                ? ''
                : `; in flight ${count(pair.inFlight)}, queued ${bytes(pair.queuedBytes)}, waiting ${count(pair.waiting)}`),
          )
        : el(
            'p',
            {},
            this.#open.grouped ? 'Every channel from workers of the first spec to workers of the second, summed.' : 'No open channel now.',
          ),
    );
  }
}
