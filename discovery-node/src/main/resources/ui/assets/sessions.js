// Sessions and locks: every session, and every key a session holds (a lock), with its holder.
import { watch } from './api.js';
import { coalesce, errorBox, html, setHtml } from './util.js';
import { decodeValue } from './api.js';

export function sessions(main) {
  setHtml(main, html`<h1 tabindex="-1">Sessions &amp; locks</h1>
    <section aria-labelledby="locks-h"><h2 id="locks-h">Locks</h2><div id="locks" aria-live="polite"><p class="muted">Loading…</p></div></section>
    <section aria-labelledby="sess-h"><h2 id="sess-h">Sessions</h2><div id="sess" aria-live="polite"><p class="muted">Loading…</p></div></section>`);
  let list = null, listError = null, entries = null, kvError = null;
  const render = coalesce(() => {
    const byId = new Map((list || []).map(s => [s.ID, s]));
    const locks = (entries || []).filter(e => e.Session);
    setHtml(main.querySelector('#locks'), kvError ? errorBox(kvError, 'the keys') : !entries ? html`<p class="muted">Loading…</p>` : locks.length ? html`<div class="scroll"><table>
      <thead><tr><th scope="col">Key</th><th scope="col">Held by</th><th scope="col">Lock index</th><th scope="col">Value</th></tr></thead>
      <tbody>${locks.map(e => { const s = byId.get(e.Session); return html`<tr data-lock="${e.Key}"><th scope="row"><a href="/ui/kv/${e.Key.split('/').map(encodeURIComponent).join('/')}">${e.Key}</a></th>
        <td>${s ? html`${s.Name || ''} on ${s.Node}` : ''} <span class="mono small">${e.Session}</span></td><td>${e.LockIndex}</td>
        <td class="small">${(decodeValue(e.Value) || '').slice(0, 120)}</td></tr>`; })}</tbody></table></div>` : html`<p class="muted">No key is locked.</p>`);
    setHtml(main.querySelector('#sess'), listError ? errorBox(listError, 'the sessions') : !list ? html`<p class="muted">Loading…</p>` : list.length ? html`<div class="scroll"><table>
      <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Node</th><th scope="col">TTL</th><th scope="col">Behavior</th><th scope="col">Lock delay</th><th scope="col">Checks</th></tr></thead>
      <tbody>${list.map(s => html`<tr data-session="${s.ID}"><th scope="row">${s.Name || ''}</th><td class="mono small">${s.ID}</td><td>${s.Node}</td>
        <td>${s.TTL || '—'}</td><td>${s.Behavior}</td><td>${typeof s.LockDelay === 'number' ? `${Math.round(s.LockDelay / 1e6)} ms` : s.LockDelay}</td>
        <td class="small">${[...(s.NodeChecks || s.Checks || [])].join(', ')}</td></tr>`)}</tbody></table></div>` : html`<p class="muted">No session.</p>`);
  });
  const stops = [
    watch('/v1/session/list', d => { list = d || []; listError = null; render(); }, e => { listError = e; render(); }),
    watch('/v1/kv/?recurse', d => { entries = d || []; kvError = null; render(); }, e => { kvError = e; render(); }),
  ];
  return () => stops.forEach(s => s());
}
