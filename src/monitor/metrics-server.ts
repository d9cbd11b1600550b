import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` of one prom-client registry on 127.0.0.1 (or `host`),
 * `GET /healthz` (liveness: the process answers) and, given `ready`,
 * `GET /readyz` (200, or 503 naming what is not ready).
 * Port 0 picks a free port; the chosen one is returned. `json` adds read-only
 * JSON endpoints by path (the lag monitor's `/lag`), each answering with what
 * its function returns at request time.
 */
export async function startMetricsServer(
  registry: Registry,
  options: { port: number; host?: string; json?: Record<string, () => unknown>; ready?: () => { ready: boolean } },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const urlPath = req.url?.split('?')[0] ?? '';
    if (req.method === 'GET' && urlPath === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end('{"status":"ok"}');
      return;
    }
    if (req.method === 'GET' && urlPath === '/readyz' && options.ready) {
      // The roles of this process (a consumer retrying on a lost dependency is not ready); 503 names what is not.
      const body = options.ready();
      res.writeHead(body.ready ? 200 : 503, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
      return;
    }
    const json = options.json && Object.hasOwn(options.json, urlPath) ? options.json[urlPath] : undefined;
    if (req.method === 'GET' && json) {
      try {
        const body = JSON.stringify(json());
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        res.end(body);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      return;
    }
    if (req.method === 'GET' && urlPath === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics collection failed: ${err instanceof Error ? err.message : String(err)}`);
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
