import { ValidationError } from '../shared/errors.js';

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
