// GET /audit/ui: a self-contained page (no build step, no external assets) where an auditor pastes
// an audit token (scope warrant:audit) and looks up a token family, a user or a client; a family's
// life is drawn as a timeline. The page holds no data: it calls the /audit API with the token.

import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import type { RequestState } from './request-id.js';

const STYLE = `
:root { --ink: #1d2433; --muted: #5b6475; --line: #c9cfdb; --active: #1f8a4c; --refreshed: #2563eb; --revoked: #d62828; --expired: #8a8f98; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f7f8fb; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; overflow-wrap: break-word; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 24px 0 8px; }
p.lead { margin: 0 0 20px; color: var(--muted); }
form { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; background: #fff; padding: 16px; border: 1px solid var(--line); border-radius: 8px; }
label { display: grid; gap: 4px; flex: 1 1 180px; min-width: 0; font-weight: 600; font-size: 13px; }
label.wide { flex: 2 1 240px; }
input, select { width: 100%; height: 38px; font: inherit; font-size: 15px; font-weight: 400; color: inherit; background: #fff; padding: 0 10px; border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; font-weight: 600; padding: 9px 18px; border: 0; border-radius: 6px; background: var(--ink); color: #fff; cursor: pointer; }
button.secondary { margin-top: 12px; background: #fff; color: var(--ink); border: 1px solid var(--ink); }
button.link { padding: 0; background: none; color: var(--refreshed); text-decoration: underline; text-align: left; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
button:focus-visible, input:focus-visible, select:focus-visible, h2:focus-visible { outline: 3px solid #93c5fd; outline-offset: 1px; }
code { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.name { display: block; font-weight: 600; }
.name + code { color: var(--muted); }
#status { margin: 16px 0; color: var(--muted); min-height: 1.4em; }
#status.error { color: var(--revoked); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 6px 16px; margin: 0 0 12px; padding: 12px 16px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
dt { color: var(--muted); font-size: 13px; }
dd { margin: 0; min-width: 0; }
.note { display: block; color: var(--muted); }
.reason { color: var(--revoked); font-weight: 600; }
#timeline { background: #fff; border: 1px solid var(--line); border-radius: 8px; overflow-x: auto; }
#timeline svg { display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 10px; color: var(--muted); font-size: 13px; }
.dot { white-space: nowrap; }
.dot::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 6px; background: var(--muted); }
.dot.active::before { background: var(--active); }
.dot.refreshed::before { background: var(--refreshed); }
.dot.revoked::before { background: var(--revoked); }
.dot.expired::before { background: var(--expired); }
.scroll { overflow-x: auto; margin-top: 16px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
`;

