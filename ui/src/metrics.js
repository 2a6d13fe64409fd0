// metrics.js - Prometheus text parsing and the golden signals computed from two scrapes.

// [{name, labels: {k: v}, value}] from a Prometheus text body.
export function parseMetrics(text) {
  const out = [];
  for (const line of String(text || '').split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export function sum(samples, name, pred) {
  let s = 0;
  for (const x of samples) if (x.name === name && (!pred || pred(x.labels))) s += x.value;
  return s;
}

// The q-quantile of a cumulative histogram {le: count} (linear within the bucket).
export function quantile(buckets, q) {
  const les = Object.keys(buckets).filter((k) => k !== '+Inf').map(Number).sort((a, b) => a - b);
  const total = buckets['+Inf'] ?? (les.length ? buckets[String(les[les.length - 1])] : 0);
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevC = 0;
  for (const le of les) {
    const c = bucketAt(buckets, le);
    if (c >= rank) return prevLe + ((le - prevLe) * (rank - prevC)) / Math.max(c - prevC, 1);
    prevLe = le;
    prevC = c;
  }
  return prevLe;
}
function bucketAt(b, le) {
  for (const [k, v] of Object.entries(b)) if (k !== '+Inf' && Number(k) === le) return v;
  return 0;
}

export function histogram(samples, name, pred) {
  const b = {};
  for (const x of samples) {
    if (x.name !== `${name}_bucket` || (pred && !pred(x.labels))) continue;
    b[x.labels.le] = (b[x.labels.le] || 0) + x.value;
  }
  return b;
}

// The golden signals between two snapshots {t (ms), byKind: {redirect: samples[], ...}}.
export function goldenSignals(prev, cur) {
  const dt = prev ? (cur.t - prev.t) / 1000 : 0;
  const all = (snap) => Object.values(snap.byKind).flat();
  const rate = (fn) => (prev && dt > 0 ? Math.max(0, (fn(cur) - fn(prev)) / dt) : null);
  const redirects = (s) => sum(s.byKind.redirect || [], 'shortener_http_requests_total', (l) => l.route !== '/health' && l.route !== '/metrics' && l.route !== 'unmatched');
  const errors = (s) => sum(all(s), 'shortener_http_requests_total', (l) => /^5/.test(l.status || ''));
  const persisted = (s) => sum(s.byKind.worker || [], 'shortener_events_persisted_total');
  const isRedirect = (l) => l.route !== '/health' && l.route !== '/metrics';
  let p99 = null;
  const hc = histogram(cur.byKind.redirect || [], 'shortener_http_request_duration_seconds', isRedirect);
  if (prev) {
    const hp = histogram(prev.byKind.redirect || [], 'shortener_http_request_duration_seconds', isRedirect);
    const d = {};
    for (const k of Object.keys(hc)) d[k] = hc[k] - (hp[k] || 0);
    p99 = quantile(d, 0.99);
  }
  if (p99 === null) p99 = quantile(hc, 0.99);
  return {
    redirectsPerS: rate(redirects),
    p99Ms: p99 === null ? null : p99 * 1000,
    errorsPerS: rate(errors),
    streamLag: sum(cur.byKind.worker || [], 'shortener_stream_lag'),
    persistedPerS: rate(persisted),
  };
}
