// GET /audit/ui: a self-contained page (no build step, no external assets) where an auditor
// pastes an audit token (scope warrant:audit) and a token id, and sees the family's life drawn
// as a timeline. The page holds no data: it calls /audit/tokens/{id} with the pasted token.

import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { RequestState } from './request-id.js';

const STYLE = `
:root { --ink: #1d2433; --muted: #5b6475; --line: #c9cfdb; --active: #1f8a4c; --refreshed: #2563eb; --revoked: #d62828; --expired: #8a8f98; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f7f8fb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
p.lead { margin: 0 0 20px; color: var(--muted); }
form { display: grid; grid-template-columns: 1fr 1fr auto; gap: 12px; align-items: end; background: #fff; padding: 16px; border: 1px solid var(--line); border-radius: 8px; }
label { display: grid; gap: 4px; font-weight: 600; font-size: 13px; }
input { font: inherit; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; font-weight: 600; padding: 9px 18px; border: 0; border-radius: 6px; background: var(--ink); color: #fff; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid #93c5fd; outline-offset: 1px; }
#status { margin: 16px 0; color: var(--muted); min-height: 1.4em; }
#status.error { color: var(--revoked); font-weight: 600; }
#summary { margin: 0 0 12px; }
#timeline { background: #fff; border: 1px solid var(--line); border-radius: 8px; overflow-x: auto; }
.legend { display: flex; gap: 16px; margin-top: 10px; color: var(--muted); font-size: 13px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; background: var(--c); }
table { border-collapse: collapse; width: 100%; margin-top: 16px; background: #fff; font-size: 13px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); }
`;

// Runs in the browser. Drawn with SVG built from text nodes only (no innerHTML of data).
const SCRIPT = `
const colors = { active: '#1f8a4c', refreshed: '#2563eb', revoked: '#d62828', expired: '#8a8f98' };
const form = document.getElementById('lookup');
const status = document.getElementById('status');
const svgNS = 'http://www.w3.org/2000/svg';
function el(name, attrs, text) {
  const node = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}
function say(text, isError) { status.textContent = text; status.className = isError ? 'error' : ''; }
function draw(history) {
  const events = history.events;
  const width = Math.max(640, 180 * events.length + 80), height = 190, y = 80;
  const svg = el('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'Timeline of token family ' + history.family_id });
  svg.appendChild(el('line', { x1: 40, y1: y, x2: width - 40, y2: y, stroke: '#c9cfdb', 'stroke-width': 4 }));
  events.forEach((event, i) => {
    const x = 80 + i * 180;
    const color = colors[event.state.status] || '#5b6475';
    const group = el('g', { class: 'event', 'data-type': event.type, 'data-status': event.state.status });
    group.appendChild(el('circle', { cx: x, cy: y, r: 18, fill: color }));
    group.appendChild(el('text', { x, y: y - 32, 'text-anchor': 'middle', 'font-weight': 700, 'font-size': 14, fill: '#1d2433' }, event.type.replace('Token', '')));
    group.appendChild(el('text', { x, y: y + 42, 'text-anchor': 'middle', 'font-size': 12, fill: '#1d2433' }, new Date(event.occurred_at).toISOString().replace('T', ' ').slice(0, 19) + 'Z'));
    const actor = event.actor.length > 24 ? event.actor.slice(0, 10) + '…' + event.actor.slice(-6) : event.actor;
    group.appendChild(el('title', {}, event.type + ' by ' + event.actor + ' at ' + event.occurred_at));
    group.appendChild(el('text', { x, y: y + 60, 'text-anchor': 'middle', 'font-size': 12, fill: '#5b6475' }, 'by ' + actor));
    group.appendChild(el('text', { x, y: y + 78, 'text-anchor': 'middle', 'font-size': 12, fill: color }, event.state.status));
    svg.appendChild(group);
  });
  const box = document.getElementById('timeline');
  box.replaceChildren(svg);
  document.getElementById('summary').textContent = 'Family ' + history.family_id + ' · client ' + history.client_id + ' · subject ' + history.subject + ' · ' + history.grant_type + ' · now ' + history.state.status;
  const rows = document.getElementById('rows');
  rows.replaceChildren(...events.map((event) => {
    const tr = document.createElement('tr');
    for (const value of [event.revision, event.occurred_at, event.type, event.actor, event.state.status, event.state.current_jti || '', event.state.scopes.join(' ')]) {
      const td = document.createElement('td'); td.textContent = String(value); tr.appendChild(td);
    }
    return tr;
  }));
  document.getElementById('details').hidden = false;
}
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = document.getElementById('token').value.trim();
  const id = document.getElementById('id').value.trim();
  if (!token || !id) return say('Paste an audit token and a token id.', true);
  say('Loading…');
  try {
    const res = await fetch('/audit/tokens/' + encodeURIComponent(id), { headers: { authorization: 'Bearer ' + token } });
    const body = await res.json();
    if (!res.ok) return say((body.error_description || body.error || ('HTTP ' + res.status)), true);
    draw(body);
    say(body.events.length + ' events.');
  } catch (err) {
    say('Could not load the history: ' + err.message, true);
  }
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warrant · token timeline</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>Token timeline</h1>
  <p class="lead">Replayed from the event store. Paste an access token with scope <code>warrant:audit</code> and the id of a token (its <code>jti</code>) or of its family.</p>
  <form id="lookup">
    <label for="token">Audit token <input id="token" name="token" type="password" autocomplete="off" required></label>
    <label for="id">Token id or family id <input id="id" name="id" required></label>
    <button type="submit">Show timeline</button>
  </form>
  <div id="status" role="status" aria-live="polite"></div>
  <p id="summary"></p>
  <div id="timeline" aria-label="timeline"></div>
  <div class="legend" aria-hidden="true"><span style="--c: var(--active)">active</span><span style="--c: var(--refreshed)">refreshed</span><span style="--c: var(--revoked)">revoked</span><span style="--c: var(--expired)">expired</span></div>
  <section id="details" hidden>
    <table><thead><tr><th>#</th><th>occurred at</th><th>event</th><th>actor</th><th>status</th><th>access token (jti)</th><th>scopes</th></tr></thead><tbody id="rows"></tbody></table>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
// Only this page's own script and style may run; it may talk only to this server.
const CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)} 'unsafe-hashes' ${hash('--c: var(--active)')} ${hash('--c: var(--refreshed)')} ${hash('--c: var(--revoked)')} ${hash('--c: var(--expired)')}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

export function auditUi(router: Router<RequestState>): void {
  router.get('/audit/ui', (ctx) => {
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Content-Security-Policy', CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = PAGE;
  });
}
