/**
 * An upcaster turns an event decoded at schema version `from` into the shape
 * of version `from + 1`. Upcasters are pure, total functions, applied once at
 * decoding, so handlers only ever see the latest version. A version step with
 * no upcaster is handled by Avro schema resolution alone (added fields with
 * defaults, removed fields).
 */
export interface Upcaster {
  eventType: string;
  from: number;
  /** Why the step needs code rather than schema resolution. */
  reason: string;
  up(event: Record<string, unknown>): Record<string, unknown>;
}

/** Typed helper: the input and output types are the generated version types. */
export function defineUpcaster<From extends object, To extends object>(u: {
  eventType: string;
  from: number;
  reason: string;
  up(event: From): To;
}): Upcaster {
  return u as unknown as Upcaster;
}
