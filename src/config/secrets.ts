import { createSecretScrubber, MASK, secretKinds, type LogRedaction, type SecretKind } from '../shared/redact.js';
import { entries, type Config } from './config.js';

/**
 * Secrets of the configuration, masked in one place from the configuration
 * table: the `config` printer ({@link redactConfig}), the logger's redaction
 * ({@link logRedaction}) and text printed outside the logger
 * ({@link maskSecrets}) all read which settings are secret, and which part of
 * each, from `configEntries`.
 */

/** The configuration with the secret part of every secret setting masked: what `config` prints and the start-up log shows. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, e] of entries()) {
    const v = config[key];
    out[key] = e.secret && typeof v === 'string' ? secretKinds[e.secret].mask(v) : v;
  }
  return out;
}

/**
 * The secret values of this configuration, to be masked wherever they occur.
 * A value that is also part of the setting's documented default (the local
 * stack's `postgres` password) is public and left out: masking it would hide
 * every "postgres" in the logs and protect nothing.
 */
export function secretValues(config: Config): string[] {
  return secretsOf((key) => config[key as keyof Config]);
}

/**
 * Masks the secret values of the environment's settings in a text: for what
 * the CLI prints outside the logger (its last-resort error line), where the
 * configuration may not even have loaded, so raw variables are read.
 */
export function maskSecrets(text: string, env: NodeJS.ProcessEnv = process.env): string {
  const byEnv = new Map(entries().map(([key, e]) => [key as string, e.env]));
  const scrub = createSecretScrubber(secretsOf((key) => env[byEnv.get(key)!]));
  return scrub ? scrub(text) : text;
}

function secretsOf(valueOf: (key: string) => unknown): string[] {
  const out = new Set<string>();
  for (const [key, e] of entries()) {
    const v = valueOf(key);
    if (!e.secret || typeof v !== 'string') continue;
    const kind = secretKinds[e.secret];
    const published = new Set(e.default === undefined ? [] : kind.parts(e.default));
    for (const part of kind.parts(v)) if (!published.has(part)) out.add(part);
  }
  return [...out];
}

/**
 * The logger's redaction, from the same table: every secret setting's field
 * is censored by path (a URL keeps its host), and every secret value is masked
 * wherever it appears in a line.
 */
export function logRedaction(config: Config): LogRedaction {
  const byKey = new Map<string, SecretKind>();
  for (const [key, e] of entries()) if (e.secret) byKey.set(key, e.secret);
  const paths = [...byKey.keys()].flatMap((k) => [k, `*.${k}`]);
  return {
    paths,
    censor: (value, path) => {
      const kind = byKey.get(path[path.length - 1] ?? '');
      return kind && typeof value === 'string' ? secretKinds[kind].mask(value) : MASK;
    },
    secrets: secretValues(config),
  };
}
