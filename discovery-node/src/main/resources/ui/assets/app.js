// The failoverkit web UI: a router over the views, the connection banner and the token box.
import { onConnection, setToken, token } from './api.js';
import { overview } from './overview.js';
import { cluster } from './cluster.js';
import { nodes } from './nodes.js';
import { services } from './services.js';
import { kv } from './kv.js';
import { sessions } from './sessions.js';

const main = document.getElementById('main');
let stopView = null;

/** The view for a path under /ui/, with its parameters. */
function resolve(pathname) {
  const rest = decodeURI(pathname.replace(/^\/ui\/?/, ''));
  const search = new URLSearchParams(location.search);
  if (rest === '') return ['overview', () => overview(main)];
  const [head, ...tail] = rest.split('/');
  switch (head) {
    case 'clusters': return tail[0] ? ['overview', () => cluster(main, tail[0])] : ['overview', () => overview(main)];
    case 'services': return ['services', () => services(main, search.get('state') || 'any', tail[0] || '')];
    case 'nodes': return ['nodes', () => nodes(main)];
    case 'kv': return ['kv', () => kv(main, tail.join('/'))];
    case 'sessions': return ['sessions', () => sessions(main)];
    default: return ['', () => { main.innerHTML = '<h1 tabindex="-1">Not found</h1><p>No such page. <a href="/ui/">Overview</a></p>'; return () => {}; }];
  }
}

function show(focus) {
  if (stopView) stopView();
  stopView = null;
  const [section, start] = resolve(location.pathname);
  for (const a of document.querySelectorAll('nav a[data-route]')) {
    if (a.dataset.route === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  stopView = start() || null;
  if (focus) {
    const h1 = main.querySelector('h1');
    (h1 || main).focus({ preventScroll: false });
  }
}

/** Follows links within /ui/ without reloading the page (live watches go on). */
export function navigate(href) {
  history.pushState(null, '', href);
  show(true);
}

document.addEventListener('click', e => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || a.target) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/ui/') || url.pathname.startsWith('/ui/assets/')) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => show(true));

// Banner: the page lost the agent, or the agent has no leader.
const banner = document.getElementById('banner');
onConnection(s => {
  banner.hidden = !(s.lost || s.noLeader);
  banner.textContent = s.message;
  banner.className = 'banner ' + (s.lost ? 'lost' : s.noLeader ? 'noleader' : '');
  document.body.dataset.connection = s.lost ? 'lost' : s.noLeader ? 'no-leader' : 'ok';
});

// Token box: kept in sessionStorage (this tab's session), never in the URL or a cookie.
const form = document.getElementById('token-form');
const input = document.getElementById('token-input');
const tokenState = document.getElementById('token-state');
function showTokenState() { tokenState.textContent = token() ? 'token in use (this session only)' : 'anonymous'; }
form.addEventListener('submit', e => {
  e.preventDefault();
  setToken(input.value.trim());
  input.value = '';
  showTokenState();
  show(false);
});
document.getElementById('token-forget').addEventListener('click', () => {
  setToken('');
  input.value = '';
  showTokenState();
  show(false);
});
showTokenState();
// Leaving the page ends its blocking queries at once, so their connections are not left waiting on the agent.
window.addEventListener('pagehide', () => { if (stopView) stopView(); stopView = null; });
window.failoverkitNavigate = navigate;
window.failoverkitLoadedAt = Date.now();
show(false);
