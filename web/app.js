// The dashboard: status from /api/status, live events over SSE (/api/events), plots of
// /api/samples. Actions POST to the API with the session cookie (from `uplink dashboard`).
'use strict';
const $ = (id) => document.getElementById(id);
const plots = new Map();
let lastStatus;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}

function notice(kind, text) {
  const n = $('notice');
  n.dataset.kind = kind;
  n.textContent = text;
}

async function act(path) {
  let r;
  try {
    r = await fetch(path, { method: 'POST', credentials: 'same-origin' });
  } catch (e) {
    return notice('error', `the daemon did not answer: ${e.message}`);
  }
  const body = await r.json().catch(() => ({}));
  if (r.ok) notice('ok', `${body.result && body.result.message ? body.result.message : 'done'}`);
  else
    notice(
      'error',
      `refused (${r.status}): ${body.error ? body.error.message : r.statusText}${r.status === 401 ? ' — run `uplink dashboard` for a login link' : ''}`,
    );
  refresh();
}

function card(u) {
  const c = el('article', { class: 'card', 'data-state': u.state, 'data-uplink': u.name, id: `uplink-${u.name}` });
  const head = el('h2', {}, `${u.name} `, el('span', { class: 'state' }, u.state));
  if (u.selected) head.append(' ', el('span', { class: 'selected' }, 'selected'));
  c.append(head);
  const dl = el('dl');
  const row = (k, v) => v !== undefined && v !== null && dl.append(el('dt', {}, k), el('dd', {}, String(v)));
  row('since', `${ago(u.since)} (${u.reason})`);
  const av = u.availability;
  if (av) row('uptime', `${av.upPct === undefined ? '—' : `${av.upPct} %`} · up ${span(av.upS)}, down ${span(av.downS)} since the daemon started`);
  row('interface', `${u.interface} (${u.mode}, priority ${u.priority})`);
  row('address', (u.addresses || []).join(', ') || '—');
  row('gateway', u.gateway || '—');
  const p = u.probe || {};
  row('RTT', p.rttMs && p.rttMs.avg !== undefined ? `${p.rttMs.avg} ms ± ${p.rttMs.jitter ?? 0} ms` : '—');
  row('loss', p.lossPct !== undefined ? `${p.lossPct} %` : '—');
  if (u.demand) {
    const d = u.demand;
    row('dialed for', d.lastTrigger ? `${d.lastTrigger.packet} (${d.lastTrigger.rule})` : '—');
    row('kept up by', d.keptUpBy.map((k) => k.flow).join(', ') || '—');
    row('queue', `${d.queue.packets} packets, ${d.queue.bytes} bytes`);
  }
  c.append(dl, el('div', { class: 'plot', id: `plot-${u.name}` }));
  const b = el('div', { class: 'buttons' });
  for (const a of ['up', 'down', 'force', 'block', 'unblock']) {
    const btn = el('button', { 'data-action': a }, a);
    btn.addEventListener('click', () => act(`/api/uplinks/${encodeURIComponent(u.name)}/${a}`));
    b.append(btn);
  }
  c.append(b);
  return c;
}

function render(s) {
  lastStatus = s;
  $('daemon').textContent = `pid ${s.daemon.pid} · ${s.daemon.version}${s.daemon.configDiffers ? ` · config: ${s.daemon.configDiffers}` : ''}`;
  const ap = $('apply');
  if (s.apply) {
    ap.hidden = false;
    ap.replaceChildren(
      el('strong', {}, `Pending apply of ${s.apply.file}: rolls back in ${s.apply.secondsLeft}s `),
      ...['confirm', 'rollback'].map((a) => {
        const btn = el('button', { 'data-action': a }, a);
        btn.addEventListener('click', () => act(`/api/${a}`));
        return btn;
      }),
    );
  } else ap.hidden = true;
  $('uplinks').replaceChildren(...s.uplinks.map(card));
  $('jobs').replaceChildren(
    ...(s.jobs.length ? s.jobs.map((j) => el('div', { class: 'job' }, `${j.name}: ${j.state} (${j.why}), ${j.restarts} restarts`)) : ['none']),
  );
  // The cards (and their plot elements) were just rebuilt: the old charts go with them.
  for (const p of plots.values()) p.destroy();
  plots.clear();
  samples();
}

