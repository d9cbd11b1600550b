import { InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config/config.js';
import { logRedaction, redactConfig } from '../config/secrets.js';
import { createLogger } from '../shared/logger.js';
import { createClients, type Clients } from './clients.js';

/**
 * What every CLI command gets: the configuration (from environment variables
 * only, validated once, on first use) and the clients, built lazily so that
 * each command builds just those it uses. Its own module so that cli.ts
 * (which runs the program on import) is imported by nothing.
 */
export interface CliContext {
  config(): Config;
  clients(): Clients;
  close(): Promise<void>;
}

export function cliContext(): CliContext {
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
        const logger = createLogger({ level: c.logLevel, format: c.logFormat, redaction: logRedaction(c) });
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

/** Option parser: a whole number ≥ 0. */
export const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

/** Option parser: a share between 0 and 1. */
export const share = (v: string) => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number between 0 and 1');
  return n;
};
