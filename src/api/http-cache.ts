import { hash } from 'node:crypto';
import type { ConsistencyStatus, StalenessThresholds } from './consistency.js';

/**
 * A weak ETag over the answer's content and the freshness it was computed
 * from (view watermark + consistency status). Time-varying numbers such as
 * lagSeconds are left out of `parts` by the caller, so an unchanged answer
 * revalidates (304) until its data or its status changes.
 */
export function weakEtag(parts: unknown): string {
  return `W/"${hash('sha1', JSON.stringify(parts), 'base64url')}"`;
}

const ETAG_SAFE = /^[A-Za-z0-9_-]*$/;

/**
 * A weak ETag from a version the caller already has (sequence numbers,
 * timestamps, a status) instead of a hash of the content: numbers in base 36,
 * strings kept when they are [A-Za-z0-9_-] (others are hashed). Use only when
 * `parts` change whenever the answer's content or freshness status does.
 */
export function versionEtag(parts: ReadonlyArray<number | string>): string {
  let tag = '';
  for (const p of parts) {
    const s = typeof p === 'number' ? p.toString(36) : ETAG_SAFE.test(p) ? p : hash('sha1', p, 'base64url');
    tag = tag === '' ? s : `${tag}.${s}`;
  }
  return `W/"${tag}"`;
}

/** If-None-Match (a list of entity tags or `*`) against `etag`, weak comparison (RFC 9110 §13.1.2). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  const mine = opaque(etag);
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || opaque(t) === mine);
}

/**
 * Cache-Control that never lets a cache serve an answer past its freshness:
 * - UP_TO_DATE: max-age = whole seconds left until the lag would pass the
 *   UP_TO_DATE bound (so at most 1 s with the default bound);
 * - SLIGHTLY_STALE: no-cache (may be stored, must revalidate with the ETag);
 * - STALE or unknown lag: no-store.
 * `private` when API keys are in use: answers are per caller.
 */
export function cacheControl(
  status: ConsistencyStatus,
  lagMs: number | null,
  t: StalenessThresholds,
  { shared }: { shared: boolean },
): string {
  const scope = shared ? 'public' : 'private';
  if (status === 'STALE' || lagMs === null) return 'no-store';
  if (status === 'SLIGHTLY_STALE') return `${scope}, no-cache`;
  const maxAge = Math.max(0, Math.floor((t.upToDateMs - lagMs) / 1000));
  return `${scope}, max-age=${maxAge}, must-revalidate`;
}
