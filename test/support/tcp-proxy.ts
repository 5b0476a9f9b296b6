// A TCP proxy on 127.0.0.1 in front of the test PostgreSQL, so a test can take the database away
// from a running API and give it back without touching the server itself:
// - forward:   bytes flow both ways (a healthy network);
// - refuse:    every open connection is closed and new ones are reset at once (the server is gone);
// - blackhole: connections are accepted but nothing is forwarded either way, and open connections
//              freeze (a network partition: packets vanish, nobody says so).
// Leaving blackhole closes the frozen connections: after a long partition they are dead anyway.
import net from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

export type TcpProxy = {
  readonly port: number;
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  readonly urlFor: (databaseUrl: string) => string;
  readonly mode: () => ProxyMode;
  readonly setMode: (mode: ProxyMode) => void;
  /** Connections currently open through the proxy (forwarding or frozen). */
  readonly openConnections: () => number;
  readonly close: () => Promise<void>;
};

type Link = { readonly client: net.Socket; upstream?: net.Socket; frozen: boolean };

export async function startTcpProxy(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = 'forward';
  const links = new Set<Link>();

  const drop = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  };

  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, frozen: mode === 'blackhole' };
    links.add(link);
    client.once('close', () => drop(link));
    if (link.frozen) {
      // Accepted, never answered, never read.
      client.pause();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port });
    link.upstream = upstream;
    upstream.on('error', () => {});
    upstream.once('close', () => drop(link));
    client.pipe(upstream);
    upstream.pipe(client);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const setMode = (next: ProxyMode) => {
    const previous = mode;
    mode = next;
    for (const link of [...links]) {
      if (next === 'refuse' || (previous === 'blackhole' && next === 'forward' && link.frozen)) {
        drop(link);
      } else if (next === 'blackhole' && !link.frozen) {
        link.frozen = true;
        link.client.unpipe();
        link.upstream?.unpipe();
        link.client.pause();
        link.upstream?.pause();
      }
    }
  };

  return {
    port,
    urlFor: (databaseUrl) => onLoopbackPort(databaseUrl, port),
    mode: () => mode,
    setMode,
    openConnections: () => links.size,
    close: async () => {
      for (const link of [...links]) drop(link);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `databaseUrl` with its host and port replaced by a proxy's on loopback (user, password, database kept). */
export function onLoopbackPort(databaseUrl: string, port: number): string {
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}
