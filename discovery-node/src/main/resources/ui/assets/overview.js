// Overview: every failover cluster, and every catalog service with a `master`-tagged instance (failoverkit's or
// registered by hand, as the seeds' scripts did): master, replicas, health, split-brain check, last failover.
import { getJson, watch, keyPath } from './api.js';
import { ago, badge, coalesce, serial, errorBox, html, setHtml, worst, span } from './util.js';
import { clustersFrom, managerLive } from './model.js';

export function overview(main) {
  setHtml(main, html`<h1 tabindex="-1">Overview</h1>
    <section aria-labelledby="clusters-h"><h2 id="clusters-h">Masters</h2><div id="ov-table" aria-live="polite"><p class="muted">Loading…</p></div></section>`);
  const table = main.querySelector('#ov-table');
  let kvEntries = null, kvError = null, catalog = null, catalogError = null, checks = null;
  const health = new Map(); // service -> [{Node, Service, Checks}]
  let stopped = false;

  const render = coalesce(() => {
    if (stopped) return;
    const clusters = kvError ? [] : clustersFrom(kvEntries);
    const managed = new Set(clusters.map(c => c.service));
    const tagged = catalog ? Object.entries(catalog).filter(([, tags]) => (tags || []).includes('master')).map(([s]) => s) : [];
    const rows = [];
    for (const c of clusters) rows.push(clusterRow(c, health.get(c.service)));
    for (const s of tagged.filter(s => !managed.has(s)).sort()) rows.push(serviceRow(s, health.get(s)));
    setHtml(table, html`
      ${kvError ? errorBox(kvError, 'the failover clusters (KV failover/)') : ''}
      ${catalogError ? errorBox(catalogError, 'the catalog') : ''}
      ${rows.length === 0 && !kvError && !catalogError ? html`<p>No failover cluster and no service with a <code>master</code>-tagged instance yet.</p>` : ''}
      ${rows.length ? html`<div class="scroll"><table class="overview">
        <caption class="sr-only">Every cluster and master-tagged service</caption>
        <thead><tr><th scope="col">Cluster</th><th scope="col">Kind</th><th scope="col">Master</th><th scope="col">Replicas</th>
        <th scope="col">Health</th><th scope="col">Split-brain check</th><th scope="col">Last failover</th><th scope="col">Manager</th></tr></thead>
        <tbody>${rows}</tbody></table></div>` : ''}`);
  });

  // Instances with their checks, for each master-tagged service and each cluster's service: read again when the
  // catalog or a check changed (two blocking watches tell), not on a timer.
  const refreshHealth = serial(async () => {
    if (stopped) return;
    const names = new Set(clustersFrom(kvEntries).map(c => c.service));
    if (catalog) for (const [s, tags] of Object.entries(catalog)) if ((tags || []).includes('master')) names.add(s);
    for (const s of names) {
      if (catalog && !(s in catalog)) { health.set(s, []); continue; }
      try { health.set(s, await getJson(`/v1/health/service/${keyPath(s)}`)); } catch { health.delete(s); }
    }
    render();
  });

  const stops = [
    watch('/v1/kv/failover/?recurse', d => { kvEntries = d || []; kvError = null; render(); refreshHealth(); }, e => { kvError = e; render(); }),
    watch('/v1/catalog/services', d => { catalog = d || {}; catalogError = null; refreshHealth(); }, e => { catalogError = e; render(); }),
    watch('/v1/health/state/any', d => { checks = d; refreshHealth(); }, () => {}),
  ];
  return () => { stopped = true; stops.forEach(s => s()); };
}

function healthOf(instances) {
  if (!instances) return null;
  return worst(instances.flatMap(i => (i.Checks || []).map(c => c.Status)));
}

