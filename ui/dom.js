// Small DOM and formatting helpers for the page. No innerHTML anywhere: text
// goes in as text nodes, styles through the CSSOM (the page's CSP forbids
// inline style attributes).

const SVG = 'http://www.w3.org/2000/svg';

// el('tr', {class: 'x', style: {'--w': '40%'}}, child, 'text', [more])
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === 'style') for (const [p, val] of Object.entries(v)) node.style.setProperty(p, val);
    else node.setAttribute(k, v);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : String(c));
  }
}

// Makes `target`'s children match `source`'s (fresh, detached nodes) while
// keeping the nodes that did not change: a patch that moves one number edits
// one text node instead of rebuilding a card, so the page does no layout
// churn per patch and focus stays where it was.
export function morphChildren(target, source) {
  const next = [...source.childNodes];
  let i = 0;
  for (; i < next.length; i++) {
    const current = target.childNodes[i];
    if (!current) target.append(next[i]);
    else if (!morph(current, next[i])) current.replaceWith(next[i]);
  }
  while (target.childNodes.length > i) target.lastChild.remove();
}

// false when `node` cannot become `like` in place (another kind of node).
function morph(node, like) {
  if (node.nodeType !== like.nodeType || node.nodeName !== like.nodeName) return false;
  if (node.nodeType === Node.TEXT_NODE) {
    if (node.nodeValue !== like.nodeValue) node.nodeValue = like.nodeValue;
    return true;
  }
  if (node.nodeType !== Node.ELEMENT_NODE) return false;
  for (const { name, value } of [...like.attributes]) {
    if (node.getAttribute(name) === value) continue;
    // Styles through the CSSOM: the CSP refuses a style attribute set as text.
    if (name === 'style') node.style.cssText = like.style.cssText;
    else node.setAttribute(name, value);
  }
  for (const { name } of [...node.attributes])
    if (!like.hasAttribute(name)) node.removeAttribute(name);
  morphChildren(node, like);
  return true;
}

export function clear(node) {
  node.replaceChildren();
}

export function fmt(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return String(value);
}

export function pct(ratio) {
  return typeof ratio === 'number' ? `${(100 * ratio).toFixed(1)}%` : '—';
}

export function ms(value) {
  return typeof value === 'number' ? `${value.toFixed(1)} ms` : '—';
}

// A small SVG polyline of the values, scaled to their own range.
export function sparkline(values, label) {
  const width = 120;
  const height = 28;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  if (!values || values.length < 2) return svg;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const span = hi - lo || 1;
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - ((v - lo) / span) * (height - 4)).toFixed(1)}`);
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', points.join(' '));
  svg.append(line);
  return svg;
}

// A problem+json error as one line; a 403 lease_required names the lease.
export function describeError(err) {
  const p = err && err.problem;
  if (p && typeof p === 'object') {
    const explain = p.explain && p.explain.message ? ` — ${p.explain.message}` : '';
    return `${p.status || err.status} ${p.code || ''}: ${p.detail || p.title || ''}${explain}`;
  }
  return err && err.message ? err.message : String(err);
}
