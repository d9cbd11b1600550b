#!/usr/bin/env node
// The AWS SDK is pinned to a release that supports Node 20 (package.json); its
// notice that later releases need Node 22 is known and would only add noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, configMarkdown, loadConfig, type Config } from '../config/config.js';
import { logRedaction, maskSecrets, redactConfig } from '../config/secrets.js';
import { createLogger } from '../shared/logger.js';
import { errorMessage } from '../shared/errors.js';
import { createClients, type Clients } from './clients.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerOpsCommands } from './commands/ops.js';
import { registerSetupCommands } from './commands/setup.js';
import { registerRunCommands } from './commands/run.js';

/**
 * One CLI for every operation. Configuration comes from environment variables
 * only (validated once, here); each command builds just the clients it uses.
 */
export interface CliContext {
  config(): Config;
  clients(): Clients;
  close(): Promise<void>;
}

function context(): CliContext {
  let config: Config | undefined;
  let clients: Clients | undefined;
  return {
    config() {
      config ??= loadConfig();
      return config;
    },
    clients() {
      if (!clients) {
        const c = this.config();
        const logger = createLogger({ level: c.logLevel, redaction: logRedaction(c) });
        logger.debug({ config: redactConfig(c) }, 'configuration');
        clients = createClients(c, logger);
      }
      return clients;
    },
    async close() {
      await clients?.close();
    },
  };
}

export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};
export const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
};

async function main(argv: string[]) {
  const ctx = context();
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const program = new Command('pipeline')
    .description('DynamoDB Streams → Kafka → PostgreSQL views: operations CLI')
    .version(pkg.version)
    .showHelpAfterError();
  program
    .command('config')
    .description('print the effective configuration (secrets masked) or the configuration table')
    .option('--markdown', 'print the README configuration table')
    .action((o: { markdown?: boolean }) => {
      console.log(o.markdown ? configMarkdown() : JSON.stringify(redactConfig(ctx.config()), null, 2));
    });
  registerSetupCommands(program, ctx);
  registerRunCommands(program, ctx);
  registerOpsCommands(program, ctx);
  registerDlqCommands(program, ctx);
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
