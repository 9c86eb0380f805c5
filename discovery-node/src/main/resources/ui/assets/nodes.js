// Nodes: the catalog's nodes with their gossip status (this agent's member list), tags and checks.
import { getJson, watch } from './api.js';
import { badge, coalesce, errorBox, html, setHtml, worst, serial } from './util.js';

const GOSSIP = { 0: 'none', 1: 'alive', 2: 'leaving', 3: 'left', 4: 'failed' };

export function nodes(main) {
  setHtml(main, html`<h1 tabindex="-1">Nodes</h1><div id="nodes-body" aria-live="polite"><p class="muted">Loading…</p></div>`);
  const body = main.querySelector('#nodes-body');
  let list = null, listError = null, checks = [], checksError = null, members = null, membersError = null;
  const render = coalesce(() => {
    if (listError) { setHtml(body, errorBox(listError, 'the catalog nodes')); return; }
    if (!list) return;
    const byName = new Map((members || []).map(m => [m.Name, m]));
    setHtml(body, html`${membersError ? errorBox(membersError, 'the gossip members') : ''}${checksError ? errorBox(checksError, 'the checks') : ''}
      <div class="scroll"><table class="nodes"><caption class="sr-only">Nodes</caption>
      <thead><tr><th scope="col">Node</th><th scope="col">Address</th><th scope="col">Gossip</th><th scope="col">Tags</th><th scope="col">Checks</th></tr></thead>
      <tbody>${list.map(n => {
        const mine = checks.filter(c => c.Node === n.Node);
        const w = mine.length ? worst(mine.map(c => c.Status)) : null;
        const m = byName.get(n.Node);
        const gossip = m ? GOSSIP[m.Status] || String(m.Status) : null;
        return html`<tr class="${w === 'critical' || gossip === 'failed' ? 'critical' : w === 'warning' ? 'warning' : ''}" data-node="${n.Node}">
          <th scope="row">${n.Node}</th><td class="mono">${n.Address}</td>
          <td>${gossip ? badge(gossip === 'alive' ? 'passing' : gossip === 'failed' ? 'critical' : 'warning', gossip) : html`<span class="muted">not a gossip member (catalog only)</span>`}</td>
          <td>${m ? Object.entries(m.Tags || {}).map(([k, v]) => html`<span class="tag">${k}=${v}</span> `) : ''}</td>
          <td>${mine.length ? html`<ul class="checks">${mine.map(c => html`<li>${badge(c.Status)} ${c.Name}${c.ServiceName ? html` <span class="small">(${c.ServiceName})</span>` : ''}${c.Output ? html`<div class="small output">${c.Output}</div>` : ''}</li>`)}</ul>` : html`<span class="muted">none</span>`}</td></tr>`;
      })}</tbody></table></div>`);
  });
  // Gossip membership has no blocking query: it is read again whenever the catalog's nodes or checks change (a member
  // that fails turns its serfHealth check critical, which wakes the checks watch).
  const refreshMembers = serial(async () => {
    try { members = await getJson('/v1/agent/members'); membersError = null; } catch (e) { membersError = e; }
    render();
  });
  const stops = [
    watch('/v1/catalog/nodes', d => { list = d || []; listError = null; render(); refreshMembers(); }, e => { listError = e; render(); }),
    watch('/v1/health/state/any', d => { checks = d || []; checksError = null; render(); refreshMembers(); }, e => { checksError = e; render(); }),
  ];
  return () => stops.forEach(s => s());
}
