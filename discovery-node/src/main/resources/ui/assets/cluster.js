// One failover cluster: the topology as the manager last observed it (master → replicas, with lag), the manager's
// liveness and lock, the anti-flapping block and its acknowledgement, and every epoch's failover timeline.
import { getJson, request, watch, keyPath, ApiError, decodeValue } from './api.js';
import { ago, badge, coalesce, errorBox, html, setHtml, span } from './util.js';
import { clustersFrom, lockState, managerLive, phases } from './model.js';

export function cluster(main, name) {
  setHtml(main, html`<h1 tabindex="-1">Cluster <span class="mono">${name}</span></h1>
    <p><a href="/ui/">← Overview</a></p>
    <div id="cl-body" aria-live="polite"><p class="muted">Loading…</p></div>`);
  const body = main.querySelector('#cl-body');
  let c = null, error = null, loaded = false;
  const render = coalesce(() => {
    if (error) { setHtml(body, errorBox(error, `cluster ${name} (KV failover/${name}/)`)); return; }
    if (!loaded) return;
    if (!c) { setHtml(body, html`<p>No failover cluster named <span class="mono">${name}</span>: nothing under <span class="mono">failover/${name}/</span>.</p>`); return; }
    setHtml(body, view(c));
  });
  body.addEventListener('click', e => {
    const b = e.target.closest('button[data-ack]');
    if (b) acknowledge(name, c, body.querySelector('#ack-result'));
  });
  const stop = watch(`/v1/kv/failover/${keyPath(name)}/?recurse`, d => {
    loaded = true; error = null;
    c = clustersFrom(d || []).find(x => x.name === name) || null;
    render();
  }, e => { error = e; render(); });
  return stop;
}

function view(c) {
  const s = c.status;
  const live = managerLive(s);
  return html`
    <section aria-labelledby="cl-summary"><h2 id="cl-summary">Now</h2>
      <dl class="facts">
        <dt>Kind</dt><dd>${c.kind || '?'}</dd>
        <dt>Service</dt><dd><a href="/ui/services/${encodeURIComponent(c.service)}">${c.service}</a></dd>
        <dt>Master (epoch ${c.epoch?.epoch ?? '?'})</dt><dd class="master mono" data-master="${c.master || ''}">${c.master || 'none'}</dd>
        <dt>Manager</dt><dd>${s ? html`${live ? badge('passing', 'live') : badge('critical', 'silent')} ${s.manager?.identity || ''},
            lock <span class="lock" data-lock="${lockState(c).state}">${lockState(c).text}</span> (<span class="mono">${s.manager?.lockKey || ''}</span>), last heard ${ago(s.heartbeatMillis)}`
          : html`<span class="muted">no manager has published a status</span>`}</dd>
        <dt>Last cycle</dt><dd>${s?.manager?.lastCycle || html`<span class="muted">—</span>`}</dd>
      </dl>
      ${s?.splitBrain ? html`<p class="alert bad" role="alert">Split brain: ${s.writableMasters.length} writable masters (${s.writableMasters.join(', ')})</p>` : ''}
      ${antiFlapping(c)}
    </section>
    <section aria-labelledby="cl-topo"><h2 id="cl-topo">Topology</h2>${topology(c)}</section>
    <section aria-labelledby="cl-history"><h2 id="cl-history">Failovers (epoch history)</h2>${history(c)}</section>`;
}

function antiFlapping(c) {
  const e = c.epoch;
  if (!e) return '';
  if (e.acknowledged === false) {
    return html`<div class="alert warn" id="anti-flapping"><p><strong>Automatic failover is blocked</strong> since the failover of epoch ${e.epoch}
      (${ago(e.lastFailoverMillis)}): a second automatic failover waits until an operator acknowledges this one
      (<code>failover ack</code>, or the button).</p>
      <button type="button" data-ack="1">Acknowledge epoch ${e.epoch}</button> <span id="ack-result" role="status"></span></div>`;
  }
  if (e.acknowledgedBy) return html`<p class="muted" id="anti-flapping">Epoch ${e.epoch} acknowledged by ${e.acknowledgedBy} ${ago(e.acknowledgedAtMillis)}; automatic failover is armed.</p>`;
  return html`<p class="muted" id="anti-flapping">Automatic failover is armed (nothing to acknowledge).</p>`;
}

