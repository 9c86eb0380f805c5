// Key/Value: a browser by folder (keys with separator "/"), and an editor that writes with check-and-set: a save
// sends the ModifyIndex the value was read at (?cas=N), so a key someone changed meanwhile is never overwritten; the
// page shows the conflict and both values, and the operator chooses.
import { getJson, request, watch, keyPath, decodeValue, ApiError } from './api.js';
import { coalesce, errorBox, html, setHtml } from './util.js';
import { navigate } from './app.js';

export function kv(main, path) {
  return path === '' || path.endsWith('/') ? folder(main, path) : editor(main, path);
}

function crumbs(path) {
  const parts = path.split('/').filter(Boolean);
  let acc = '';
  return html`<nav aria-label="Key path" class="crumbs"><a href="/ui/kv/">root</a>${parts.map((p, i) => {
    acc += p + (i < parts.length - 1 || path.endsWith('/') ? '/' : '');
    return html` / <a href="/ui/kv/${keyPath(acc)}">${p}</a>`;
  })}</nav>`;
}

function folder(main, prefix) {
  setHtml(main, html`<h1 tabindex="-1">Key/Value</h1>${crumbs(prefix)}
    <div id="kv-list" aria-live="polite"><p class="muted">Loading…</p></div>
    <form id="kv-new" class="kv-new"><fieldset><legend>New key in ${prefix || 'root'}</legend>
      <label for="kv-new-key">Key</label> <input id="kv-new-key" required pattern="[^/].*" spellcheck="false">
      <label for="kv-new-value">Value</label> <textarea id="kv-new-value" rows="3"></textarea>
      <button type="submit">Create</button> <span id="kv-new-result" role="status"></span></fieldset></form>`);
  const list = main.querySelector('#kv-list');
  let keys = null, error = null;
  const render = coalesce(() => {
    if (error) { setHtml(list, errorBox(error, `the keys under ${prefix || 'the root'}`)); return; }
    if (!keys) return;
    const children = keys.filter(k => k !== prefix).sort();
    setHtml(list, children.length ? html`<ul class="keys">${children.map(k => html`<li class="${k.endsWith('/') ? 'folder' : 'key'}">
      <a href="/ui/kv/${keyPath(k)}">${k.slice(prefix.length)}</a></li>`)}</ul>` : html`<p class="muted">No keys here.</p>`);
  });
  const stop = watch(`/v1/kv/${keyPath(prefix)}?keys&separator=/`, d => { keys = d || []; error = null; render(); }, e => { error = e; render(); });
  main.querySelector('#kv-new').addEventListener('submit', async e => {
    e.preventDefault();
    const out = main.querySelector('#kv-new-result');
    const key = prefix + main.querySelector('#kv-new-key').value.trim();
    try {
      const r = await request('PUT', `/v1/kv/${keyPath(key)}?cas=0`, { body: main.querySelector('#kv-new-value').value });
      if ((await r.text()).trim() === 'true') navigate(`/ui/kv/${keyPath(key)}`);
      else out.textContent = `${key} already exists: not overwritten.`;
    } catch (err) {
      out.textContent = err instanceof ApiError && err.forbidden ? `Your token may not write ${key} (${err.message}).` : `Cannot create ${key}: ${err.message}`;
    }
  });
  return stop;
}

