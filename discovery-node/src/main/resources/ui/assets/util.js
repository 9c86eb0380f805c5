// Small helpers shared by the views: escaping, times, check states.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function esc(v) { return v == null ? '' : String(v).replace(/[&<>"']/g, c => ESC[c]); }

/** A tagged template that escapes every value unless it is wrapped with raw(). */
export function html(strings, ...values) {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Raw(out);
}
class Raw { constructor(s) { this.s = s; } toString() { return this.s; } }
export function raw(s) { return new Raw(s); }
function render(v) {
  if (v instanceof Raw) return v.s;
  if (Array.isArray(v)) return v.map(render).join('');
  return esc(v);
}

/**
 * Replaces an element's content, but only when it changed: a watch that answers with the same facts must not rebuild
 * the page under the operator's keyboard focus or selection.
 */
export function setHtml(el, content) {
  const s = String(content);
  if (el.__html === s) return;
  el.__html = s;
  el.innerHTML = s;
  tick(el);
}

/** "3 s", "5 min", "2 h", "4 d" for a duration in ms. */
export function span(ms) {
  if (ms == null || isNaN(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** An element that shows how long ago `millis` was, kept current by the page's clock (no request involved). */
export function ago(millis) {
  if (!millis) return html`<span class="muted">never</span>`;
  const iso = new Date(millis).toISOString();
  // The text is filled in by tick(), so the markup stays the same from one render to the next.
  return html`<time datetime="${iso}" title="${iso}" data-since="${millis}"></time>`;
}

function tick(root) {
  for (const t of root.querySelectorAll('time[data-since]')) {
    const text = `${span(Date.now() - Number(t.dataset.since))} ago`;
    if (t.textContent !== text) t.textContent = text;
  }
}

// The ages move with the page's clock; no request is involved.
setInterval(() => tick(document), 1000);

const RANK = { passing: 0, maintenance: 1, warning: 2, critical: 3 };
export function worst(statuses) {
  let w = 'passing';
  for (const s of statuses) if ((RANK[s] ?? 3) > RANK[w]) w = s;
  return w;
}

/** A status as a badge: text and colour, so colour is never the only cue. */
export function badge(status, text) {
  const cls = { passing: 'ok', warning: 'warn', critical: 'bad', maintenance: 'warn' }[status] || 'muted';
  return html`<span class="badge ${cls}">${text ?? status}</span>`;
}

/** A failed read as a message in place of the data: a 403 says the token may not read it, and nothing else is shown. */
export function errorBox(e, what) {
  if (e && e.forbidden) return html`<p class="denied" role="status">Your token may not read ${what} (${e.message}).</p>`;
  return html`<p class="error" role="status">Cannot read ${what}: ${e ? e.message : 'unknown error'}</p>`;
}

export function parseJson(text) {
  if (text == null) return null;
  try { return JSON.parse(text); } catch { return null; }
}

/** Calls fn once for a burst (several watches may answer at once). */
export function coalesce(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    setTimeout(() => { queued = false; fn(); }, 0);
  };
}

/**
 * Runs an async job one at a time: a request made while it runs makes it run once more afterwards (several watches
 * answering together cause one refresh, never several at once).
 */
export function serial(fn) {
  let running = false, again = false;
  const run = async () => {
    if (running) { again = true; return; }
    running = true;
    try {
      do { again = false; await fn(); } while (again);
    } finally {
      running = false;
    }
  };
  return run;
}
