// The workers table: one row per worker (data-worker, data-state), sortable by any column.
import { bytes, count, el, ms, rate } from './format.js';

const COLUMNS = [
  { key: 'name', label: 'name', value: (w) => w.name, text: (w) => w.name },
  { key: 'kind', label: 'kind', value: (w) => w.kind, text: (w) => w.kind },
  { key: 'host', label: 'host', value: (w) => w.host, text: (w) => w.host },
  {
    key: 'id',
    label: 'pid / thread',
    value: (w) => w.pid * 1000 + w.threadId,
    text: (w) => (w.kind === 'thread' ? `${w.pid} / ${w.threadId}` : `${w.pid}`),
  },
  {
    key: 'state',
    label: 'state',
    value: (w) => w.state,
    text: (w) => (w.state === 'ready' && !w.answered ? 'ready (no answer)' : w.state),
  },
  { key: 'incarnation', label: 'inc.', value: (w) => w.incarnation, text: (w) => count(w.incarnation), num: true },
  { key: 'restarts', label: 'restarts', value: (w) => w.restarts, text: (w) => count(w.restarts), num: true },
  {
    key: 'in',
    label: 'calls in/s',
    value: (w) => w.callsInPerSec + w.notifiesInPerSec,
    text: (w) => rate(w.callsInPerSec + w.notifiesInPerSec),
    num: true,
  },
  {
    key: 'out',
    label: 'calls out/s',
    value: (w) => w.callsOutPerSec + w.notifiesOutPerSec,
    text: (w) => rate(w.callsOutPerSec + w.notifiesOutPerSec),
    num: true,
  },
  { key: 'bytes', label: 'bytes/s', value: (w) => w.bytesPerSec, text: (w) => bytes(w.bytesPerSec), num: true },
  { key: 'inFlight', label: 'in flight', value: (w) => w.inFlight, text: (w) => count(w.inFlight), num: true },
  { key: 'queued', label: 'queued', value: (w) => w.queuedBytes, text: (w) => bytes(w.queuedBytes), num: true },
  { key: 'loop50', label: 'loop p50', value: (w) => w.eventLoopDelayMs?.p50 ?? -1, text: (w) => ms(w.eventLoopDelayMs?.p50), num: true },
  { key: 'loop99', label: 'loop p99', value: (w) => w.eventLoopDelayMs?.p99 ?? -1, text: (w) => ms(w.eventLoopDelayMs?.p99), num: true },
  { key: 'heap', label: 'heap', value: (w) => w.heapUsedBytes ?? -1, text: (w) => bytes(w.heapUsedBytes), num: true },
];

export class WorkersTable {
  #table;
  #body;
  #sort = { key: 'name', descending: false };
  #last = [];

  constructor(table) {
    this.#table = table;
    const head = el('tr');
    for (const column of COLUMNS) {
      const th = el('th', { class: column.num ? 'num' : undefined, dataset: { sort: column.key }, title: 'sort' }, column.label);
      th.addEventListener('click', () => {
        this.#sort = { key: column.key, descending: this.#sort.key === column.key ? !this.#sort.descending : !!column.num };
        this.render(this.#last);
      });
      head.append(th);
    }
    this.#body = el('tbody');
    table.append(el('thead', {}, head), this.#body);
  }

  render(workers) {
    this.#last = workers;
    const column = COLUMNS.find((c) => c.key === this.#sort.key);
    const sign = this.#sort.descending ? -1 : 1;
    const sorted = [...workers].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      return sign * (x < y ? -1 : x > y ? 1 : 0) || a.name.localeCompare(b.name);
    });
    for (const th of this.#table.querySelectorAll('th')) {
      th.dataset.sorted = th.dataset.sort === this.#sort.key ? (this.#sort.descending ? 'desc' : 'asc') : '';
    }
    this.#body.replaceChildren(
      ...sorted.map((w) =>
        el(
          'tr',
          { dataset: { worker: w.name, state: w.state, answered: String(w.answered) } },
          ...COLUMNS.map((c) => el('td', { class: c.num ? 'num' : c.key === 'state' ? `state ${w.state}` : undefined }, c.text(w))),
        ),
      ),
    );
  }
}
