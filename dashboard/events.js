// The event log, newest first: each entry carries data-event (ready, exit, restart, hung, fault) and data-worker.
import { clock, el } from './format.js';

const KEEP = 500;

/** An event's words: strings, and the worker's own text (an uncaught error) isolated in a <bdi>. */
function describe(e) {
  switch (e.type) {
    case 'ready':
      return `ready (${e.kind === 'thread' ? `thread ${e.threadId}` : `pid ${e.pid}`}, incarnation ${e.incarnation})`;
    case 'exit': {
      const code = e.signal ? `signal ${e.signal}` : e.exitCode !== undefined ? `exit code ${e.exitCode}` : '';
      const ending = e.restarting ? ', restarting' : ', not restarting';
      if (!e.error) return `exited: ${e.reason}${code ? ` (${code})` : ''}${ending}`;
      // A right-to-left override in the error's text would otherwise turn the rest of the line around.
      return [`exited: ${e.reason} (${code ? `${code}, ` : ''}uncaught `, el('bdi', {}, e.error), `)${ending}`];
    }
    case 'restart':
      return `restarted (incarnation ${e.incarnation}, ${e.kind === 'thread' ? `thread ${e.threadId}` : `pid ${e.pid}`}, ${e.restarts} restarts)`;
    case 'hung':
      return `hung: missed its heartbeats, killed`;
    case 'fault':
      return `${e.count} call${e.count === 1 ? '' : 's'} from ${e.from} failed in the handler`;
    default:
      return e.type;
  }
}

export class EventLogView {
  #list;
  #lastSeq = 0;

  constructor(list) {
    this.#list = list;
  }

  /** Adds the events not shown yet (a reconnected stream sends recent ones again). */
  add(events) {
    for (const e of events) {
      if (e.seq <= this.#lastSeq) continue;
      this.#lastSeq = e.seq;
      this.#list.prepend(
        el(
          'li',
          { dataset: { event: e.type, worker: e.worker, seq: String(e.seq) } },
          el('time', { datetime: new Date(e.at).toISOString() }, clock(e.at)),
          el('b', {}, e.worker),
          ' ',
          ...[describe(e)].flat(),
        ),
      );
    }
    while (this.#list.childElementCount > KEEP) this.#list.lastElementChild.remove();
  }
}