// Runs in the browser. Everything from the API is inserted as text nodes (no innerHTML of data).
const SCRIPT = `
const colors = { active: '#1f8a4c', refreshed: '#2563eb', revoked: '#d62828', expired: '#8a8f98' };
const labels = { token: 'Token id or family id', user: 'Username or subject id', client: 'Client id' };
const $ = (id) => document.getElementById(id);
const status = $('status');
const svgNS = 'http://www.w3.org/2000/svg';
let more = null; // the next page of the family list on show: { view, path, next }

function svg(name, attrs, text) {
  const node = document.createElementNS(svgNS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}
function html(name, className, text) {
  const node = document.createElement(name);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function say(text, isError) { status.textContent = text; status.className = isError ? 'error' : ''; }
function time(iso) { return new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + 'Z'; }
function short(text, max) { return text.length > max ? text.slice(0, max - 8) + '…' + text.slice(-7) : text; }
// A name above its id; the id alone when there is no name.
function named(name, id) {
  const span = html('span', 'named');
  if (name) span.appendChild(html('span', 'name', name));
  span.appendChild(html('code', '', id));
  return span;
}
function dot(state) { return html('span', 'dot ' + state, state); }
function facts(pairs) {
  const dl = html('dl');
  for (const [term, ...parts] of pairs) {
    dl.appendChild(html('dt', '', term));
    const dd = html('dd');
    dd.append(...parts);
    dl.appendChild(dd);
  }
  return dl;
}
function row(cells) {
  const tr = html('tr');
  for (const cell of cells) {
    const td = html('td');
    td.append(cell);
    tr.appendChild(td);
  }
  return tr;
}

async function api(path) {
  let res;
  try {
    res = await fetch(path, { headers: { authorization: 'Bearer ' + $('token').value.trim() } });
  } catch (err) {
    throw new Error('Could not reach the server: ' + err.message);
  }
  return { ok: res.ok, status: res.status, body: await res.json().catch(() => ({})) };
}
function failure(res) { return new Error(res.body.error_description || res.body.error || ('HTTP ' + res.status)); }
async function get(path) {
  const res = await api(path);
  if (!res.ok) throw failure(res);
  return res.body;
}

// What an event says beyond its type: how the family began, a narrowed scope, why it ended.
function detail(event, previous) {
  const data = event.data;
  if (event.type === 'TokenIssued') return data.grantType + (data.name ? ' · “' + data.name + '”' : '');
  if (event.type === 'TokenRevoked') return 'reason: ' + data.reason;
  if (event.type === 'TokenRefreshed' && previous && previous.state.scopes.join(' ') !== event.state.scopes.join(' ')) return 'scope now ' + event.state.scopes.join(' ');
  return '';
}
// Actors are ids; the family's client and user are the usual ones, and have names.
function actorName(actor, family) {
  if (actor === family.client_id) return family.client_name;
  if (actor === family.subject) return family.username;
  return null;
}

function draw(family) {
  const events = family.events;
  const width = Math.max(640, 180 * events.length + 80), height = 200, y = 80;
  const chart = svg('svg', { width, height, viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'Timeline of token family ' + family.family_id });
  chart.appendChild(svg('line', { x1: 40, y1: y, x2: width - 40, y2: y, stroke: '#c9cfdb', 'stroke-width': 4 }));
  events.forEach((event, i) => {
    const x = 80 + i * 180;
    const color = colors[event.state.status] || '#5b6475';
    const who = actorName(event.actor, family) || event.actor;
    const note = detail(event, events[i - 1]);
    const group = svg('g', { class: 'event', 'data-type': event.type, 'data-status': event.state.status });
    group.appendChild(svg('circle', { cx: x, cy: y, r: 18, fill: color }));
    group.appendChild(svg('text', { x, y: y - 32, 'text-anchor': 'middle', 'font-weight': 700, 'font-size': 14, fill: '#1d2433' }, event.type.replace('Token', '')));
    group.appendChild(svg('text', { x, y: y + 42, 'text-anchor': 'middle', 'font-size': 12, fill: '#1d2433' }, time(event.occurred_at)));
    group.appendChild(svg('title', {}, event.type + ' by ' + who + (who === event.actor ? '' : ' (' + event.actor + ')') + ' at ' + event.occurred_at + (note ? ', ' + note : '')));
    group.appendChild(svg('text', { x, y: y + 60, 'text-anchor': 'middle', 'font-size': 12, fill: '#5b6475' }, 'by ' + short(who, 24)));
    group.appendChild(svg('text', { x, y: y + 78, 'text-anchor': 'middle', 'font-size': 12, fill: color }, event.state.status));
    if (note) group.appendChild(svg('text', { x, y: y + 96, 'text-anchor': 'middle', 'font-size': 12, 'font-weight': event.type === 'TokenRevoked' ? 700 : 400, fill: '#1d2433' }, short(note, 28)));
    chart.appendChild(group);
  });
  $('timeline').replaceChildren(chart);
}

function showFamily(family) {
  draw(family);
  const issued = family.events.find((event) => event.type === 'TokenIssued');
  const revoked = family.events.filter((event) => event.type === 'TokenRevoked').at(-1);
  $('family-title').textContent = 'Family ' + family.family_id;
  $('summary').replaceChildren(facts([
    ['Client', named(family.client_name, family.client_id || '—')],
    ['User', named(family.username, family.subject || '—')],
    ['Grant', (family.grant_type || '—') + (issued && issued.data.name ? ' · “' + issued.data.name + '”' : '')],
    ['Now', dot(family.state.status), ...(family.state.status === 'revoked' && revoked ? [' · ', html('span', 'reason', 'reason: ' + revoked.data.reason)] : [])],
  ]));
  $('rows').replaceChildren(...family.events.map((event, i) => {
    const what = html('span', '', event.type);
    const note = detail(event, family.events[i - 1]);
    if (note) what.appendChild(html('span', event.type === 'TokenRevoked' ? 'note reason' : 'note', note));
    return row([String(event.revision), event.occurred_at.replace('T', ' '), what, named(actorName(event.actor, family), event.actor), dot(event.state.status), html('code', '', event.state.current_jti || ''), event.state.scopes.join(' ')]);
  }));
  $('family').hidden = false;
}

async function openFamily(id) {
  const family = await get('/audit/tokens/' + encodeURIComponent(id));
  showFamily(family);
  say(family.events.length + ' events in family ' + family.family_id + '.');
  $('family-title').focus();
}

function appendFamilies(view, path, page) {
  $('families').append(...page.families.map((family) => {
    const open = html('button', 'link', family.family_id);
    open.type = 'button';
    open.title = 'Show the timeline of this family';
    open.addEventListener('click', () => run(() => openFamily(family.family_id)));
    const who = view === 'user' ? named(family.client_name, family.client_id) : named(family.username, family.subject);
    return row([open, time(family.issued_at), who, family.grant_type, dot(family.status)]);
  }));
  more = page.next === null ? null : { view, path, next: page.next };
  $('more').hidden = more === null;
  const count = $('families').children.length;
  say(count === 0 ? 'No token families.' : count + (count === 1 ? ' token family' : ' token families') + (more ? ' so far.' : '.'));
}

function showList(view, path, page, summary) {
  $('list-title').textContent = view === 'user' ? 'User' : 'Client';
  $('list-summary').replaceChildren(facts(summary));
  $('who').textContent = view === 'user' ? 'client' : 'user';
  $('families').replaceChildren();
  appendFamilies(view, path, page);
  $('list').hidden = false;
}

async function searchUser(value) {
  // A username of the built-in directory first; otherwise the value is the subject itself (a user
  // id, a host app's own subject, or a client id for client_credentials).
  const found = await api('/audit/users?username=' + encodeURIComponent(value));
  if (!found.ok && found.status !== 404) throw failure(found);
  const subject = found.ok ? found.body.user_id : value;
  const path = '/audit/subjects/' + encodeURIComponent(subject) + '/tokens';
  const page = await get(path);
  const who = named(page.username, subject);
  if (!page.username) who.appendChild(html('span', 'note', 'not a user of the built-in directory'));
  showList('user', path, page, [['User', who]]);
}

async function searchClient(id) {
  const path = '/audit/clients/' + encodeURIComponent(id);
  const page = await get(path);
  const registered = page.events.find((event) => event.type === 'ClientRegistered');
  const revoked = page.events.filter((event) => event.type === 'ClientRevoked').at(-1);
  showList('client', path, page, [
    ['Client', named(page.client_name, page.client_id)],
    ['Status', ...(page.revoked && revoked ? [dot('revoked'), ' ' + time(revoked.occurred_at) + ' by ' + revoked.actor, html('span', 'note', 'none of its tokens work any more')] : [dot('active')])],
    ['Registered', registered ? time(registered.occurred_at) + ' by ' + registered.actor : '—'],
  ]);
}

const searches = { token: openFamily, user: searchUser, client: searchClient };

async function run(task) {
  say('Loading…');
  try {
    await task();
  } catch (err) {
    say(err.message, true);
  }
}

$('kind').addEventListener('change', () => { $('id-label').textContent = labels[$('kind').value]; });
$('lookup').addEventListener('submit', (e) => {
  e.preventDefault();
  const value = $('id').value.trim();
  if (!$('token').value.trim() || !value) return say('Paste an audit token and what to search for.', true);
  $('list').hidden = true;
  $('family').hidden = true;
  run(() => searches[$('kind').value](value));
});
$('more').addEventListener('click', () => {
  const { view, path, next } = more;
  run(async () => appendFamilies(view, path, await get(path + '?after=' + next)));
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warrant · token audit</title>
<style>${STYLE}</style>
</head>
<body>
<main>
  <h1>Token audit</h1>
  <p class="lead">Replayed from the event store. Paste an access token with scope <code>warrant:audit</code>, then look up a token (its <code>jti</code>) or its family, a user, or a client.</p>
  <form id="lookup">
    <label for="token">Audit token <input id="token" name="token" type="password" autocomplete="off" required></label>
    <label for="kind">Search by <select id="kind" name="kind"><option value="token">Token or family</option><option value="user">User</option><option value="client">Client</option></select></label>
    <label for="id" class="wide"><span id="id-label">Token id or family id</span> <input id="id" name="id" autocomplete="off" required></label>
    <button type="submit">Search</button>
  </form>
  <div id="status" role="status" aria-live="polite"></div>
  <section id="list" hidden>
    <h2 id="list-title"></h2>
    <div id="list-summary"></div>
    <div class="scroll"><table><thead><tr><th>token family</th><th>issued at</th><th id="who">client</th><th>grant</th><th>status</th></tr></thead><tbody id="families"></tbody></table></div>
    <button id="more" class="secondary" type="button" hidden>More families</button>
  </section>
  <section id="family" hidden>
    <h2 id="family-title" tabindex="-1"></h2>
    <div id="summary"></div>
    <div id="timeline" aria-label="timeline"></div>
    <div class="legend" aria-hidden="true"><span class="dot active">active</span><span class="dot refreshed">refreshed</span><span class="dot revoked">revoked</span><span class="dot expired">expired</span></div>
    <div class="scroll"><table><thead><tr><th>#</th><th>occurred at</th><th>event</th><th>by</th><th>status</th><th>access token (jti)</th><th>scopes</th></tr></thead><tbody id="rows"></tbody></table></div>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
// Only this page's own script and style may run; it may talk only to this server.
const CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

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
