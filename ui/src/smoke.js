// smoke.js - the "run checks" button: create -> follow -> click visible -> deactivate -> 404
// -> reactivate -> delete, against the live system, each step timed; cleans up after itself.
import { api } from './api.js';

// A GET of the short link from this page: a redirect comes back as an opaque redirect
// (fetch never follows it with redirect: 'manual'), a 404 as itself.
async function follow(code) {
  const r = await fetch(`/${encodeURIComponent(code)}`, { redirect: 'manual', cache: 'no-store', credentials: 'omit' });
  return r.type === 'opaqueredirect' ? 'redirect' : r.status;
}

async function until(ms, fn) {
  const end = performance.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || performance.now() > end) return v;
    await new Promise((res) => setTimeout(res, 150));
  }
}

export const SMOKE_STEPS = ['create', 'follow', 'click visible', 'deactivate', '404', 'reactivate', 'delete'];

// Runs the steps; onStep(index, state 'run'|'pass'|'fail', ms, detail).
export async function runSmoke(onStep) {
  let link = null;
  let deleted = false;
  const steps = [
    async () => {
      const tag = Math.random().toString(36).slice(2, 10);
      link = await api('POST', '/urls', { original_url: `https://example.com/dashboard-smoke/${tag}`, title: 'dashboard smoke test' });
      return `/${link.short_code}`;
    },
    async () => {
      const r = await follow(link.short_code);
      if (r !== 'redirect') throw new Error(`expected a redirect, got ${r}`);
      return 'redirected';
    },
    async () => {
      const ok = await until(5000, async () => (await api('GET', `/urls/${link.id}`)).clicks >= 1);
      if (!ok) throw new Error('no click recorded within 5 s');
      return 'clicks ≥ 1';
    },
    async () => {
      await api('PATCH', `/urls/${link.id}`, { is_active: false });
      return 'inactive';
    },
    async () => {
      const r = await follow(link.short_code);
      if (r !== 404) throw new Error(`expected 404, got ${r}`);
      return '404';
    },
    async () => {
      await api('PATCH', `/urls/${link.id}`, { is_active: true });
      const r = await follow(link.short_code);
      if (r !== 'redirect') throw new Error(`expected a redirect again, got ${r}`);
      return 'redirects again';
    },
    async () => {
      await api('DELETE', `/urls/${link.id}`);
      deleted = true;
      return 'deleted';
    },
  ];
  let ok = true;
  for (let i = 0; i < steps.length; i++) {
    if (!ok) {
      onStep(i, 'skip', 0, 'skipped');
      continue;
    }
    onStep(i, 'run', 0, '');
    const t0 = performance.now();
    try {
      const detail = await steps[i]();
      onStep(i, 'pass', performance.now() - t0, detail);
    } catch (e) {
      ok = false;
      onStep(i, 'fail', performance.now() - t0, e.message || String(e));
    }
  }
  if (link && !deleted) await api('DELETE', `/urls/${link.id}`).catch(() => {});
  return ok;
}
