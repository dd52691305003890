// Number formats and a small element builder shared by the panels (text only: names come from users).

const SI = ['', 'k', 'M', 'G', 'T'];

/** 1234 → "1.2k"; 0 → "0". */
export function count(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (n === 0) return '0';
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)}${SI[i]}`;
}

/** A rate: fractions below 10 keep one decimal ("0.5"). */
export function rate(n) {
  if (n === null || n === undefined) return '–';
  return n > 0 && n < 10 ? n.toFixed(1) : count(n);
}

/**
 * Bytes, or bytes a second: a rate's fractions below 10 keep one decimal ("0.5 B"), as rate() does, so
 * that an idle chart's axis (0, 0.5, 1) does not read "0 B, 1 B, 1 B".
 */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1000) return `${n > 0 && n < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n)} B`;
  return `${count(n)}B`;
}

export function ms(n) {
  if (n === null || n === undefined) return '–';
  if (n < 1) return `${Math.round(n * 1000)} µs`;
  if (n < 100) return `${n.toFixed(n < 10 ? 2 : 1)} ms`;
  if (n < 10_000) return `${Math.round(n)} ms`;
  return `${(n / 1000).toFixed(1)} s`;
}

export function clock(epochMs) {
  const d = new Date(epochMs);
  const pad = (v, w = 2) => String(v).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** `el('td', { class: 'num', dataset: { worker: 'a' } }, 'text', child)`. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'class') node.className = value;
    else node.setAttribute(name, String(value));
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}
