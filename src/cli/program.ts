// The `warrant` command (DESIGN §7): one file per command group under commands/, what they share
// in context.ts. Errors are one line on stderr and a non-zero exit code, never a stack trace (set
// DEBUG=warrant for one).

import { Command, CommanderError } from 'commander';
import { fromEnvironment } from '../config.js';
import { auditCommands } from './commands/audit.js';
import { clientCommands } from './commands/client.js';
import { configCommand } from './commands/config.js';
import { installCommand } from './commands/install.js';
import { keysCommands } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { projectionsCommands } from './commands/projections.js';
import { purgeCommand } from './commands/purge.js';
import { registrationCommands } from './commands/registration.js';
import { serveCommand } from './commands/serve.js';
import { tokenCommands } from './commands/token.js';
import { userCommands } from './commands/user.js';
import { fail } from './context.js';

export function buildProgram(): Command {
  const program = new Command('warrant')
    .description('Event-sourced OAuth 2 authorization server')
    .showHelpAfterError()
    .exitOverride();
  // In the order `warrant --help` lists them.
  for (const register of [serveCommand, migrateCommand, projectionsCommands, installCommand, keysCommands, clientCommands, registrationCommands, auditCommands, userCommands, tokenCommands, purgeCommand, configCommand]) {
    register(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode);
    // DEBUG alone: the other settings may be what failed.
    if (fromEnvironment('debug')) process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    // Whatever was thrown (libraries reject with undefined, too), one line and no stack trace.
    const message = error instanceof Error ? error.message : error === undefined ? 'failed without a reason (DEBUG=warrant shows more)' : String(error);
    fail(message.split('\n')[0] || 'failed without a reason (DEBUG=warrant shows more)');
  }
}
