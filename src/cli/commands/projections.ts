// `warrant projections status|rebuild`: the read models' checkpoints, and rebuilding them from the log.

import type { Command } from 'commander';
import { projections } from '../../../projections/index.js';
import { rebuildProjection } from '../../../projections/rebuild.js';
import { migrate } from '../../db/migrate.js';
import { context, fail, withDatabase } from '../context.js';
import { progress } from '../progress.js';

export function projectionsCommands(program: Command): void {
  const projectionsCommand = program.command('projections').description('inspect and rebuild read models');
  projectionsCommand
    .command('status')
    .description('checkpoint and lag of every projection')
    .action(async () => {
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        const head = await store.headPosition();
        const { rows } = await pool.query<{ name: string; position: string; last_error: string | null }>('SELECT name, position, last_error FROM projection_checkpoints');
        const byName = new Map(rows.map((row) => [row.name, row]));
        process.stdout.write(`${'projection'.padEnd(24)}${'position'.padStart(10)}${'lag'.padStart(10)}\n`);
        for (const projection of projections) {
          const position = Number(byName.get(projection.name)?.position ?? 0);
          process.stdout.write(`${projection.name.padEnd(24)}${String(position).padStart(10)}${String(head - position).padStart(10)}\n`);
        }
      });
    });
  projectionsCommand
    .command('rebuild')
    .description('replay every event into fresh read-model tables and swap them in')
    .argument('[name...]', `projections to rebuild (default all: ${projections.map((p) => p.name).join(', ')})`)
    .action(async (names: string[]) => {
      const unknown = names.filter((name) => !projections.some((p) => p.name === name));
      if (unknown.length > 0) fail(`unknown projection: ${unknown.join(', ')} (known: ${projections.map((p) => p.name).join(', ')})`, 2);
      const { config, logger } = context();
      await withDatabase(config, logger, async (pool, store) => {
        await migrate(pool);
        for (const projection of projections.filter((p) => names.length === 0 || names.includes(p.name))) {
          const bar = progress(`rebuilding ${projection.name}`, await store.headPosition());
          const result = await rebuildProjection({ pool, store, projection, onProgress: (position) => bar.update(position) }).finally(() => bar.stop());
          process.stdout.write(`Rebuilt ${projection.name}: ${result.events} events, checkpoint ${result.position}\n`);
        }
      });
    });
}