function splitCheck(instances, status) {
  const masters = (instances || []).filter(i => (i.Service?.Tags || []).includes('master'));
  const passingMasters = masters.filter(i => healthOf([i]) === 'passing');
  if (status?.splitBrain) return badge('critical', `SPLIT: ${status.writableMasters.length} writable (${status.writableMasters.join(', ')})`);
  if (passingMasters.length > 1) return badge('critical', `SPLIT: ${passingMasters.length} masters in DNS`);
  if (instances && masters.length === 0) return badge('critical', 'no master in DNS');
  if (instances && passingMasters.length === 0) return badge('critical', 'master failing its checks');
  if (!instances) return html`<span class="muted">unknown</span>`;
  return badge('passing', 'one master');
}

function clusterRow(c, instances) {
  const s = c.status;
  const replicas = (s?.instances || []).filter(i => i.role === 'replica');
  const down = (s?.instances || []).filter(i => !i.reachable);
  const lag = replicas.length ? Math.max(...replicas.map(r => r.lag ?? 0)) : null;
  const h = healthOf(instances);
  const last = c.epoch?.lastFailoverMillis || s?.epoch?.lastFailoverMillis || 0;
  const blocked = (c.epoch && c.epoch.acknowledged === false) ? html` ${badge('warning', 'blocked until ack')}` : '';
  const live = managerLive(s);
  const rowState = s?.splitBrain ? 'critical' : h === 'critical' || down.length ? 'critical' : h === 'warning' ? 'warning' : '';
  return html`<tr class="${rowState}" data-cluster="${c.name}">
    <th scope="row"><a href="/ui/clusters/${encodeURIComponent(c.name)}">${c.name}</a></th>
    <td data-label="Kind">${c.kind}</td>
    <td data-label="Master" class="master" data-master="${c.master || ''}">${c.master || html`<span class="muted">none</span>`}</td>
    <td data-label="Replicas">${replicas.length} replica(s)${lag != null ? html`, max lag ${lag}` : ''}${down.length ? html` ${badge('critical', `${down.length} down`)}` : ''}</td>
    <td data-label="Health">${h ? badge(h) : html`<span class="muted">no checks</span>`}</td>
    <td data-label="Split-brain check">${splitCheck(instances, s)}</td>
    <td data-label="Last failover">${last ? html`epoch ${c.epoch?.epoch ?? s?.epoch?.epoch}, ${ago(last)}` : html`<span class="muted">none</span>`}${blocked}</td>
    <td data-label="Manager">${s ? (live ? badge('passing', 'live') : badge('critical', 'silent')) : html`<span class="muted">never published</span>`}
      ${s?.manager?.identity ? html`<span class="small">${s.manager.identity}</span>` : ''}</td>
  </tr>`;
}

function serviceRow(name, instances) {
  const masters = (instances || []).filter(i => (i.Service?.Tags || []).includes('master'));
  const replicas = (instances || []).filter(i => !(i.Service?.Tags || []).includes('master'));
  const h = healthOf(instances);
  const addr = i => `${i.Service?.Address || i.Node?.Address}:${i.Service?.Port}`;
  return html`<tr class="${h === 'critical' ? 'critical' : h === 'warning' ? 'warning' : ''}" data-service="${name}">
    <th scope="row"><a href="/ui/services/${encodeURIComponent(name)}">${name}</a></th>
    <td data-label="Kind"><span class="muted">not managed</span></td>
    <td data-label="Master" class="master" data-master="${masters.map(addr).join(',')}">${masters.length ? masters.map(addr).join(', ') : html`<span class="muted">none</span>`}</td>
    <td data-label="Replicas">${replicas.length} other instance(s)</td>
    <td data-label="Health">${h ? badge(h) : html`<span class="muted">unknown</span>`}</td>
    <td data-label="Split-brain check">${splitCheck(instances, null)}</td>
    <td data-label="Last failover"><span class="muted">not managed by failoverkit</span></td>
    <td data-label="Manager"><span class="muted">—</span></td>
  </tr>`;
}

export { span };
