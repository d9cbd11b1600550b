/**
 * Masking of secret values. The configuration table says which settings are
 * secret and of which kind (the whole value, a URL's password, the key of a
 * `name:key:rate` entry); this module knows the kinds and strings only, so
 * the logger can mask without importing the configuration.
 */

export const MASK = '***';

/**
 * Shorter values are masked in structured fields (the `config` printer, the
 * logger's redaction paths) but not searched for in free text: a three-letter
 * value would match inside every other word and make the logs unreadable.
 */
export const MIN_SCRUBBED_LENGTH = 4;

/** What the logger needs to keep secrets out of its lines. */
export interface LogRedaction {
  /** pino redaction paths of fields that hold a secret (e.g. `*.databaseUrl`). */
  paths: string[];
  /** Replaces the value at a redacted path (keeps a URL's host, masks its password). */
  censor: (value: unknown, path: string[]) => unknown;
  /** Secret values, masked wherever they occur in a line (error messages, stacks, bindings). */
  secrets: string[];
}

/**
 * A function that replaces every occurrence of the given secrets in a text
 * by {@link MASK}; `undefined` when there is nothing to mask (so callers can
 * skip the hook altogether). Each secret is also searched in its JSON-escaped
 * and percent-encoded forms, the ways it shows up in a log line or a URL.
 * Longer secrets are replaced first, so a secret that contains another is
 * masked whole. With `json: true` the text is a JSON line (a log record) and
 * only the insides of its string literals are touched, so the line stays
 * valid JSON even for a secret that looks like a number or a key.
 */
export function createSecretScrubber(
  secrets: Iterable<string>,
  options: { json?: boolean } = {},
): ((text: string) => string) | undefined {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SCRUBBED_LENGTH) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  if (forms.size === 0) return undefined;
  const source = [...forms]
    .sort((a, b) => b.length - a.length)
    .map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  const pattern = new RegExp(source, 'g');
  if (!options.json) return (text) => text.replace(pattern, MASK);
  const present = new RegExp(source);
  // Most lines hold no secret: one scan decides, the per-literal pass runs only on a hit.
  return (line) => (present.test(line) ? line.replace(JSON_STRING, (lit) => lit.replace(pattern, MASK)) : line);
}

const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;

/**
 * Which part of a setting is a credential: the whole value, the password of a
 * URL (`scheme://user:password@host`, `?password=`), or the key of each
 * `name:key:rate` entry. Each kind finds the secret parts of a value and masks
 * them; the configuration table names a kind per secret setting.
 */
export type SecretKind = 'value' | 'url' | 'keys';

export const secretKinds: Record<SecretKind, { parts: (raw: string) => string[]; mask: (raw: string) => string; readme: string }> = {
  value: { parts: (raw) => (raw === '' ? [] : [raw]), mask: (raw) => (raw === '' ? raw : MASK), readme: 'yes' },
  url: { parts: urlSecrets, mask: maskUrl, readme: 'password in the URL' },
  keys: {
    parts: (raw) => splitKeys(raw).flatMap((k) => (k.key ? [k.key] : [])),
    mask: (raw) => splitKeys(raw).map((k) => (k.key ? `${k.name}:${MASK}${k.rest}` : MASK)).join(','),
    readme: 'the keys',
  },
};

function splitKeys(raw: string): { name: string; key: string; rest: string }[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const [name = '', key = '', ...rest] = part.split(':');
      return { name, key, rest: rest.length ? `:${rest.join(':')}` : '' };
    });
}

/** The password of a URL and credential-looking query parameters (`?password=`), raw and decoded. */
export function urlSecrets(value: string): string[] {
  const u = parseUrl(value);
  if (!u) return [];
  const out: string[] = [];
  if (u.password) out.push(u.password, safeDecode(u.password));
  for (const [k, v] of u.searchParams) if (CREDENTIAL_PARAM.test(k) && v) out.push(v);
  return [...new Set(out)];
}

/**
 * The URL with its password and credential-looking query parameters masked,
 * the rest exactly as written (the host stays readable); a value that is not
 * a URL at all is masked whole.
 */
export function maskUrl(value: string): string {
  if (value === '') return value;
  if (!parseUrl(value)) return MASK;
  return value
    // Greedy up to the last '@' of the authority, as URL parsers read an unencoded '@' in a password.
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^/?#]*@/i, `$1${MASK}@`)
    .replace(/([?&][^=&#]*(?:pass|secret|token|key)[^=&#]*=)[^&#]*/gi, `$1${MASK}`);
}

const CREDENTIAL_PARAM = /pass|secret|token|key/i;

function parseUrl(value: string): URL | undefined {
  // `ops:key:10` parses as a URL with scheme `ops:`; only hierarchical URLs carry user:password.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
