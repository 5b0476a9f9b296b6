// Round trips and statements between a client and PostgreSQL, counted on the wire: a TCP proxy on
// loopback that forwards every byte and reads the message types of the PostgreSQL protocol as they
// pass. Each simple Query ('Q') and each extended-protocol Sync ('S') ends in exactly one
// ReadyForQuery ('Z') from the server, and the client waits for it: one 'Z' is one round trip.
// Each 'Q' or Execute ('E') is one statement (BEGIN and COMMIT included). Plain TCP only (the
// benchmark's local database has no TLS, whose bytes could not be read).
import net from 'node:net';

export type WireCounts = { readonly roundTrips: number; readonly statements: number };

export type WireCounter = {
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  readonly urlFor: (databaseUrl: string) => string;
  readonly counts: () => WireCounts;
  readonly close: () => Promise<void>;
};

/**
 * Calls `onType` with the type byte of every message in a stream cut into arbitrary chunks. A
 * client's stream starts with an untyped start-up message (length, then protocol version).
 */
function messageTypes(startsUntyped: boolean, onType: (type: number) => void): (chunk: Buffer) => void {
  let untyped = startsUntyped;
  let header = Buffer.alloc(0);
  let skip = 0;
  return (chunk) => {
    let offset = 0;
    while (offset < chunk.length) {
      if (skip > 0) {
        const passed = Math.min(skip, chunk.length - offset);
        skip -= passed;
        offset += passed;
        continue;
      }
      const size = untyped ? 4 : 5;
      const taken = Math.min(size - header.length, chunk.length - offset);
      header = Buffer.concat([header, chunk.subarray(offset, offset + taken)]);
      offset += taken;
      if (header.length < size) return;
      if (untyped) {
        skip = header.readInt32BE(0) - 4;
        untyped = false;
      } else {
        onType(header[0]!);
        skip = header.readInt32BE(1) - 4;
      }
      header = Buffer.alloc(0);
    }
  };
}

const readyForQuery = 'Z'.charCodeAt(0);
const simpleQuery = 'Q'.charCodeAt(0);
const execute = 'E'.charCodeAt(0);

export async function startWireCounter(databaseUrl: string): Promise<WireCounter> {
  const target = new URL(databaseUrl);
  let roundTrips = 0;
  let statements = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    const fromClient = messageTypes(true, (type) => {
      if (type === simpleQuery || type === execute) statements += 1;
    });
    const fromServer = messageTypes(false, (type) => {
      if (type === readyForQuery) roundTrips += 1;
    });
    client.on('data', (chunk: Buffer) => {
      fromClient(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      fromServer(chunk);
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    urlFor: (url) => {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    counts: () => ({ roundTrips, statements }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
