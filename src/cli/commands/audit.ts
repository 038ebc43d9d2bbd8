// `warrant audit token|verify`: history and integrity from the event store.

import type { Command } from 'commander';
import { familyHistory, findFamily } from '../../audit/history.js';
import { verifyAll } from '../../audit/verify.js';
import { migrate } from '../../db/migrate.js';
import { context, fail, json, out, shown, withDatabase } from '../context.js';
import { progress } from '../progress.js';

export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('history from the event store');
  audit
    .command('token')
    .description("print a token family's timeline (id: a family id or any access token's jti)")
    .argument('<id>', 'family id or jti')
    .option('--json', 'JSON output')
    .action(async (id: string, options: { json?: boolean }) => {
      const { config, logger } = context();
      const history = await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const familyId = await findFamily(store, id);
        return familyId ? familyHistory(store, familyId, new Date()) : undefined;
      });
      if (!history) return fail(`no token or token family ${id}`);
      if (options.json) return out(json(history));
      out(shown(`Family ${history.family_id}  client ${history.client_id}  subject ${history.subject}  grant ${history.grant_type}  now: ${history.state.status}`));
      const rows = history.events.map((e) => [String(e.revision), e.occurred_at, e.type, e.actor, e.state.status, e.state.current_jti ?? '', e.state.scopes.join(' ')].map(shown));
      const head = ['#', 'occurred at', 'event', 'actor', 'status', 'access token (jti)', 'scopes'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      out(line(head));
      out(widths.map((w) => '-'.repeat(w)).join('  '));
      for (const row of rows) out(line(row));
      return undefined;
    });
  audit
    .command('verify')
    .description('check the hash chain of every stream (exit 1 if any is broken)')
    .action(async () => {
      const { config, logger } = context();
      const verdict = await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const bar = progress('verifying', await store.headPosition());
        try {
          return await verifyAll(store, (position) => bar.update(position));
        } finally {
          bar.stop();
        }
      });
      out(`Checked ${verdict.events} events in ${verdict.streams} streams.`);
      if (verdict.broken.length === 0) return out('Every hash chain holds.');
      for (const b of verdict.broken) out(shown(`BROKEN ${b.stream} at revision ${b.revision} (${b.reason})`));
      return fail(`${verdict.broken.length} stream(s) have a broken hash chain`);
    });
}
