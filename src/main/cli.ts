#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError, configMarkdown } from '../config/config.js';
import { maskSecrets, redactConfig } from '../config/secrets.js';
import { errorMessage } from '../shared/errors.js';
import { packagePath } from '../shared/package-root.js';
import { cliContext } from './cli-context.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerOffsetsCommands } from './commands/offsets.js';
import { registerOpsCommands } from './commands/ops.js';
import { registerSetupCommands } from './commands/setup.js';
import { registerRunCommands } from './commands/run.js';
import { registerStatusCommand } from './commands/status.js';
import { unsupportedNodeReason } from './node-support.js';
import { kafkajsUnpatchedReason } from '../log/kafkajs-patches.js';

/**
 * One CLI for every operation. Configuration comes from environment variables
 * only (validated once, see cli-context.ts); each command builds just the
 * clients it uses. Runs the program on import: nothing imports this file.
 */
async function main(argv: string[]) {
  const refused = unsupportedNodeReason(process.version) ?? kafkajsUnpatchedReason();
  if (refused) {
    console.error(refused);
    process.exit(1);
  }
  const ctx = cliContext();
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  const program = new Command('pipeline')
    .description('DynamoDB Streams → Kafka → PostgreSQL views: operations CLI')
    .version(pkg.version)
    .showHelpAfterError();
  program
    .command('config')
    .description('print the effective configuration (secrets masked) or the configuration table')
    .option('--markdown', 'print the configuration table of docs/configuration.md')
    .action((o: { markdown?: boolean }) => {
      console.log(o.markdown ? configMarkdown() : JSON.stringify(redactConfig(ctx.config()), null, 2));
    });
  registerSetupCommands(program, ctx);
  registerRunCommands(program, ctx);
  registerOpsCommands(program, ctx);
  registerDlqCommands(program, ctx);
  registerOffsetsCommands(program, ctx);
  registerStatusCommand(program, ctx);
  try {
    await program.parseAsync(argv);
  } finally {
    await ctx.close();
  }
}

main(process.argv).catch((err: unknown) => {
  // Printed outside the logger: masked here (a failing connection string can carry a password).
  console.error(maskSecrets(err instanceof ConfigError ? err.message : `error: ${errorMessage(err)}`));
  process.exit(1);
});
