// A loopback TCP proxy in front of PostgreSQL that a test can stop and start again on
// the same port: the backend "goes away" and "comes back" without touching PostgreSQL.
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Ends the connections made so far, still listening: `eof` closes them, `reset` sends an RST to the proxy's clients. */
  drop(how: 'eof' | 'reset'): void;
}

export async function tcpProxy(targetHost: string, targetPort: number, port = 0): Promise<TcpProxy> {
  let server: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  let boundPort = port;
  const start = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(targetPort, targetHost);
        clients.add(client);
        client.on('close', () => clients.delete(client));
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      server.once('error', reject);
      server.listen(boundPort, '127.0.0.1', () => {
        boundPort = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  await start();
  return {
    get port() {
      return boundPort;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server) return resolve();
        server.close(() => resolve());
        server = undefined;
      }),
    start,
    drop: (how) => {
      for (const s of clients) {
        if (how === 'reset') s.resetAndDestroy();
        else s.destroy();
      }
    },
  };
}
