// The cluster over the last minutes: calls and notifies, bytes, faults and deaths per reading.
import { TimeChart } from './charts.js';
import { el } from './format.js';

const WINDOW_MS = 5 * 60 * 1000;

export class ClusterSeries {
  #points = [];
  #charts;

  constructor(root) {
    const box = () => root.appendChild(el('div', { class: 'chart' }));
    this.#charts = [
      [
        new TimeChart(box(), 'calls and notifies /s', [
          { label: 'calls/s', unit: 'rate' },
          { label: 'notifies/s', unit: 'rate' },
        ]),
        ['callsPerSec', 'notifiesPerSec'],
      ],
      [new TimeChart(box(), 'bytes /s', [{ label: 'bytes/s', unit: 'bytes' }]), ['bytesPerSec']],
      [
        new TimeChart(box(), 'faults /s and deaths', [
          { label: 'faults/s', unit: 'rate' },
          { label: 'deaths', unit: 'count', points: true },
        ]),
        ['faultsPerSec', 'deaths'],
      ],
    ];
  }

  /** Replaces everything with the server's history (a new or reconnected stream). */
  reset(history) {
    this.#points = [...history];
    this.#draw();
  }

  add(point) {
    const last = this.#points.at(-1);
    if (last && point.at <= last.at) return;
    this.#points.push(point);
    const oldest = point.at - WINDOW_MS;
    while (this.#points.length > 0 && this.#points[0].at < oldest) this.#points.shift();
    this.#draw();
  }

  #draw() {
    const times = this.#points.map((p) => p.at);
    for (const [chart, fields] of this.#charts) {
      // Deaths show as dots where there were any; zero is no dot.
      chart.set(
        times,
        fields.map((f) => this.#points.map((p) => (f === 'deaths' && p[f] === 0 ? null : p[f]))),
      );
    }
  }
}
