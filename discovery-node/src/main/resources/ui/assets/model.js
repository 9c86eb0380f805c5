// The failover clusters as their manager publishes them under failover/<cluster>/ (status, epoch, definition,
// audit/<epoch>), read from one KV listing; and the catalog's view of a service's instances.
import { decodeValue } from './api.js';
import { parseJson } from './util.js';

/** Groups a `failover/?recurse` listing by cluster. */
export function clustersFrom(entries) {
  const out = new Map();
  for (const e of entries || []) {
    const m = /^failover\/([^/]+)\/(.+)$/.exec(e.Key);
    if (!m) continue;
    const [, name, rest] = m;
    if (!out.has(name)) out.set(name, { name, audits: [], acks: [], status: null, epoch: null, definition: null, lock: null, semisync: null });
    const c = out.get(name);
    const doc = parseJson(decodeValue(e.Value));
    if (rest === 'status') c.status = doc;
    else if (rest === 'epoch') { c.epoch = doc; c.epochIndex = e.ModifyIndex; }
    else if (rest === 'definition') c.definition = doc;
    else if (rest === 'semisync') c.semisync = doc;
    else if (rest === 'leader') c.lock = { session: e.Session || null, value: decodeValue(e.Value) };
    else if (/^audit\/\d+$/.test(rest) && doc) c.audits.push(doc);
    else if (rest.startsWith('audit/') && doc) c.acks.push(doc);
  }
  for (const c of out.values()) {
    c.audits.sort((a, b) => (b.epoch || 0) - (a.epoch || 0));
    c.kind = c.status?.kind || c.definition?.kind || '';
    c.service = c.status?.service || c.definition?.service || c.name;
    // The epoch key is the truth (written mid-failover, before the promotion); the status follows a cycle later.
    c.master = c.epoch?.master || c.status?.epoch?.master || null;
  }
  // Only what a manager set up: a cluster with a status, an epoch or a definition.
  return [...out.values()].filter(c => c.status || c.epoch || c.definition).sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The lock as it is, not as the status document last said: the status is written once per cycle (a manager that lost
 * the lock since, or stalled, still says "held"), the lock key's session is the truth. Returns {state, text}:
 * state 'held' (the publishing manager's session holds the key), 'other' (another session holds it), 'free' (no
 * session holds it), 'unknown' (no status and no lock key).
 */
export function lockState(c) {
  const mine = c?.status?.manager?.session || null;
  const holder = c?.lock?.session || null;
  const short = id => (id || '').slice(0, 8);
  if (holder && mine && holder === mine) return { state: 'held', text: 'held' };
  if (holder) return { state: 'other', text: `held by another session (${short(holder)}…), not by the manager that published this status` };
  if (c?.lock || c?.status) {
    return { state: 'free', text: c?.status?.manager?.holdsLock ? 'not held: the lock is free (this status is older than the lock)' : 'not held: the lock is free' };
  }
  return { state: 'unknown', text: 'unknown' };
}

/** Whether the manager's heartbeat is recent: a live manager rewrites its status at least every heartbeatEveryMillis. */
export function managerLive(status) {
  if (!status) return false;
  const every = status.heartbeatEveryMillis || 5000;
  return Date.now() - (status.heartbeatMillis || 0) < 3 * every + (status.manager?.intervalMillis || 0);
}

/** The phases an operator asks about, with the time each took: detected → fenced → promoted → DNS moved. */
export function phases(timeline) {
  const steps = (timeline || []).map(s => ({ ...s, ms: Date.parse(s.at) }));
  const find = pred => steps.find(pred);
  const want = [
    ['detected', s => s.step === 'detected' || s.step === 'decided'],
    ['fenced', s => s.step === 'fenced' || s.step === 'fence deferred' || s.step === 'writes stopped'],
    ['promoted', s => s.step === 'promoted'],
    ['DNS moved', s => s.step === 'dns moved'],
  ];
  const out = [];
  let prev = null;
  const start = steps.length ? steps[0].ms : null;
  for (const [label, pred] of want) {
    const s = find(pred);
    if (!s) { out.push({ label, missing: true }); continue; }
    out.push({ label, step: s.step, at: s.ms, took: prev == null ? 0 : s.ms - prev, since: s.ms - start, detail: s.detail });
    prev = s.ms;
  }
  return out;
}