async function refresh() {
  // The daemon may be restarting: the event stream reconnects and calls again.
  const r = await fetch('/api/status', { credentials: 'same-origin' }).catch(() => undefined);
  if (r && r.ok) render(await r.json().then((b) => b.result));
}

async function samples() {
  const r = await fetch('/api/samples', { credentials: 'same-origin' }).catch(() => undefined);
  if (!r || !r.ok || typeof uPlot === 'undefined') return;
  const v = await r.json();
  for (const [name, rows] of Object.entries(v.uplinks)) {
    const at = document.getElementById(`plot-${name}`);
    if (!at) continue;
    if (rows.length < 2) {
      at.replaceChildren(el('p', { class: 'hint' }, 'RTT, deviation and loss plots: collecting (a sample every 5 s)'));
      continue;
    }
    const data = [rows.map((x) => x.t), rows.map((x) => x.rttMs), rows.map((x) => x.jitterMs), rows.map((x) => x.lossPct)];
    plots.get(name)?.destroy();
    at.replaceChildren();
    plots.set(
      name,
      new uPlot(
        {
          width: Math.min(at.clientWidth || 300, 480),
          height: 120,
          legend: { live: false },
          series: [{}, { label: 'RTT ms', stroke: '#1565c0' }, { label: 'dev ms', stroke: '#6a1b9a' }, { label: 'loss %', stroke: '#c62828', scale: '%' }],
          axes: [{}, {}, { scale: '%', side: 1 }],
        },
        data,
        at,
      ),
    );
  }
}

// 3725 → "1h 2m"; 42 → "42s".
function span(x) {
  if (x < 60) return `${Math.round(x * 10) / 10}s`;
  const sec = Math.floor(x);
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const parts = d ? [`${d}d`, `${h}h`] : h ? [`${h}h`, `${m}m`] : m ? [`${m}m`, `${sec % 60}s`] : [`${sec}s`];
  return parts.join(' ');
}

function ago(iso) {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return `${span(s)} ago, ${clock(iso).slice(0, 8)}`;
}

// Local time with milliseconds, as the cards' `since` (toLocaleString) is local too.
function clock(iso) {
  const d = new Date(iso);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function what(e) {
  if (e.type === 'reconcile') {
    const n = (e.commands || []).length;
    return `${n} command${n === 1 ? '' : 's'}${e.deferred ? `, ${e.deferred} deferred` : ''}${e.error ? `, error: ${e.error}` : ''}`;
  }
  return e.message || e.reason || e.summary || '';
}

// Kernel deltas and reconcile runs are many and long: shown only when asked for.
const NOISY = new Set(['kernel', 'reconcile']);

function timeline(e) {
  const li = el('li', { 'data-type': e.type, ...(NOISY.has(e.type) ? { class: 'noisy' } : {}) }, `${clock(e.time)} ${e.type} ${e.name || e.uplink || ''} ${what(e)}${e.state ? ` → ${e.state}` : ''}${e.selected ? ` selected ${e.selected}` : ''}`);
  const t = $('timeline');
  t.prepend(li);
  while (t.children.length > 300) t.lastChild.remove();
}

let pending;
let lastId = '';
function live() {
  // Resumes after the history just read; a reconnect sends Last-Event-ID itself.
  const es = new EventSource(`/api/events${lastId ? `?lastEventId=${encodeURIComponent(lastId)}` : ''}`);
  es.onopen = () => ($('conn').textContent = 'live');
  es.onerror = () => ($('conn').textContent = 'reconnecting…');
  es.onmessage = (m) => {
    const e = JSON.parse(m.data);
    timeline(e);
    if (e.type !== 'kernel') {
      clearTimeout(pending);
      pending = setTimeout(refresh, 150);
    }
  };
}

$('noisy').addEventListener('change', (ev) => document.body.classList.toggle('show-noisy', ev.target.checked));

(async () => {
  const r = await fetch('/api/history', { credentials: 'same-origin' });
  if (r.ok)
    for (const e of await r.json()) {
      timeline(e);
      lastId = e.id;
    }
  await refresh();
  live();
  setInterval(samples, 5000);
})();
