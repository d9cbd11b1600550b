import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';

/**
 * Outages of one client's dependencies without touching the shared stack:
 * a TCP proxy in front of DynamoDB Local that can refuse and reset
 * connections, and a kafkajs socket factory that can do the same for every
 * broker connection of one Kafka client. Other tests keep using the real
 * servers undisturbed.
 */
export interface OutageSwitch {
  cut(): void;
  restore(): Promise<void>;
}

/** A proxy to `target` on a free local port; `cut` closes the listener (connection refused) and resets open connections. */
export async function tcpProxy(target: { host: string; port: number }): Promise<OutageSwitch & { port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const resetAll = () => {
    for (const s of sockets) s.resetAndDestroy();
  };
  return {
    port,
    cut() {
      server.close();
      resetAll();
    },
    restore: () => listen(port),
    async close() {
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A Kafka client whose broker connections can all be reset and refused at once, as during a broker restart. */
export function switchableKafka(options: { brokers: string[]; clientId: string }): OutageSwitch & { kafka: Kafka } {
  let down = false;
  const sockets = new Set<net.Socket>();
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = net.connect({ host, port }, onConnect);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (down) process.nextTick(() => socket.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host}:${port} (simulated)`), { code: 'ECONNREFUSED' })));
    return socket;
  };
  const kafka = new Kafka({
    brokers: options.brokers,
    clientId: options.clientId,
    socketFactory,
    logLevel: logLevel.NOTHING,
    // As the pipeline's own client (src/log/kafka.ts).
    retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
  });
  return {
    kafka,
    cut() {
      down = true;
      for (const s of sockets) s.resetAndDestroy();
    },
    async restore() {
      down = false;
    },
  };
}
