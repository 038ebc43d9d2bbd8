// GET /audit/ui: a self-contained page (no build step, no external assets) where an auditor pastes
// an audit token (scope warrant:audit) and looks up a token family, a user or a client; a family's
// life is drawn as a timeline. The page holds no data: it calls the /audit API with the token.

import { createHash } from 'node:crypto';
import type Router from '@koa/router';
import { AUDIT_SCRIPT as SCRIPT } from './audit-ui-script.js';
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
