// tests/ui/dashboard.mjs - drives the dashboard in Debian's chromium (tests/ui/run.sh).
//
//   node tests/ui/dashboard.mjs FRONT_URL open|keys-read
//
// Env: CHROMIUM (the browser), UI_OUT (screenshots: <mode>-<page>-<desktop|phone>.png),
// UI_KEY (keys-read: a read-only API key). Prints "ui: N passed, N failed" and exits 1 on any
// failure. Every wait has a timeout; the whole run is cut off after 100 s.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(join(root, 'ui/package.json'));
const { chromium } = require('playwright-core');

const [front, mode] = process.argv.slice(2);
const out = process.env.UI_OUT || '/tmp';
mkdirSync(out, { recursive: true });
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
let passed = 0;
let failed = 0;
const problems = [];

setTimeout(() => {
  console.error('FAIL the browser test did not finish within 100 s');
  process.exit(1);
}, 100000).unref();

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`ok   ${mode}: ${name} (${Date.now() - t0} ms)${detail ? ` ${detail}` : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${mode}: ${name} (${Date.now() - t0} ms): ${String(e.message || e).split('\n')[0]}`);
  }
}

function curlStatus(url, ...args) {
  return execFileSync('curl', ['-s', '-o', '/dev/null', '-m', '5', '-w', '%{http_code}', ...args, url]).toString();
}

