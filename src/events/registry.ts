import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

export interface RegistrySettings {
  url: string;
  username: string;
  password: string;
}

/**
 * The registry client. The same code talks to Apicurio's Confluent API
 * (local stack) and to Redpanda's or Confluent's registry (docker-compose,
 * production): only the base URL differs.
 */
export function createRegistry(settings: RegistrySettings): SchemaRegistry {
  return new SchemaRegistry({
    host: settings.url,
    ...(settings.username ? { auth: { username: settings.username, password: settings.password } } : {}),
    retry: { retries: 5, initialRetryTimeInSecs: 0.2, maxRetryTimeInSecs: 5 },
  });
}
