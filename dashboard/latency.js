// Call latency per method (all callers), and the slowest caller → callee pairs, over the last few seconds.
import { el, ms, rate } from './format.js';

const SLOWEST_PAIRS = 8;

export function renderLatency(table, latency) {
  const head = el(
    'tr',
    {},
    el('th', {}, 'method'),
    el('th', {}, 'caller → callee'),
    el('th', { class: 'num' }, 'calls/s'),
    el('th', { class: 'num' }, 'p50'),
    el('th', { class: 'num' }, 'p99'),
  );
  const row = (r, pair) =>
    el(
      'tr',
      { dataset: { method: r.method }, class: pair ? 'pair' : undefined },
      // Names are the user's: a long one is cut (style.css), whole in the cell's title.
      el('td', { class: 'name', title: r.method }, r.method),
      el('td', { class: 'name', title: pair ? `${r.caller} → ${r.callee}` : undefined }, pair ? `${r.caller} → ${r.callee}` : 'all'),
      el('td', { class: 'num' }, rate(r.callsPerSec)),
      el('td', { class: 'num' }, ms(r.p50Ms)),
      el('td', { class: 'num' }, ms(r.p99Ms)),
    );
  const slowest = [...latency.byPair]
    .filter((r) => r.p99Ms !== null)
    .sort((a, b) => b.p99Ms - a.p99Ms)
    .slice(0, SLOWEST_PAIRS);
  const body = [...latency.byMethod.map((r) => row(r, false))];
  if (slowest.length > 0)
    body.push(el('tr', { class: 'divider' }, el('td', { colspan: 5 }, 'slowest pairs (p99)')), ...slowest.map((r) => row(r, true)));
  if (body.length === 0) body.push(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'no calls yet')));
  table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
}
