// links.js - the Links page: create a link with every option, the table of links.
import { access, api } from './api.js';
import { linkBody, linkFields } from './linkform.js';
import { applyWriteAccess, clear, copyText, fmtTime, h, shortUrl, showErrors, toast } from './util.js';

const PER_PAGE = 20;

export function linksPage(main, live) {
  const state = { page: 1, q: '', active: '', owner: '', rows: [], more: false };
  const created = h('div.created', { role: 'status', 'aria-live': 'polite' });
  const form = h('form#create-form', { novalidate: false },
    h('fieldset.write', {}, h('legend', { text: 'New short link' }), h('div.grid', {}, linkFields('new')),
      h('div.row', {}, h('button.primary', { type: 'submit', text: 'Create link' }))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const link = await api('POST', '/urls', linkBody(form));
      showErrors(form, {});
      form.reset();
      clear(created).append('Created ', h('a', { href: `#/link/${link.id}`, text: shortUrl(link.short_code) }), ' ',
        h('button', { type: 'button', text: 'Copy', 'aria-label': `Copy ${shortUrl(link.short_code)}`, onclick: () => copyText(shortUrl(link.short_code)) }));
      toast('Link created');
      load();
    } catch (e) {
      toast(showErrors(form, e), 'error');
    }
  });

  const search = h('input#f-q', { type: 'search', placeholder: 'code, URL or title', 'aria-label': 'Search links' });
  const active = h('select#f-active', { 'aria-label': 'Active' },
    h('option', { value: '', text: 'All' }), h('option', { value: 'true', text: 'Active' }), h('option', { value: 'false', text: 'Inactive' }));
  const owner = h('input#f-owner', { type: 'number', min: '1', placeholder: 'user id', 'aria-label': 'Owner (user id)', inputmode: 'numeric' });
  let timer = 0;
  const refilter = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      Object.assign(state, { q: search.value.trim().toLowerCase(), active: active.value, owner: owner.value.trim(), page: 1 });
      load();
    }, 200);
  };
  search.addEventListener('input', refilter);
  active.addEventListener('change', refilter);
  owner.addEventListener('input', refilter);

  const tbody = h('tbody');
  const status = h('p.muted#links-status', { role: 'status' });
  const prev = h('button', { type: 'button', text: '← Previous', onclick: () => { state.page--; load(); } });
  const next = h('button', { type: 'button', text: 'Next →', onclick: () => { state.page++; load(); } });
  const pageLabel = h('span.page');

  main.append(
    h('h1', { text: 'Links' }),
    form, created,
    h('section', { 'aria-labelledby': 'tbl-h' },
      h('h2#tbl-h', { text: 'All links' }),
      h('div.filters', {}, h('label', { for: 'f-q', text: 'Search' }), search, h('label', { for: 'f-active', text: 'Status' }), active,
        h('label', { for: 'f-owner', text: 'Owner' }), owner),
      h('div.tablewrap', {}, h('table.links', {},
        h('caption.sr-only', { text: 'Links, with live click counts' }),
        h('thead', {}, h('tr', {}, ['Short link', 'Destination', 'Title', 'Owner', 'Status', 'Clicks', 'Created', ''].map((t) => h('th', { scope: 'col', text: t })))),
        tbody)),
      h('div.pager', {}, prev, pageLabel, next), status));
  applyWriteAccess(main, access.canWrite);

  async function load() {
    const qs = new URLSearchParams();
    if (state.active) qs.set('is_active', state.active);
    if (state.owner) qs.set('user_id', state.owner);
    let rows;
    try {
      if (state.q) {
        // The API has no text search: fetch every row of the filters and match here.
        const all = await api('GET', `/urls?${qs}`);
        const hit = all.filter((u) => [u.short_code, u.original_url, u.title || ''].some((s) => s.toLowerCase().includes(state.q)));
        rows = hit.slice((state.page - 1) * PER_PAGE, state.page * PER_PAGE + 1);
      } else {
        qs.set('page', String(state.page));
        qs.set('per_page', String(PER_PAGE + 1));
        rows = await api('GET', `/urls?${qs}`);
      }
    } catch (e) {
      status.textContent = `Cannot load links: ${e.message}`;
      return;
    }
    state.more = rows.length > PER_PAGE;
    state.rows = rows.slice(0, PER_PAGE);
    render();
  }

  function render() {
    clear(tbody);
    for (const u of state.rows) {
      const url = shortUrl(u.short_code);
      tbody.append(h('tr', { 'data-id': String(u.id) },
        h('td', {}, h('a', { href: `#/link/${u.id}`, text: `/${u.short_code}` })),
        h('td.dest', {}, h('span', { title: u.original_url, text: u.original_url })),
        h('td', { text: u.title || '' }),
        h('td', { text: u.user_id ?? '—' }),
        h('td', {}, h(`span.badge.${u.is_active ? 'on' : 'off'}`, { text: u.is_active ? 'active' : 'inactive' })),
        h('td.num.clicks', { text: String(u.clicks ?? 0) }),
        h('td', { text: fmtTime(u.created_at) }),
        h('td', {}, h('button.small', { type: 'button', text: 'Copy', 'aria-label': `Copy ${url}`, onclick: () => copyText(url) }))));
    }
    if (!state.rows.length) tbody.append(h('tr', {}, h('td', { colspan: '8', text: 'No links match.' })));
    prev.disabled = state.page <= 1;
    next.disabled = !state.more;
    pageLabel.textContent = `Page ${state.page}`;
    status.textContent = `${state.rows.length} link(s) shown`;
  }

  const off = live.subscribe((click) => {
    const cell = tbody.querySelector(`tr[data-id="${click.url_id}"] .clicks`);
    if (!cell) return;
    cell.textContent = String(Number(cell.textContent) + 1);
    cell.classList.remove('flash');
    void cell.offsetWidth;
    cell.classList.add('flash');
  });
  load();
  return off;
}
