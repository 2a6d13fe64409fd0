// main.js - the dashboard's shell: access (API key), the shared live feed, hash routing.
import { access, apiKey, liveFeed, probeAccess, setApiKey } from './api.js';
import { linkPage } from './link.js';
import { linksPage } from './links.js';
import { livePage } from './live.js';
import { systemPage } from './system.js';
import { clear, h } from './util.js';

// One live feed for every page; pages subscribe while they are shown.
const live = {
  state: 'connecting',
  subs: new Set(),
  stateSubs: new Set(),
  feed: null,
  subscribe(fn) {
    this.subs.add(fn);
    return () => this.subs.delete(fn);
  },
  onState(fn) {
    this.stateSubs.add(fn);
    fn(this.state);
    return () => this.stateSubs.delete(fn);
  },
  start() {
    if (this.feed) this.feed.close();
    this.feed = liveFeed(
      (c) => this.subs.forEach((fn) => fn(c)),
      (s) => {
        if (s === 'gap') return;
        this.state = s;
        document.body.dataset.live = s;
        this.stateSubs.forEach((fn) => fn(s));
      });
  },
};

const main = document.getElementById('main');
let cleanup = null;

function route() {
  if (cleanup) cleanup();
  cleanup = null;
  clear(main);
  const hash = location.hash || '#/links';
  let m;
  let page = 'links';
  if ((m = hash.match(/^#\/link\/(\d+)$/))) {
    page = 'link';
    cleanup = linkPage(main, live, m[1]);
  } else if (hash === '#/live') {
    page = 'live';
    cleanup = livePage(main, live);
  } else if (hash === '#/system') {
    page = 'system';
    cleanup = systemPage(main);
  } else {
    cleanup = linksPage(main, live);
  }
  document.body.dataset.page = page;
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === (page === 'link' ? 'links' : page)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const h1 = main.querySelector('h1');
  document.title = `${h1 ? h1.textContent : 'Dashboard'} · Shortener`;
  main.focus({ preventScroll: true });
}

function showAccess() {
  const el = document.getElementById('access');
  el.textContent = access.keys ? (access.canWrite ? 'API key: read and write' : 'API key: read-only') : '';
  document.getElementById('signout').hidden = !access.keys;
  document.body.dataset.access = access.canWrite ? 'write' : 'read';
}

async function askKey(message) {
  const dlg = document.getElementById('keydlg');
  const input = document.getElementById('keyinput');
  document.getElementById('keyerr').textContent = message || '';
  input.value = '';
  dlg.showModal();
  await new Promise((res) => dlg.addEventListener('close', res, { once: true }));
  setApiKey(input.value.trim());
}

async function start() {
  for (let tries = 0; ; tries++) {
    let r;
    try {
      r = await probeAccess();
    } catch (e) {
      clear(main).append(h('h1', { text: 'The API does not answer' }), h('p', { text: String(e.message || e) }));
      return;
    }
    if (r === 'ok') break;
    await askKey(apiKey() ? 'That key was refused. Try another one.' : '');
  }
  showAccess();
  live.start();
  window.addEventListener('hashchange', route);
  route();
}

document.getElementById('signout').addEventListener('click', () => {
  setApiKey('');
  location.reload();
});
window.addEventListener('auth-needed', () => {
  if (access.known && apiKey()) {
    setApiKey('');
    location.reload();
  }
});
start();
