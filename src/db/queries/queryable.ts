import type pg from 'pg';

/** Anything that runs a query: a pool or a client. Read queries need nothing else. */
export type Queryable = Pick<pg.Pool, 'query'>;
