// The script of the audit page (src/http/audit-ui.ts), which runs in the browser. Everything from
// the API is inserted as text nodes (no innerHTML of data); the page's CSP allows exactly this script by hash.
export const AUDIT_SCRIPT = `
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
