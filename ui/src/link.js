// link.js - one link: its fields, edit, (de)activate, delete, QR code, analytics charts.
import { access, api, apiDataUrl } from './api.js';
import { barChart, doughnutChart, seriesChart } from './charts.js';
import { linkBody, linkFields } from './linkform.js';
import { applyWriteAccess, clear, copyText, fmtTime, h, shortUrl, showErrors, toast } from './util.js';

export function linkPage(main, live, id) {
  let link = null;
  let charts = [];
  let interval = 'day';
  const head = h('div');
  const info = h('dl.fields');
  const actions = h('div.row.actions');
  const form = h('form#edit-form');
  const qr = h('div.qr');
  const stats = h('div.stats');
  const tiles = h('div.tiles', { role: 'status', 'aria-live': 'polite' });
  const dayBtn = h('button', { type: 'button', text: 'By day', 'aria-pressed': 'true', onclick: () => setInterval_('day') });
  const hourBtn = h('button', { type: 'button', text: 'By hour', 'aria-pressed': 'false', onclick: () => setInterval_('hour') });
  main.append(head,
    h('div.cols', {},
      h('section', { 'aria-labelledby': 'f-h' }, h('h2#f-h', { text: 'Link' }), info, actions),
      h('section', { 'aria-labelledby': 'qr-h' }, h('h2#qr-h', { text: 'QR code' }), qr)),
    h('section', { 'aria-labelledby': 'e-h' }, h('h2#e-h', { text: 'Edit' }), form),
    h('section', { 'aria-labelledby': 's-h' }, h('h2#s-h', { text: 'Analytics' }),
      h('div.row', { role: 'group', 'aria-label': 'Clicks over time by' }, dayBtn, hourBtn), tiles, stats));

  function setInterval_(iv) {
    interval = iv;
    dayBtn.setAttribute('aria-pressed', String(iv === 'day'));
    hourBtn.setAttribute('aria-pressed', String(iv === 'hour'));
    loadStats();
  }

  async function load() {
    try {
      link = await api('GET', `/urls/${id}`);
    } catch (e) {
      clear(main).append(h('h1', { text: 'Link not found' }), h('p', {}, h('a', { href: '#/links', text: 'Back to links' })));
      return;
    }
    renderInfo();
    renderForm();
    loadQr();
    loadStats();
  }

  function renderInfo() {
    const url = shortUrl(link.short_code);
    clear(head).append(h('p', {}, h('a', { href: '#/links', text: '← Links' })), h('h1', { text: link.title || `/${link.short_code}` }));
    const row = (k, v) => [h('dt', { text: k }), h('dd', {}, v)];
    clear(info).append(...[
      row('Short URL', [h('a', { href: url, text: url, rel: 'noopener' }), ' ', h('button.small', { type: 'button', text: 'Copy', 'aria-label': `Copy ${url}`, onclick: () => copyText(url) })]),
      row('Destination', h('span.break', { text: link.original_url })),
      row('Status', h(`span.badge.${link.is_active ? 'on' : 'off'}#link-status`, { text: link.is_active ? 'active' : 'inactive' })),
      row('Clicks', h('span#link-clicks', { text: String(link.clicks ?? 0) })),
      row('Redirect', String(link.redirect_type)),
      row('Expires', fmtTime(link.expires_at)),
      row('Click cap', link.max_clicks ?? '—'),
      row('Owner', link.user_id ?? '—'),
      row('Created', fmtTime(link.created_at)),
      row('Updated', fmtTime(link.updated_at))].flat());
    clear(actions).append(
      h('button.write#toggle', { type: 'button', text: link.is_active ? 'Deactivate' : 'Reactivate', onclick: toggle }),
      h('button.write.danger#delete', { type: 'button', text: 'Delete…', onclick: remove }));
    applyWriteAccess(actions, access.canWrite);
  }

  function renderForm() {
    clear(form).append(h('fieldset.write', {}, h('legend.sr-only', { text: 'Edit link' }), h('div.grid', {}, linkFields('edit', link)),
      h('div.row', {}, h('button.primary', { type: 'submit', text: 'Save changes' }))));
    applyWriteAccess(form, access.canWrite);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      link = await api('PATCH', `/urls/${id}`, linkBody(form, link));
      toast('Saved');
      renderInfo();
      renderForm();
      loadQr();
    } catch (e) {
      toast(showErrors(form, e), 'error');
    }
  });

  async function toggle() {
    try {
      link = await api('PATCH', `/urls/${id}`, { is_active: !link.is_active });
      toast(link.is_active ? 'Reactivated' : 'Deactivated');
      renderInfo();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function remove() {
    const dlg = document.getElementById('confirmdlg');
    document.getElementById('confirm-text').textContent = `Delete /${link.short_code}? It will answer 404 at once; this cannot be undone.`;
    dlg.returnValue = '';
    dlg.showModal();
    dlg.addEventListener('close', async () => {
      if (dlg.returnValue !== 'ok') return;
      try {
        await api('DELETE', `/urls/${id}`);
        toast('Deleted');
        location.hash = '#/links';
      } catch (e) {
        toast(e.message, 'error');
      }
    }, { once: true });
  }

  async function loadQr() {
    clear(qr);
    try {
      const [svg, png] = await Promise.all([apiDataUrl(`/urls/${id}/qr?format=svg`), apiDataUrl(`/urls/${id}/qr?format=png&size=512`)]);
      qr.append(h('img', { src: svg, alt: `QR code of ${shortUrl(link.short_code)}`, width: '200', height: '200' }),
        h('div.row', {}, h('a.button', { href: png, download: `${link.short_code}.png`, text: 'Download PNG' }),
          h('a.button', { href: svg, download: `${link.short_code}.svg`, text: 'Download SVG' })));
    } catch (e) {
      qr.append(h('p.error', { text: `No QR code: ${e.message}` }));
    }
  }

  async function loadStats() {
    // The API's default ranges: the last 30 days by day, the last 24 hours by hour.
    const qs = new URLSearchParams({ interval });
    let s;
    try {
      s = await api('GET', `/urls/${id}/stats?${qs}`);
    } catch (e) {
      clear(stats).append(h('p.error', { text: `No analytics: ${e.message}` }));
      return;
    }
    for (const c of charts) c.destroy();
    charts = [];
    const tile = (k, v) => h('div.tile', {}, h('span.v', { text: String(v ?? 0) }), h('span.k', { text: k }));
    clear(tiles).append(tile('clicks', s.total_clicks), tile('unique visitors', s.unique_visitors),
      tile('humans', s.human_clicks), tile('bots', s.bot_clicks), tile('last visit', fmtTime(s.last_visited)));
    clear(stats);
    const box = (title, cls) => {
      const canvas = h('canvas', { role: 'img', 'aria-label': title });
      stats.append(h(`figure.chart${cls || ''}`, {}, h('figcaption', { text: title }), h('div.canvasbox', {}, canvas)));
      return canvas;
    };
    charts.push(seriesChart(box(`Clicks per ${interval}`, '.wide'), s.series || [], interval));
    charts.push(doughnutChart(box('Humans and bots'), [{ name: 'humans', clicks: s.human_clicks || 0 }, { name: 'bots', clicks: s.bot_clicks || 0 }]));
    for (const [k, title] of [['referrers', 'Referrers'], ['browsers', 'Browsers'], ['os', 'Operating systems'], ['devices', 'Devices'], ['countries', 'Countries']]) {
      const items = s[k] || [];
      if (items.length) charts.push(barChart(box(title), items, title));
      else stats.append(h('figure.chart.empty', {}, h('figcaption', { text: title }), h('p.muted', { text: 'No data yet' })));
    }
  }

  let statsTimer = 0;
  const off = live.subscribe((click) => {
    if (!link || String(click.url_id) !== String(id)) return;
    link.clicks = (link.clicks || 0) + 1;
    const el = document.getElementById('link-clicks');
    if (el) el.textContent = String(link.clicks);
    clearTimeout(statsTimer);
    statsTimer = setTimeout(loadStats, 1500); // the worker persists within about a second
  });
  load();
  return () => {
    off();
    clearTimeout(statsTimer);
    for (const c of charts) c.destroy();
  };
}
