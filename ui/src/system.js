// system.js - the System page: every instance's readiness, the golden signals, the smoke test.
import { access, api } from './api.js';
import { goldenSignals, parseMetrics } from './metrics.js';
import { runSmoke, SMOKE_STEPS } from './smoke.js';
import { applyWriteAccess, clear, h } from './util.js';

const REFRESH_MS = 3000;

// Every instance through write-svc's GET /dashboard/system (it scrapes the instances it is
// configured with); without it, what the front door reaches: /health and /metrics.
async function scrape() {
  try {
    return await api('GET', '/dashboard/system');
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const t0 = performance.now();
  let ready = false;
  let detail = '';
  try {
    detail = JSON.stringify(await api('GET', '/health'));
    ready = true;
  } catch (e) {
    detail = e.message;
  }
  const metrics = await api('GET', '/metrics').catch(() => '');
  return { instances: [{ name: 'write-svc (front door)', kind: 'write', ready, detail, ms: performance.now() - t0, metrics }] };
}

export function systemPage(main) {
  let prev = null;
  let timer = 0;
  let stopped = false;
  const inst = h('tbody');
  const signals = h('div.tiles#signals', { 'aria-live': 'off' });
  const updated = h('p.muted', { role: 'status' });
  const steps = h('ol.steps#smoke-steps');
  const result = h('p#smoke-result', { role: 'status', 'aria-live': 'polite' });
  const run = h('button.primary.write#run-checks', { type: 'button', text: 'Run checks', onclick: runChecks });
  main.append(h('h1', { text: 'System' }),
    h('section', { 'aria-labelledby': 'g-h' }, h('h2#g-h', { text: 'Golden signals' }), signals, updated),
    h('section', { 'aria-labelledby': 'i-h' }, h('h2#i-h', { text: 'Instances' }),
      h('div.tablewrap', {}, h('table', {}, h('thead', {}, h('tr', {}, ['Instance', 'Ready', 'Answer', 'Time'].map((t) => h('th', { scope: 'col', text: t })))), inst))),
    h('section', { 'aria-labelledby': 'c-h' }, h('h2#c-h', { text: 'Smoke test' }),
      h('p', { text: 'Creates a link, follows it, waits for its click, deactivates it, expects 404, reactivates and deletes it.' }),
      run, steps, result));
  applyWriteAccess(main, access.canWrite);
  renderSteps();

  function renderSteps(states) {
    clear(steps);
    SMOKE_STEPS.forEach((name, i) => {
      const s = (states && states[i]) || { state: 'idle', ms: 0, detail: '' };
      const mark = { idle: '○', run: '…', pass: '✓', fail: '✗', skip: '–' }[s.state];
      steps.append(h(`li.step.${s.state}`, { 'data-state': s.state },
        h('span.mark', { 'aria-hidden': 'true', text: mark }), h('span.name', { text: name }),
        h('span.sr-only', { text: ` ${s.state}` }),
        h('span.ms', { text: s.state === 'pass' || s.state === 'fail' ? `${s.ms.toFixed(0)} ms` : '' }),
        h('span.detail', { text: s.detail })));
    });
  }

  async function runChecks() {
    run.disabled = true;
    result.textContent = 'Running…';
    const states = [];
    const ok = await runSmoke((i, state, ms, detail) => {
      states[i] = { state, ms, detail };
      renderSteps(states);
    });
    result.textContent = ok ? 'All checks passed.' : 'A check failed.';
    result.className = ok ? 'pass' : 'fail';
    run.disabled = !access.canWrite;
  }

  async function tick() {
    let data;
    try {
      data = await scrape();
    } catch (e) {
      updated.textContent = `Cannot read the system state: ${e.message}`;
      schedule();
      return;
    }
    const snap = { t: Date.now(), byKind: {} };
    clear(inst);
    for (const i of data.instances || []) {
      (snap.byKind[i.kind] ||= []).push(...parseMetrics(i.metrics));
      inst.append(h('tr', {},
        h('td', { text: i.name }),
        h('td', {}, h(`span.badge.${i.ready ? 'on' : 'off'}`, { text: i.ready ? 'ready' : 'not ready' })),
        h('td.break', { text: i.detail || '' }),
        h('td.num', { text: i.ms === undefined ? '' : `${Number(i.ms).toFixed(0)} ms` })));
    }
    const g = goldenSignals(prev, snap);
    prev = snap;
    const f = (v, d = 1) => (v === null || v === undefined ? '…' : Number(v).toFixed(d));
    const tile = (k, v) => h('div.tile', {}, h('span.v', { text: v }), h('span.k', { text: k }));
    clear(signals).append(tile('redirects/s', f(g.redirectsPerS)), tile('redirect p99 (ms)', f(g.p99Ms, 2)),
      tile('5xx/s', f(g.errorsPerS, 2)), tile('stream lag', f(g.streamLag, 0)), tile('persisted clicks/s', f(g.persistedPerS)));
    updated.textContent = `Updated ${new Date().toLocaleTimeString()} (every ${REFRESH_MS / 1000} s)`;
    schedule();
  }
  function schedule() {
    if (!stopped) timer = setTimeout(tick, REFRESH_MS);
  }
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
