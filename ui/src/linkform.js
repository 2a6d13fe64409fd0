// linkform.js - the fields of a link (PRODUCT.md §1) and their conversion to a request body.
import { apiToLocalInput, field, h, localInputToApi } from './util.js';

// The controls, filled from `link` when given (the edit form).
export function linkFields(prefix, link) {
  const v = link || {};
  const sel = h('select', { name: 'redirect_type' },
    [301, 302, 307, 308].map((c) => h('option', { value: String(c), selected: (v.redirect_type || 302) === c ? 'selected' : false, text: String(c) })));
  return [
    field(`${prefix}-url`, 'Destination URL', h('input', { name: 'original_url', type: 'url', required: true, placeholder: 'https://example.com/page', value: v.original_url || '', autocomplete: 'url' })),
    field(`${prefix}-code`, 'Custom alias', h('input', { name: 'short_code', type: 'text', pattern: '[A-Za-z0-9][A-Za-z0-9_\\-]{2,63}', value: v.short_code || '', autocomplete: 'off' }), link ? 'Changing it moves the link' : 'Optional; 3-64 letters, digits, _ or -'),
    field(`${prefix}-rt`, 'Redirect type', sel),
    field(`${prefix}-exp`, 'Expires', h('input', { name: 'expires_at', type: 'datetime-local', value: apiToLocalInput(v.expires_at) }), 'Optional; your local time'),
    field(`${prefix}-max`, 'Click cap', h('input', { name: 'max_clicks', type: 'number', min: '1', step: '1', inputmode: 'numeric', value: v.max_clicks ?? '' }), 'Optional'),
    field(`${prefix}-title`, 'Title', h('input', { name: 'title', type: 'text', maxlength: '255', value: v.title || '' })),
    field(`${prefix}-owner`, 'Owner (user id)', h('input', { name: 'user_id', type: 'number', min: '1', step: '1', inputmode: 'numeric', value: v.user_id ?? '', readonly: !!link }), link ? 'The owner does not change' : 'Optional'),
  ];
}

// The request body: on create, empty fields are left out; on edit (`link` given), every
// field is sent, with null to clear an option.
export function linkBody(form, link) {
  const f = new FormData(form);
  const s = (k) => String(f.get(k) || '').trim();
  const body = { original_url: s('original_url') };
  const code = s('short_code');
  if (code && (!link || code !== link.short_code)) body.short_code = code;
  body.redirect_type = Number(s('redirect_type') || 302);
  const exp = localInputToApi(s('expires_at'));
  const max = s('max_clicks');
  const title = s('title');
  if (link) {
    body.expires_at = exp;
    body.max_clicks = max ? Number(max) : null;
    body.title = title || null;
  } else {
    if (exp) body.expires_at = exp;
    if (max) body.max_clicks = Number(max);
    if (title) body.title = title;
    const owner = s('user_id');
    if (owner) body.user_id = Number(owner);
  }
  return body;
}