async function apiJson(method, path, body, key) {
  const headers = { 'Content-Type': 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  const r = await fetch(front + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

async function shots(page, name) {
  await page.evaluate(() => document.getElementById('toast').classList.remove('show'));
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(out, `${mode}-${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, `${mode}-${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

// Non-blank pixels of the first chart canvas (Chart.js drew something).
async function chartInk(page, selector) {
  return page.$eval(selector, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
}

async function openMode(page) {
  const tag = Math.random().toString(36).slice(2, 8);
  const alias = `ui-${tag}`;
  const user = await apiJson('POST', '/users', { username: `ui_${tag}`, email: `ui_${tag}@example.com` });
  let id = 0;

  await check('/ is the dashboard: HTML not cached, strict CSP, hashed assets cached a year', async () => {
    const r = await fetch(`${front}/`);
    const html = await r.text();
    if (r.status !== 200 || !r.headers.get('content-type').startsWith('text/html')) throw new Error(`GET / ${r.status}`);
    if (r.headers.get('cache-control') !== 'no-store') throw new Error(`cache-control ${r.headers.get('cache-control')}`);
    if (!/default-src 'self'/.test(r.headers.get('content-security-policy') || '')) throw new Error('no CSP');
    const js = html.match(/\/ui\/app-[A-Z0-9]+\.js/);
    const a = await fetch(front + js[0]);
    if (a.status !== 200 || !/immutable/.test(a.headers.get('cache-control'))) throw new Error(`asset ${a.status}`);
    const miss = await fetch(`${front}/ui/nope.js`);
    if (miss.status !== 404 || !miss.headers.get('content-type').includes('json')) throw new Error('missing asset not JSON 404');
  });

  await check('links page loads and the live feed connects', async () => {
    await page.goto(`${front}/`);
    await page.waitForSelector('h1:text("Links")', { timeout: 5000 });
    await page.waitForSelector('body[data-live="open"]', { timeout: 5000 });
  });

  await check('create a link with every option through the form', async () => {
    await page.fill('#new-url', `https://example.com/ui-test/${tag}`);
    await page.fill('#new-code', alias);
    await page.selectOption('#new-rt', '307');
    await page.fill('#new-exp', '2030-01-01T12:00');
    await page.fill('#new-max', '1000');
    await page.fill('#new-title', `UI test ${tag}`);
    await page.fill('#new-owner', String(user.body.id));
    await page.click('#create-form button[type=submit]');
    const a = await page.waitForSelector('.created a', { timeout: 5000 });
    id = Number((await a.getAttribute('href')).split('/').pop());
    const link = (await apiJson('GET', `/urls/${id}`)).body;
    const want = { short_code: alias, redirect_type: 307, max_clicks: 1000, title: `UI test ${tag}`, user_id: user.body.id };
    for (const [k, v] of Object.entries(want)) if (link[k] !== v) throw new Error(`${k}: ${link[k]} != ${v}`);
    if (!String(link.expires_at).startsWith('2030-01-01')) throw new Error(`expires_at ${link.expires_at}`);
    return `id ${id}`;
  });

  await check('search finds it; its count goes up within a second of a curl', async () => {
    await page.fill('#f-q', alias);
    const cell = `tr[data-id="${id}"] .clicks`;
    await page.waitForSelector(cell, { timeout: 5000 });
    const before = Number(await page.textContent(cell));
    const code = curlStatus(`${front}/${alias}`);
    if (code !== '307') throw new Error(`curl ${code}`);
    const t0 = Date.now();
    await page.waitForFunction(([s, n]) => Number(document.querySelector(s)?.textContent) === n, [cell, before + 1], { timeout: 1000 });
    return `in ${Date.now() - t0} ms`;
  });
  await page.fill('#f-q', '');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-id]').length > 3, null, { timeout: 5000 }).catch(() => {});
  await shots(page, 'links');

  await check('live page shows the click within a second', async () => {
    await page.goto(`${front}/#/live`);
    await page.waitForSelector('#live-state.on', { timeout: 5000 });
    curlStatus(`${front}/${alias}`, '-e', 'https://example.org/from-test');
    const t0 = Date.now();
    await page.waitForSelector(`#live-rows a:text("/${alias}")`, { timeout: 1000 });
    return `in ${Date.now() - t0} ms`;
  });
  await shots(page, 'live');

  await check('link page: fields, QR code and charts drawn', async () => {
    await page.goto(`${front}/#/link/${id}`);
    await page.waitForSelector('#link-clicks', { timeout: 5000 });
    await page.waitForSelector('figure.chart canvas', { timeout: 5000 });
    await page.waitForFunction(() => document.querySelector('.qr img')?.naturalWidth > 0, null, { timeout: 5000 });
    const ink = await chartInk(page, 'figure.chart canvas');
    if (ink < 200) throw new Error(`the clicks chart looks blank (${ink} pixels)`);
    await page.click('button:text("By hour")');
    await page.waitForSelector('figcaption:text("Clicks per hour")', { timeout: 5000 });
    return `${ink} pixels inked`;
  });

  await check('edit the title, then deactivate: the redirect turns 404', async () => {
    await page.fill('#edit-title', `Edited ${tag}`);
    await page.click('#edit-form button[type=submit]');
    await page.waitForSelector(`h1:text("Edited ${tag}")`, { timeout: 5000 });
    await page.click('#toggle');
    await page.waitForSelector('#link-status:text("inactive")', { timeout: 5000 });
    const code = curlStatus(`${front}/${alias}`);
    if (code !== '404') throw new Error(`after deactivate: ${code}`);
    await page.click('#toggle');
    await page.waitForSelector('#link-status:text("active")', { timeout: 5000 });
    const again = curlStatus(`${front}/${alias}`);
    if (again !== '307') throw new Error(`after reactivate: ${again}`);
  });

  // Analytics of the traffic link (tests/ui/run.sh made 24 clicks) for the screenshot.
  const launch = (await apiJson('GET', '/urls')).body.find((u) => u.short_code === 'launch-post');
  if (launch) {
    await page.goto(`${front}/#/link/${launch.id}`);
    await page.waitForSelector('figure.chart canvas', { timeout: 5000 }).catch(() => {});
    await page.waitForTimeout(300);
  }
  await shots(page, 'link');

  await check('system page: every instance ready, smoke checks all green', async () => {
    await page.goto(`${front}/#/system`);
    await page.waitForSelector('#signals .tile', { timeout: 5000 });
    await page.click('#run-checks');
    await page.waitForSelector('#smoke-result.pass, #smoke-result.fail', { timeout: 20000 });
    const states = await page.$$eval('#smoke-steps li', (li) => li.map((l) => `${l.querySelector('.name').textContent}=${l.dataset.state}`));
    if (states.some((s) => !s.endsWith('=pass'))) throw new Error(states.join(' '));
    const ready = await page.$$eval('.badge.on', (b) => b.filter((x) => x.textContent === 'ready').length);
    if (ready < 3) throw new Error(`${ready} instances ready, expected 3`);
    return states.length + ' steps';
  });
  await page.waitForTimeout(3200); // a second scrape, so the rates are filled in
  await shots(page, 'system');

  await check('delete with confirmation', async () => {
    await page.goto(`${front}/#/link/${id}`);
    await page.click('#delete');
    await page.click('#confirm-ok');
    await page.waitForFunction(() => location.hash === '#/links', null, { timeout: 5000 });
    const r = await apiJson('GET', `/urls/${id}`);
    if (r.status !== 404) throw new Error(`GET after delete: ${r.status}`);
  });
}

async function keysReadMode(page) {
  const key = process.env.UI_KEY;
  await check('asks for a key, keeps it in sessionStorage only', async () => {
    await page.goto(`${front}/`);
    await page.waitForSelector('#keydlg[open]', { timeout: 5000 });
    await page.fill('#keyinput', key);
    await page.click('#keyform button[type=submit]');
    await page.waitForSelector('h1:text("Links")', { timeout: 5000 });
    const where = await page.evaluate(() => [sessionStorage.length, localStorage.length]);
    if (where[0] !== 1 || where[1] !== 0) throw new Error(`storage ${where}`);
  });
  await check('read-only: everything visible, write controls disabled', async () => {
    await page.waitForSelector('#access:text("read-only")', { timeout: 5000 });
    if (!(await page.$eval('#create-form fieldset', (f) => f.disabled))) throw new Error('create form enabled');
    await page.waitForSelector('body[data-live="open"]', { timeout: 5000 });
    await page.fill('#f-q', 'launch-post-keys');
    await page.waitForSelector('tr[data-id] .clicks', { timeout: 5000 });
  });
  await shots(page, 'links');
  await check('read-only: link page with charts, no write buttons', async () => {
    await page.click('tr[data-id] a');
    await page.waitForSelector('figure.chart canvas', { timeout: 5000 });
    for (const s of ['#toggle', '#delete', '#edit-form fieldset'])
      if (!(await page.$eval(s, (b) => b.disabled))) throw new Error(`${s} enabled`);
  });
  await shots(page, 'link');
  await check('read-only: live feed and system page (checks disabled)', async () => {
    await page.goto(`${front}/#/live`);
    await page.waitForSelector('#live-state.on', { timeout: 5000 });
    await shots(page, 'live');
    await page.goto(`${front}/#/system`);
    await page.waitForSelector('#signals .tile', { timeout: 5000 });
    if (!(await page.$eval('#run-checks', (b) => b.disabled))) throw new Error('run checks enabled');
  });
  await shots(page, 'system');
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[1349]|status of 41[0]|status of 422/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  if (mode === 'keys-read') await keysReadMode(page);
  else await openMode(page);
  await check('no script errors and no CSP violations', async () => {
    if (problems.length) throw new Error(problems.slice(0, 3).join(' | '));
  });
} finally {
  await browser.close();
}
console.log(`ui (${mode}): ${passed} passed, ${failed} failed; screenshots in ${out}`);
process.exit(failed ? 1 : 0);
