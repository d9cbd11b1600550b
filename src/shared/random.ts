/**
 * A small seeded pseudo-random generator for reproducible data: master data,
 * workloads, property-test fixtures. Same seed → same sequence, on every
 * platform and Node version (pure 32-bit integer arithmetic, no Math.random).
 *
 * Not for anything secret: mulberry32 has a 2^32 state and is trivially
 * predictable. It is chosen because it is tiny, fast and good enough for
 * picking names and quantities.
 */
export interface Random {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** One element of a non-empty array, uniformly. */
  pick<T>(items: readonly T[]): T;
  /** One value, with probability proportional to its weight (weights ≥ 0, at least one > 0). */
  weighted<T>(pairs: readonly (readonly [T, number])[]): T;
  /** A shuffled copy (Fisher–Yates); the input array is left untouched. */
  shuffle<T>(items: readonly T[]): T[];
}

export function createRandom(seed: number): Random {
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  let state = seed >>> 0;

  // mulberry32 (Tommy Ettinger, public domain).
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  const int = (min: number, max: number): number => {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min > max) {
      throw new RangeError(`int(min, max) needs integers with min <= max, got ${min}, ${max}`);
    }
    return min + Math.floor(next() * (max - min + 1));
  };

  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick() from an empty array');
      return items[int(0, items.length - 1)] as T;
    },
    weighted<T>(pairs: readonly (readonly [T, number])[]): T {
      let total = 0;
      for (const [, w] of pairs) {
        if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`weights must be finite and >= 0, got ${w}`);
        total += w;
      }
      if (total <= 0) throw new RangeError('weighted() needs at least one positive weight');
      let r = next() * total;
      for (const [value, w] of pairs) {
        r -= w;
        if (r < 0) return value;
      }
      // Floating-point rounding can leave r at ~0 after the loop: the last positive weight wins.
      for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i]![1] > 0) return pairs[i]![0];
      throw new RangeError('unreachable: no positive weight');
    },
    shuffle<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(0, i);
        const tmp = out[i] as T;
        out[i] = out[j] as T;
        out[j] = tmp;
      }
      return out;
    },
  };
}

/**
 * A seed for an independent sub-stream, derived from a base seed and a label
 * (FNV-1a over the label, mixed with the seed). Generators use one stream per
 * concern so that changing how much of one thing is drawn (say, the product
 * count) does not shift the values drawn for another (the customers).
 */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // Final avalanche (murmur3 fmix32) so seeds that differ in one bit diverge fully.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
