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

async function act(path) {
  const r = await fetch(path, { method: 'POST', credentials: 'same-origin' });
  const body = await r.json().catch(() => ({}));
  $('notice').textContent = r.ok
    ? `${body.result && body.result.message ? body.result.message : 'done'}`
    : `refused (${r.status}): ${body.error ? body.error.message : r.statusText}${r.status === 401 ? ' — run `uplink dashboard` for a login link' : ''}`;
  refresh();
}

function card(u) {
  const c = el('article', { class: 'card', 'data-state': u.state, 'data-uplink': u.name, id: `uplink-${u.name}` });
  const head = el('h2', {}, `${u.name} `, el('span', { class: 'state' }, u.state));
  if (u.selected) head.append(' ', el('span', { class: 'selected' }, 'selected'));
  c.append(head);
  const dl = el('dl');
  const row = (k, v) => v !== undefined && v !== null && dl.append(el('dt', {}, k), el('dd', {}, String(v)));
  row('since', `${new Date(u.since).toLocaleString()} (${u.reason})`);
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
  plots.clear();
  samples();
}

async function refresh() {
  const r = await fetch('/api/status', { credentials: 'same-origin' });
  if (r.ok) render(await r.json().then((b) => b.result));
}

async function samples() {
  const r = await fetch('/api/samples', { credentials: 'same-origin' });
  if (!r.ok || typeof uPlot === 'undefined') return;
  const v = await r.json();
  for (const [name, rows] of Object.entries(v.uplinks)) {
    const at = document.getElementById(`plot-${name}`);
    if (!at || rows.length < 2) continue;
    const data = [rows.map((x) => x.t), rows.map((x) => x.rttMs), rows.map((x) => x.jitterMs), rows.map((x) => x.lossPct)];
    at.replaceChildren();
    plots.set(
      name,
      new uPlot(
        {
          width: Math.min(at.clientWidth || 300, 480),
          height: 120,
          series: [{}, { label: 'RTT ms', stroke: '#1565c0' }, { label: 'dev ms', stroke: '#6a1b9a' }, { label: 'loss %', stroke: '#c62828', scale: '%' }],
          axes: [{}, {}, { scale: '%', side: 1 }],
        },
        data,
        at,
      ),
    );
  }
}

function timeline(e) {
  const li = el('li', { 'data-type': e.type }, `${e.time.slice(11, 23)} ${e.type} ${e.name || e.uplink || ''} ${e.message || e.reason || e.summary || ''}${e.state ? ` → ${e.state}` : ''}${e.selected ? ` selected ${e.selected}` : ''}`);
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

(async () => {
  const r = await fetch('/api/history', { credentials: 'same-origin' });
  if (r.ok)
    for (const e of await r.json()) {
      timeline(e);
      lastId = e.id;
    }
  await refresh();
  live();
  setInterval(samples, 10000);
})();
