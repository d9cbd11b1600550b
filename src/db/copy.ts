import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { ValidationError } from '../shared/errors.js';
import type { PoolClient } from './db.js';

/** A value COPY can carry in text format; null and undefined become SQL NULL. */
export type CopyValue = string | number | bigint | boolean | Date | null | undefined;

/**
 * Formats one row of PostgreSQL COPY text format (the default of
 * `COPY ... FROM STDIN`: tab-separated, `\N` for NULL), newline included.
 *
 * Backslash, tab, newline and carriage return inside values are escaped, so any
 * string arrives byte for byte — including one that reads `\N` or `\.`, which
 * COPY would otherwise take for NULL or end-of-data. A NUL character is refused
 * here because PostgreSQL text cannot store it and would fail the whole COPY
 * with a less helpful message.
 */
export function copyRow(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i]);
  }
  return `${line}\n`;
}

function copyField(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeText(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError('COPY value is an invalid Date', { code: 'COPY_VALUE' });
    return value.toISOString();
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // 'NaN' / 'Infinity' would load into float columns but silently mean "no number"; refuse instead.
    throw new ValidationError(`COPY value is not a finite number: ${value}`, { code: 'COPY_VALUE' });
  }
  return String(value);
}

const SPECIAL = /[\\\t\n\r\0]/;

function escapeText(s: string): string {
  // Fast path: almost every value has nothing to escape.
  if (!SPECIAL.test(s)) return s;
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\0':
        throw new ValidationError('COPY value contains a NUL character, which PostgreSQL text cannot store', {
          code: 'COPY_VALUE',
        });
      default:
        out += ch;
    }
  }
  return out;
}

/** Rows per chunk written to the COPY stream. */
const ROWS_PER_CHUNK = 1000;

/**
 * Streams rows into `COPY ... FROM STDIN` and returns the row count
 * PostgreSQL reports. Rows are formatted lazily, a chunk of
 * {@link ROWS_PER_CHUNK} at a time, so PostgreSQL (another process, another
 * core) inserts one chunk while this process formats the next; and each chunk
 * is one CopyData message, because pg-copy-streams sends every chunk it is
 * given as its own message and socket write (measured: bench/projector.ts).
 */
export async function copyRows<T>(
  client: PoolClient,
  sql: string,
  items: readonly T[],
  toValues: (item: T) => readonly CopyValue[],
): Promise<number> {
  return copyChunks(client, sql, chunked(items, (item) => copyRow(toValues(item))));
}

/** {@link copyRows} for lines already formatted with {@link copyRow}. */
export async function copyLines(client: PoolClient, sql: string, lines: readonly string[]): Promise<number> {
  return copyChunks(client, sql, chunked(lines, (line) => line));
}

async function copyChunks(client: PoolClient, sql: string, chunks: Iterable<string>): Promise<number> {
  const stream = client.query(copyFrom(sql));
  await pipeline(Readable.from(chunks), stream);
  return stream.rowCount;
}

function* chunked<T>(items: readonly T[], line: (item: T) => string): Generator<string> {
  for (let i = 0; i < items.length; i += ROWS_PER_CHUNK) {
    let chunk = '';
    const end = Math.min(items.length, i + ROWS_PER_CHUNK);
    for (let j = i; j < end; j++) chunk += line(items[j]!);
    yield chunk;
  }
}