/** As `failover ack` does: CAS the epoch document to acknowledged; a concurrent change makes it read and try again. */
async function acknowledge(name, c, out) {
  const key = `failover/${name}/epoch`;
  const by = 'web-ui';
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const [entry] = await getJson(`/v1/kv/${keyPath(key)}?consistent`);
      const doc = JSON.parse(decodeValue(entry.Value));
      if (doc.acknowledged !== false) { out.textContent = 'Nothing to acknowledge.'; return; }
      doc.acknowledged = true; doc.acknowledgedBy = by; doc.acknowledgedAtMillis = Date.now();
      const r = await request('PUT', `/v1/kv/${keyPath(key)}?cas=${entry.ModifyIndex}`, { body: JSON.stringify(doc) });
      if ((await r.text()).trim() === 'true') {
        await request('PUT', `/v1/kv/${keyPath(`failover/${name}/audit/${doc.epoch}-ack`)}`,
          { body: JSON.stringify({ epoch: doc.epoch, acknowledgedBy: by, atMillis: doc.acknowledgedAtMillis }) });
        out.textContent = `Epoch ${doc.epoch} acknowledged.`;
        return;
      }
    } catch (e) {
      out.textContent = e instanceof ApiError && e.forbidden ? `Your token may not acknowledge (${e.message}).` : `Cannot acknowledge: ${e.message}`;
      return;
    }
  }
  out.textContent = 'The epoch kept changing; try again.';
}

function topology(c) {
  const s = c.status;
  if (!s?.instances) return html`<p class="muted">No observation published yet.</p>`;
  const inst = s.instances;
  const masters = inst.filter(i => i.reachable && i.role === 'master');
  const placed = new Set();
  const card = (i, extra) => {
    placed.add(i.address);
    const state = !i.reachable ? 'down' : i.role === 'master' ? (i.writable ? 'master' : 'master read-only') : 'replica';
    return html`<div class="node ${!i.reachable ? 'down' : i.role}" data-address="${i.address}" data-role="${!i.reachable ? 'down' : i.role}">
      <div class="mono addr">${i.address}</div>
      <div>${!i.reachable ? badge('critical', 'unreachable') : badge(i.role === 'master' && i.writable ? 'passing' : 'maintenance', state)}
        ${i.reachable && i.readOnly ? html`<span class="small">read-only</span>` : ''}</div>
      ${i.reachable ? html`<div class="small">${i.position || ''}${i.role === 'replica' ? html`, lag ${i.lag ?? '?'}` : ''}</div>` : html`<div class="small">${i.error || ''}</div>`}
      ${i.detail ? html`<div class="small">${i.detail}</div>` : ''}${extra || ''}</div>`;
  };
  const trees = masters.map(m => {
    const reps = inst.filter(i => i.reachable && i.role === 'replica' && i.masterAddress === m.address);
    return html`<div class="tree">${card(m)}
      <ul class="replicas" aria-label="Replicas of ${m.address}">${reps.map(r => html`<li><span class="arrow" aria-hidden="true">↓</span>
        <span class="link ${r.masterLinkUp ? '' : 'bad'}">${r.masterLinkUp ? 'link up' : 'link DOWN'}, lag ${r.lag ?? '?'}</span>${card(r)}</li>`)}</ul></div>`;
  });
  const rest = inst.filter(i => !placed.has(i.address));
  return html`<div class="topology" role="group" aria-label="Topology: master, then its replicas">${trees}
    ${rest.length ? html`<div class="orphans"><h3>Not replicating from a master above</h3>${rest.map(i => card(i, i.masterAddress ? html`<div class="small">replicates from ${i.masterAddress}</div>` : ''))}</div>` : ''}</div>
    <p class="small muted">Observed by the manager ${ago(s.heartbeatMillis)}; lag is in ${c.kind === 'redis' ? 'bytes of replication offset' : 'transactions (GTID)'}.</p>`;
}

function history(c) {
  if (!c.audits.length) return html`<p class="muted">No epoch recorded yet.</p>`;
  return html`<ol class="epochs" reversed>${c.audits.map(a => {
    const ph = phases(a.timeline);
    const total = ph.filter(p => !p.missing).map(p => p.since).pop();
    return html`<li class="epoch" data-epoch="${a.epoch}">
      <h3>Epoch ${a.epoch}: ${a.master}</h3>
      <p>${a.reason || ''}${a.success === false ? html` ${badge('critical', 'FAILED')} ${a.outcome || ''}` : a.success ? html` ${badge('passing', 'done')}` : ''}
        ${a.lastFailoverMillis ? html` — ${ago(a.lastFailoverMillis)}` : ''}</p>
      ${a.timeline?.length ? html`<ol class="phases" aria-label="Failover phases">${ph.map(p => html`<li class="${p.missing ? 'missing' : ''}" data-phase="${p.label}">
          <strong>${p.label}</strong> ${p.missing ? html`<span class="muted">—</span>` : html`<span class="took">+${span(p.took)}</span>`}</li>`)}
        ${total != null ? html`<li class="total">total ${span(total)}</li>` : ''}</ol>
      <details><summary>Every step (${a.timeline.length})</summary><div class="scroll"><table class="timeline">
        <thead><tr><th scope="col">Step</th><th scope="col">At</th><th scope="col">+</th><th scope="col">Detail</th></tr></thead>
        <tbody>${a.timeline.map((s, i) => html`<tr><td>${s.step}</td><td class="mono small">${s.at}</td>
          <td>${i ? span(Date.parse(s.at) - Date.parse(a.timeline[i - 1].at)) : ''}</td><td>${s.detail}</td></tr>`)}</tbody></table></div></details>` : ''}
    </li>`;
  })}</ol>`;
}
