// The pair matrix: a heatmap of what each row sends each column per second (calls and notifies, or bytes),
// the coordinator included. Hover shows both directions; a click opens that channel's history. Past
// GROUP_PAST workers, rows and columns are worker specs instead of workers.
import { bytes, el, rate } from './format.js';

const COORDINATOR = 'coordinator';
export const GROUP_PAST = 50;
/** Below this many rows and columns, cells show their value too. */
const LABEL_CELLS_UP_TO = 16;

function sumPairs(rows) {
  const total = { callsPerSec: 0, notifiesPerSec: 0, bytesPerSec: 0, faultsPerSec: 0, inFlight: null, queuedBytes: null };
  for (const p of rows) {
    total.callsPerSec += p.callsPerSec;
    total.notifiesPerSec += p.notifiesPerSec;
    total.bytesPerSec += p.bytesPerSec;
    total.faultsPerSec += p.faultsPerSec;
    if (p.inFlight !== null) total.inFlight = (total.inFlight ?? 0) + p.inFlight;
    if (p.queuedBytes !== null) total.queuedBytes = (total.queuedBytes ?? 0) + p.queuedBytes;
  }
  return total;
}

function describe(from, to, pair) {
  if (!pair) return `${from} → ${to}: no channel`;
  const gauges = pair.inFlight === null ? '' : ` · in flight ${pair.inFlight} · queued ${bytes(pair.queuedBytes)}`;
  return `${from} → ${to}: ${rate(pair.callsPerSec)} calls/s, ${rate(pair.notifiesPerSec)} notifies/s, ${bytes(pair.bytesPerSec)}/s${gauges}`;
}

export class PairMatrix {
  #table;
  #mode;
  #onPick;
  #last;
  /** The rows and columns drawn, and their cells by "from NUL to". */
  #layout = '';
  #cells = new Map();

  constructor(table, modeSelect, onPick) {
    this.#table = table;
    this.#mode = modeSelect;
    this.#onPick = onPick;
    modeSelect.addEventListener('change', () => this.#last && this.render(this.#last));
    table.addEventListener('click', (event) => {
      const cell = event.target.closest('td[data-from]');
      if (cell && cell.dataset.from !== cell.dataset.to) this.#onPick(cell.dataset.from, cell.dataset.to, cell.dataset.grouped === 'true');
    });
  }

  render(snapshot) {
    this.#last = snapshot;
    const grouped = snapshot.workers.length > GROUP_PAST;
    const groupOf = new Map(snapshot.workers.map((w) => [w.name, grouped ? w.spec : w.name]));
    groupOf.set(COORDINATOR, COORDINATOR);
    const nodes = [COORDINATOR, ...new Set(snapshot.workers.map((w) => groupOf.get(w.name)))];
    const cells = new Map();
    for (const pair of snapshot.pairs) {
      const key = `${groupOf.get(pair.from)}\u0000${groupOf.get(pair.to)}`;
      const list = cells.get(key) ?? [];
      list.push(pair);
      cells.set(key, list);
    }
    const at = (from, to) => {
      const list = cells.get(`${from}\u0000${to}`);
      return list ? sumPairs(list) : undefined;
    };
    const byBytes = this.#mode.value === 'bytes';
    const value = (pair) => (pair ? (byBytes ? pair.bytesPerSec : pair.callsPerSec + pair.notifiesPerSec) : 0);
    let max = 0;
    for (const from of nodes) for (const to of nodes) if (from !== to) max = Math.max(max, value(at(from, to)));
    const labelled = nodes.length <= LABEL_CELLS_UP_TO;
    // Cells are updated in place while the rows stay the same, so a hover or a click is never lost to a redraw.
    const layout = `${grouped}|${nodes.join('\u0000')}`;
    if (layout !== this.#layout) this.#build(nodes, grouped, layout);
    for (const [key, cell] of this.#cells) {
      const [from, to] = key.split('\u0000');
      const pair = at(from, to);
      const v = value(pair);
      const heat = v > 0 && max > 0 ? Math.log10(1 + v) / Math.log10(1 + max) : 0;
      cell.className = v > 0 ? 'busy' : pair ? 'idle' : 'none';
      cell.dataset.value = String(v);
      cell.dataset.open = String(pair !== undefined);
      cell.title = `${describe(from, to, pair)}\n${describe(to, from, at(to, from))}`;
      cell.textContent = labelled && v > 0 ? (byBytes ? bytes(v) : rate(v)) : '';
      cell.style.background = v > 0 ? `hsl(217 85% ${Math.round(90 - heat * 52)}%)` : '';
      cell.style.color = heat > 0.55 ? '#fff' : '';
    }
  }

  #build(nodes, grouped, layout) {
    this.#layout = layout;
    this.#cells = new Map();
    const head = el(
      'tr',
      {},
      el('th', { class: 'corner' }, 'from ╲ to'),
      ...nodes.map((n) => el('th', { class: 'col', title: n }, el('span', {}, n))),
    );
    const rows = nodes.map((from) =>
      el(
        'tr',
        {},
        el('th', { class: 'row', title: from }, from),
        ...nodes.map((to) => {
          if (from === to) return el('td', { class: 'self', dataset: { from, to, value: '0' } });
          const cell = el('td', { dataset: { from, to, grouped: String(grouped) } });
          this.#cells.set(`${from}\u0000${to}`, cell);
          return cell;
        }),
      ),
    );
    this.#table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...rows));
  }
}
