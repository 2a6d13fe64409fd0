// util.js - DOM building without innerHTML (no markup from data ever reaches the parser).

// h('tag.class#id', {attr: value, onclick: fn}, ...children)
export function h(spec, attrs, ...children) {
  const m = spec.match(/^([a-z0-9]+)((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m ? m[1] : spec);
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

let toastTimer = 0;
export function toast(msg, kind = 'info') {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.className = 'toast'), 3500);
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`Copied ${text}`);
  } catch {
    toast('Copy failed: select the text and copy it', 'error');
  }
}

export function shortUrl(code) {
  return `${location.origin}/${code}`;
}

// "2026-11-23T12:00:00" (UTC, the API's format) <-> <input type="datetime-local"> (local).
export function apiToLocalInput(s) {
  if (!s) return '';
  const d = new Date(`${s}Z`);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
export function localInputToApi(v) {
  if (!v) return null;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().slice(0, 19);
}
export function apiTime(d) {
  return d.toISOString().slice(0, 19);
}
export function fmtTime(s) {
  if (!s) return '—';
  const d = typeof s === 'number' ? new Date(s) : new Date(`${s}Z`);
  return Number.isNaN(d.getTime()) ? String(s) : d.toLocaleString();
}

// A form field: label + control (+ hint and an error slot tied with aria-describedby).
export function field(id, label, control, hint) {
  control.id = id;
  const err = h('span.field-error', { id: `${id}-err`, role: 'alert' });
  const ids = [`${id}-err`];
  let hintEl = null;
  if (hint) {
    hintEl = h('span.hint', { id: `${id}-hint`, text: hint });
    ids.push(`${id}-hint`);
  }
  control.setAttribute('aria-describedby', ids.join(' '));
  return h('div.field', {}, h('label', { for: id, text: label }), control, hintEl, err);
}

// Shows an ApiError's details next to the fields it names; returns the text for a toast.
export function showErrors(form, e) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const details = e.details ? e.details() : {};
  for (const [k, why] of Object.entries(details)) {
    const ctl = form.querySelector(`[name="${CSS.escape(k)}"]`);
    if (!ctl) continue;
    ctl.setAttribute('aria-invalid', 'true');
    const slot = document.getElementById(`${ctl.id}-err`);
    if (slot) slot.textContent = String(why);
  }
  return e.message || String(e);
}

// Disables every write control (marked .write) when the key may not write.
export function applyWriteAccess(root, canWrite) {
  for (const el of root.querySelectorAll('.write')) {
    el.disabled = !canWrite;
    if (!canWrite) el.title = 'Read-only key: writing is disabled';
  }
}
