// api.js - every call to the API: the key (session storage only), JSON, errors, the live feed.
const KEY = 'shortener.apiKey';

export const access = { keys: false, canWrite: true, known: false };

export function apiKey() {
  return sessionStorage.getItem(KEY) || '';
}
export function setApiKey(k) {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, body) {
    const msg = body && typeof body === 'object' && body.error ? body.error : `HTTP ${status}`;
    super(msg);
    this.status = status;
    this.body = body;
  }
  details() {
    const d = this.body && this.body.details;
    return d && typeof d === 'object' ? d : {};
  }
}

function headers(json) {
  const h = { Accept: 'application/json' };
  if (json) h['Content-Type'] = 'application/json';
  const k = apiKey();
  if (k) h.Authorization = `Bearer ${k}`;
  return h;
}

export async function api(method, path, body) {
  const init = { method, headers: headers(body !== undefined), cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  const r = await fetch(path, init);
  if (r.status === 401) window.dispatchEvent(new CustomEvent('auth-needed'));
  if (r.status === 204) return null;
  const ct = r.headers.get('content-type') || '';
  const data = ct.includes('json') ? await r.json().catch(() => null) : await r.text();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

// A resource as a data: URL (the CSP allows img-src data:, and fetch can send the key).
export async function apiDataUrl(path) {
  const r = await fetch(path, { headers: headers(false), cache: 'no-store' });
  if (!r.ok) throw new ApiError(r.status, null);
  const blob = await r.blob();
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(fr.result);
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(blob);
  });
}

// Which mode and which rights: GET /urls without a key answers 401 in keys mode; a POST of
// an empty object is refused by the scope check (403) before validation (422) runs, so it
// tells whether the key may write without writing anything.
export async function probeAccess() {
  const r = await fetch('/urls?page=1&per_page=1', { headers: headers(false), cache: 'no-store' });
  if (r.status === 401) {
    access.keys = true;
    access.known = false;
    return 'need-key';
  }
  access.keys = !!apiKey();
  const w = await fetch('/urls', { method: 'POST', headers: headers(true), body: '{}' });
  access.canWrite = w.status !== 401 && w.status !== 403;
  access.known = true;
  return 'ok';
}

// The live click feed (GET /events/live, Server-Sent Events) read with fetch, so that the
// key can go in a header. Reconnects with backoff; onState('open'|'closed').
export function liveFeed(onClick, onState) {
  let stopped = false;
  let ctl = null;
  let delay = 500;
  async function run() {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const r = await fetch('/events/live', {
          headers: { ...headers(false), Accept: 'text/event-stream' },
          signal: ctl.signal,
          cache: 'no-store',
        });
        if (!r.ok || !r.body) throw new Error(`live feed: HTTP ${r.status}`);
        await readEvents(r.body, (ev, data) => {
          if (ev === 'hello') {
            delay = 500;
            onState('open');
          } else if (ev === 'click') onClick(JSON.parse(data));
          else if (ev === 'gap') onState('gap', JSON.parse(data));
        });
      } catch (e) {
        if (stopped) return;
      }
      onState('closed');
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }
  run();
  return {
    close() {
      stopped = true;
      if (ctl) ctl.abort();
    },
  };
}

async function readEvents(body, cb) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let ev = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) ev = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) cb(ev, data.join('\n'));
    }
  }
}
