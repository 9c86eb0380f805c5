// Services: every catalog service's instances with tags and health, filtered by state.
import { getJson, watch, keyPath } from './api.js';
import { badge, coalesce, errorBox, html, setHtml, worst, serial } from './util.js';

const STATES = ['any', 'passing', 'warning', 'critical'];

export function services(main, state, only) {
  if (!STATES.includes(state)) state = 'any';
  setHtml(main, html`<h1 tabindex="-1">Services${only ? html` — <span class="mono">${only}</span>` : ''}</h1>
    <form class="filter" id="svc-filter" role="search"><fieldset><legend>Show instances</legend>
      ${STATES.map(s => html`<label><input type="radio" name="state" value="${s}" ${s === state ? 'checked' : ''}> ${s === 'any' ? 'all' : s}</label> `)}
    </fieldset></form>
    <div id="svc-body" aria-live="polite"><p class="muted">Loading…</p></div>`);
  const body = main.querySelector('#svc-body');
  main.querySelector('#svc-filter').addEventListener('change', e => {
    state = e.target.value;
    const url = new URL(location.href);
    if (state === 'any') url.searchParams.delete('state'); else url.searchParams.set('state', state);
    history.replaceState(null, '', url.pathname + url.search);
    render();
  });
  let catalog = null, error = null;
  const instances = new Map();
  const failed = new Map(); // service -> why its instances cannot be read
  const render = coalesce(() => {
    if (error) { setHtml(body, errorBox(error, 'the catalog services')); return; }
    if (!catalog) return;
    const names = Object.keys(catalog).filter(n => !only || n === only).sort();
    const sections = names.map(n => {
      const all = (instances.get(n) || []).map(i => ({ ...i, status: worst((i.Checks || []).map(c => c.Status)) }));
      const shown = all.filter(i => state === 'any' || i.status === state);
      if (state !== 'any' && shown.length === 0) return '';
      return html`<section class="service" data-service="${n}" aria-labelledby="svc-${n}">
        <h2 id="svc-${n}"><a href="/ui/services/${encodeURIComponent(n)}">${n}</a> <span class="small">${(catalog[n] || []).map(t => html`<span class="tag">${t}</span> `)}</span></h2>
        ${instances.has(n) ? html`<div class="scroll"><table><thead><tr><th scope="col">Instance</th><th scope="col">Node</th><th scope="col">Address</th><th scope="col">Tags</th><th scope="col">Health</th></tr></thead>
        <tbody>${shown.map(i => html`<tr class="${i.status === 'critical' ? 'critical' : i.status === 'warning' ? 'warning' : ''}" data-instance="${i.Service.ID}">
          <th scope="row">${i.Service.ID}</th><td>${i.Node.Node}</td><td class="mono">${i.Service.Address || i.Node.Address}:${i.Service.Port}</td>
          <td>${(i.Service.Tags || []).map(t => html`<span class="tag">${t}</span> `)}</td>
          <td>${badge(i.status)}${(i.Checks || []).filter(c => c.Status !== 'passing').map(c => html`<div class="small output">${c.Name}: ${c.Output || c.Status}</div>`)}</td></tr>`)}</tbody></table></div>`
          : failed.has(n) ? errorBox(failed.get(n), `the instances of ${n}`) : html`<p class="muted">Loading instances…</p>`}</section>`;
    });
    setHtml(body, names.length ? sections : html`<p>No service registered.</p>`);
  });
  // Instances are read again when the catalog's services or any check changed (blocking watches tell), not on a timer.
  const refresh = serial(async () => {
    if (!catalog) return;
    for (const n of Object.keys(catalog).filter(n => !only || n === only)) {
      try { instances.set(n, await getJson(`/v1/health/service/${keyPath(n)}`)); failed.delete(n); } catch (e) { instances.delete(n); failed.set(n, e); }
    }
    render();
  });
  const stops = [
    watch('/v1/catalog/services', d => { catalog = d || {}; error = null; render(); refresh(); }, e => { error = e; render(); }),
    watch('/v1/health/state/any', () => refresh(), () => {}),
  ];
  return () => stops.forEach(s => s());
}
