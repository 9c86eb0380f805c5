// The agent's /v1 API, with the visitor's token (sessionStorage: this browser tab's session only, sent as
// X-Consul-Token), and live data through Consul's blocking queries (?index=N&wait=...): a watch asks again only when
// the agent answers, which it does when the data changed or the wait ended. No fixed polling loop.

const TOKEN_KEY = 'failoverkit.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message, index) {
    super(message);
    this.status = status;
    this.index = index;
  }
  get forbidden() { return this.status === 403 || this.status === 401; }
}

// Connection state for the banner: listeners get {lost, noLeader, message}.
const listeners = new Set();
let state = { lost: false, noLeader: false, message: '' };
export function onConnection(fn) { listeners.add(fn); fn(state); return () => listeners.delete(fn); }
function setState(next) {
  if (next.lost === state.lost && next.noLeader === state.noLeader && next.message === state.message) return;
  state = next;
  for (const fn of listeners) fn(state);
}

// Requests in flight (what a stuck page is waiting for), for the browser tests and for a curious operator's console.
const pending = new Map();
window.failoverkitPending = () => [...pending.entries()].map(([id, r]) => `${r.method} ${r.path} ${Date.now() - r.since} ms`);
let requestIds = 0;

/**
 * One request to the agent. {@code timeoutMs} bounds it (a blocking query: its wait plus a margin), so a request lost
 * on the way is retried instead of leaving the view waiting for ever.
 */
export async function request(method, path, { body, signal, timeoutMs = 15000 } = {}) {
  const headers = {};
  const t = token();
  if (t) headers['X-Consul-Token'] = t;
  let resp;
  const id = ++requestIds;
  pending.set(id, { method, path, since: Date.now() });
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    resp = await fetch(path, { method, headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError' || e.name === 'TimeoutError') throw e;
    setState({ lost: true, noLeader: false, message: 'This page lost the agent: it does not answer (' + e.message + '). Retrying…' });
    throw new ApiError(0, 'the agent does not answer');
  } finally {
    pending.delete(id);
  }
  const known = resp.headers.get('X-Consul-KnownLeader');
  const index = Number(resp.headers.get('X-Consul-Index') || 0);
  if (!resp.ok) {
    const text = (await resp.text()).trim();
    if (resp.status === 500 && /no cluster leader/i.test(text)) {
      setState({ lost: false, noLeader: true, message: 'The agent has no cluster leader: ' + text + '. What is shown may be stale.' });
    } else if (state.lost) {
      setState({ lost: false, noLeader: false, message: '' });
    }
    throw new ApiError(resp.status, text || resp.statusText, index);
  }
  if (known === 'false') setState({ lost: false, noLeader: true, message: 'The agent knows no cluster leader: what is shown may be stale.' });
  else setState({ lost: false, noLeader: false, message: '' });
  return resp;
}

export async function getJson(path, opts) {
  const r = await request('GET', path, opts);
  return r.json();
}

/**
 * Watches a blocking endpoint: calls onData(data, index) at once and then whenever the agent reports a new index;
 * onError(error) on a failure (a 403 ends the watch: the token may not read it). A 404 (a missing KV key) is data
 * null. Returns stop().
 */
const WAIT_SECONDS = 30;

export function watch(path, onData, onError) {
  const ctrl = new AbortController();
  let stopped = false;
  (async () => {
    let index = 0;
    let retry = 0;
    while (!stopped) {
      const sep = path.includes('?') ? '&' : '?';
      const url = index > 0 ? `${path}${sep}index=${index}&wait=${WAIT_SECONDS}s` : path;
      try {
        let data = null;
        let next = 0;
        try {
          const r = await request('GET', url, { signal: ctrl.signal, timeoutMs: index > 0 ? (WAIT_SECONDS + 20) * 1000 : 10000 });
          next = Number(r.headers.get('X-Consul-Index') || 0);
          data = await r.json();
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) next = e.index; else throw e;
        }
        retry = 0;
        if (stopped) return;
        if (next !== index || index === 0) onData(data, next);
        // Consul's rule: an index that went backwards (a restore, a new leader) starts over; one below 1 is never used.
        index = next < index ? 0 : next;
        if (index <= 0) { await sleep(5000, ctrl.signal); index = 0; }
      } catch (e) {
        if (stopped || e.name === 'AbortError') return;
        if (e.name === 'TimeoutError') { index = 0; continue; } // asked again at once, on a fresh request
        // A lost agent or a missing leader is the banner's to say: the view keeps its last data meanwhile.
        const outage = !(e instanceof ApiError) || e.status === 0 || (e.status === 500 && /no cluster leader/i.test(e.message));
        if (onError && !outage) onError(e);
        if (e instanceof ApiError && e.forbidden) return;
        retry = Math.min(retry + 1, 5);
        index = 0;
        try { await sleep(500 * retry, ctrl.signal); } catch { return; }
      }
    }
  })();
  return () => { stopped = true; ctrl.abort(); };
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
  });
}

/** Decodes a KV value (base64 of bytes) as UTF-8 text; null stays null. */
export function decodeValue(v) {
  if (v == null) return null;
  const bin = atob(v);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** A KV key in a URL path: each segment encoded, the slashes kept. */
export function keyPath(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}