function editor(main, key) {
  setHtml(main, html`<h1 tabindex="-1">Key <span class="mono">${key}</span></h1>${crumbs(key)}
    <div id="kv-editor"><p class="muted">Loading…</p></div>`);
  const box = main.querySelector('#kv-editor');
  let readIndex = 0; // the ModifyIndex the editor's value was read at: what a save sends as ?cas=
  let stopWatch = () => {};
  let stopped = false;

  async function load() {
    try {
      const [e] = await getJson(`/v1/kv/${keyPath(key)}`);
      show(e);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) show(null);
      else setHtml(box, errorBox(err, `key ${key}`));
    }
  }

  function show(entry) {
    readIndex = entry ? entry.ModifyIndex : 0;
    setHtml(box, html`<form id="kv-form">
      <p class="small">${entry ? html`ModifyIndex <span id="kv-index" class="mono">${entry.ModifyIndex}</span>, flags ${entry.Flags}${entry.Session ? html`, locked by session <span class="mono">${entry.Session}</span>` : ''}`
        : html`This key does not exist: saving creates it (only if nobody else did meanwhile).`}</p>
      <p id="kv-changed" class="alert warn" role="status" hidden></p>
      <label for="kv-value">Value</label>
      <textarea id="kv-value" rows="12" spellcheck="false"></textarea>
      <div class="buttons"><button type="submit" id="kv-save">Save</button>
        ${entry ? html`<button type="button" id="kv-delete" class="danger">Delete</button>` : ''}
        <span id="kv-result" role="status" aria-live="polite"></span></div>
      <div id="kv-conflict" class="alert bad" role="alert" hidden></div></form>`);
    box.querySelector('#kv-value').value = entry ? (decodeValue(entry.Value) ?? '') : '';
    box.querySelector('#kv-form').addEventListener('submit', e => { e.preventDefault(); save(readIndex); });
    box.querySelector('#kv-delete')?.addEventListener('click', remove);
    // Tell the operator as soon as someone else changes the key (the save would be refused anyway).
    stopWatch();
    stopWatch = watch(`/v1/kv/${keyPath(key)}`, d => {
      const now = d && d[0] ? d[0].ModifyIndex : 0;
      const note = box.querySelector('#kv-changed');
      if (!note) return;
      note.hidden = now === readIndex;
      note.textContent = now === 0 ? 'This key was deleted elsewhere since you opened it.' : `This key changed elsewhere since you opened it (index ${readIndex} → ${now}). Saving will show the conflict.`;
    }, () => {});
  }

  async function save(cas) {
    const value = box.querySelector('#kv-value').value;
    const result = box.querySelector('#kv-result');
    const conflict = box.querySelector('#kv-conflict');
    result.textContent = 'Saving…';
    try {
      const r = await request('PUT', `/v1/kv/${keyPath(key)}?cas=${cas}`, { body: value });
      if ((await r.text()).trim() === 'true') {
        conflict.hidden = true;
        const [e] = await getJson(`/v1/kv/${keyPath(key)}`);
        readIndex = e.ModifyIndex;
        const idx = box.querySelector('#kv-index');
        if (idx) idx.textContent = String(readIndex); else { show(e); }
        box.querySelector('#kv-changed').hidden = true;
        result.textContent = `Saved (ModifyIndex ${readIndex}).`;
        return;
      }
      // CAS refused: someone wrote (or deleted) the key after it was read here. Nothing was written.
      result.textContent = 'Not saved.';
      let theirs = null, theirIndex = 0;
      try { const [e] = await getJson(`/v1/kv/${keyPath(key)}`); theirs = decodeValue(e.Value) ?? ''; theirIndex = e.ModifyIndex; } catch { /* deleted */ }
      setHtml(conflict, html`<p><strong>Conflict: not saved.</strong> The key changed since you opened it: you read it at index ${cas},
        it is now ${theirIndex ? `at index ${theirIndex}` : 'deleted'}. Your edit is still in the editor; nothing was overwritten.</p>
        ${theirIndex ? html`<p>Their value:</p><pre class="theirs">${theirs}</pre>` : ''}
        <button type="button" id="kv-take-theirs">Load their version</button>
        <button type="button" id="kv-overwrite" class="danger">Save mine over theirs</button>`);
      conflict.hidden = false;
      conflict.querySelector('#kv-take-theirs').addEventListener('click', () => load());
      conflict.querySelector('#kv-overwrite').addEventListener('click', () => save(theirIndex));
      conflict.querySelector('#kv-take-theirs').focus();
    } catch (err) {
      result.textContent = err instanceof ApiError && err.forbidden ? `Your token may not write ${key} (${err.message}).` : `Cannot save: ${err.message}`;
    }
  }

  async function remove() {
    const result = box.querySelector('#kv-result');
    if (!confirm(`Delete ${key}?`)) return;
    try {
      const r = await request('DELETE', `/v1/kv/${keyPath(key)}?cas=${readIndex}`);
      if ((await r.text()).trim() === 'true') navigate(`/ui/kv/${keyPath(key.includes('/') ? key.slice(0, key.lastIndexOf('/') + 1) : '')}`);
      else result.textContent = 'Not deleted: the key changed since you opened it. Load it again first.';
    } catch (err) {
      result.textContent = `Cannot delete: ${err.message}`;
    }
  }

  load();
  return () => { stopped = true; stopWatch(); };
}
