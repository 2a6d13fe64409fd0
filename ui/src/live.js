// live.js - the Live page: clicks across every link as they arrive (GET /events/live).
import { clear, fmtTime, h } from './util.js';

const KEEP = 200;

export function livePage(main, live) {
  const rows = h('tbody#live-rows');
  const count = h('span#live-count', { text: '0' });
  const rate = h('span#live-rate', { text: '0' });
  const state = h('span#live-state.badge', { text: live.state });
  let n = 0;
  const times = [];
  main.append(h('h1', { text: 'Live clicks' }),
    h('p', {}, 'Feed: ', state, ' · clicks seen: ', count, ' · last 10 s: ', rate, '/s'),
    h('div.tablewrap', {}, h('table', {}, h('caption.sr-only', { text: 'Clicks as they arrive, newest first' }),
      h('thead', {}, h('tr', {}, ['Time', 'Link', 'Destination', 'Referrer', 'User agent'].map((t) => h('th', { scope: 'col', text: t })))),
      rows)));
  const empty = h('tr.empty', {}, h('td', { colspan: '5', text: 'Waiting for clicks… open a short link to see it here.' }));
  rows.append(empty);
  const offState = live.onState((s) => {
    state.textContent = s;
    state.className = `badge ${s === 'open' ? 'on' : 'off'}`;
  });
  const off = live.subscribe((c) => {
    empty.remove();
    n++;
    count.textContent = String(n);
    const now = Date.now();
    times.push(now);
    while (times.length && times[0] < now - 10000) times.shift();
    rate.textContent = (times.length / 10).toFixed(1);
    rows.prepend(h('tr.fresh', {},
      h('td', { text: fmtTime(c.ts || now) }),
      h('td', {}, h('a', { href: `#/link/${c.url_id}`, text: `/${c.short_code}` })),
      h('td.dest', { text: c.original_url || '' }),
      h('td', { text: c.referrer || '—' }),
      h('td.dest', { text: c.user_agent || '' })));
    while (rows.children.length > KEEP) rows.lastChild.remove();
  });
  return () => {
    off();
    offState();
    clear(rows);
  };
}
