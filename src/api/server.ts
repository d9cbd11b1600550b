import { createAdaptorServer } from '@hono/node-server';
import type { AddressInfo } from 'node:net';

export interface ApiServer {
  /** The bound port (useful with port 0). */
  port: number;
  /** Stops accepting connections and resolves when in-flight requests are answered. */
  close(): Promise<void>;
}

/** Serves `app` over HTTP on `host:port` (port 0 picks a free one). */
export async function startApiServer(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  { port, host = '127.0.0.1' }: { port: number; host?: string },
): Promise<ApiServer> {
  const server = createAdaptorServer({ fetch: app.fetch });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive connections without a request in flight would hold close() open.
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}
