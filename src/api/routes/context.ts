import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Queryable } from '../../db/queries/queryable.js';
import type { CursorCodec } from '../cursor.js';
import type { AppEnv } from '../env.js';
import type { FreshnessService } from '../freshness.js';
import type { Responder } from '../respond.js';

/** What every route module gets from createApp. */
export interface RouteContext {
  db: Queryable;
  cursors: CursorCodec;
  freshness: FreshnessService;
  respond: Responder;
}

export type ApiApp = OpenAPIHono<AppEnv>;

/** Date → ISO string for JSON bodies (null stays null). */
export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
