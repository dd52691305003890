// Small time-series charts on uPlot (served from its npm package: no CDN, works offline).
import uPlot from '../vendor/uPlot.esm.js';
import { bytes, rate } from './format.js';

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c'];
const HEIGHT = 150;

/**
 * A chart of `series` ({ label, unit: 'rate' | 'bytes' | 'count', points?: true }) over time (epoch ms).
 * `set(times, columns)` redraws it.
 */
export class TimeChart {
  #plot;
  #container;

  constructor(container, title, series) {
    this.#container = container;
    const format = (unit) => (unit === 'bytes' ? (v) => (v === null ? '–' : bytes(v)) : (v) => (v === null ? '–' : rate(v)));
    const opts = {
      title,
      width: Math.max(240, container.clientWidth || 400),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      scales: {
        // One point (the page's first reading) has no span: uPlot gives it 86 400 000 s on a time axis in
        // seconds (86 400 / its `ms`), and the axis read Mar 2027 … Sep 2029. Ten seconds up to it instead.
        x: { time: true, range: (u, min, max) => (u.data[0].length === 1 ? [u.data[0][0] - 10, u.data[0][0]] : [min, max]) },
        y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1, min)] },
      },
      axes: [{}, { size: 64, values: (_u, values) => values.map(format(series[0].unit)) }],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          value: (_u, v) => format(s.unit)(v),
          ...(s.points ? { paths: () => null, points: { show: true, size: 7, fill: COLORS[i % COLORS.length] } } : {}),
        })),
      ],
    };
    this.#plot = new uPlot(opts, [[], ...series.map(() => [])], container);
    new ResizeObserver(() => this.#plot.setSize({ width: Math.max(240, container.clientWidth), height: HEIGHT })).observe(container);
  }

  set(times, columns) {
    this.#plot.setData([times.map((t) => t / 1000), ...columns]);
  }

  destroy() {
    this.#plot.destroy();
    this.#container.replaceChildren();
  }
}
