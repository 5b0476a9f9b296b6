// Calls to URLs that users gave us (push endpoints, webhooks) are a security boundary: such a URL
// must not make this server reach its own network (SSRF). So, on every call:
// - https only (plain http only to loopback, and only when OUTBOUND_ALLOW_LOOPBACK is on, for tests
//   and local development);
// - the host name is resolved here, every address it resolves to is checked, and the connection
//   goes to the address that was checked (no second lookup an attacker's DNS could answer
//   differently): never loopback (unless allowed), private, shared, link-local (cloud metadata at
//   169.254.169.254 and fd00:ec2::254 included), multicast, reserved or documentation ranges;
// - redirects are not followed (a 3xx is the answer); a short timeout covers the whole call; at
//   most `maxResponseBytes` of the answer are read.
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
}

export type OutboundPolicy = {
  /** Development and tests only: allow loopback addresses, and plain http to them. */
  readonly allowLoopback: boolean;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
};

const forbidden = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared (carrier-grade NAT)
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['64:ff9b::', 96], // NAT64: would reach IPv4 addresses, private ones included
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local (fd00:ec2::254, AWS metadata, is in it)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  forbidden.addSubnet(network, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Why an address may not be called, or undefined when it may. */
export function refusalOf(address: string, allowLoopback: boolean): string | undefined {
  let family = isIP(address);
  if (family === 0) return 'is not an IP address';
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) {
    address = mapped[1]!;
    family = 4;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (loopback.check(address, type)) return allowLoopback ? undefined : 'is a loopback address';
  if (forbidden.check(address, type)) return 'is a private, link-local or reserved address';
  return undefined;
}

/** Checks the URL's form (scheme, no credentials); its addresses are checked at call time. */
export function urlRefusalOf(value: string, allowLoopback: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not a URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && allowLoopback) return undefined;
  return 'must be an https URL';
}

export type OutboundResponse = { readonly status: number; readonly body: string };

/**
 * POSTs `body` to `url` under the policy. Throws OutboundRefusedError when the URL or its
 * address is not allowed (nothing was sent), or the network error / timeout otherwise.
 */
export async function postGuarded(
  value: string,
  request: { readonly headers: Readonly<Record<string, string>>; readonly body: Buffer | string },
  policy: OutboundPolicy,
): Promise<OutboundResponse> {
  const urlRefusal = urlRefusalOf(value, policy.allowLoopback);
  if (urlRefusal) throw new OutboundRefusedError(`the URL ${urlRefusal}`);
  const url = new URL(value);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  // The address is chosen (and checked) here, and the socket connects to exactly that address.
  let address: string;
  let family: number;
  if (isIP(hostname)) {
    address = hostname;
    family = isIP(hostname);
  } else {
    const resolved = await lookup(hostname, { all: true, verbatim: true });
    for (const candidate of resolved) {
      const refusal = refusalOf(candidate.address, policy.allowLoopback);
      if (refusal) throw new OutboundRefusedError(`${hostname} resolves to ${candidate.address}, which ${refusal}`);
    }
    if (resolved.length === 0) throw new OutboundRefusedError(`${hostname} does not resolve`);
    ({ address, family } = resolved[0]!);
  }
  const refusal = refusalOf(address, policy.allowLoopback);
  if (refusal) throw new OutboundRefusedError(`${address} ${refusal}`);
  if (url.protocol === 'http:' && !loopback.check(address, family === 4 ? 'ipv4' : 'ipv6')) {
    throw new OutboundRefusedError('plain http is allowed only to loopback');
  }
  const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };

  const body = typeof request.body === 'string' ? Buffer.from(request.body) : request.body;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<OutboundResponse>((resolve, reject) => {
    const outgoing = client.request(
      url,
      {
        method: 'POST',
        headers: { ...request.headers, 'Content-Length': String(body.length) },
        lookup: pinnedLookup,
        // The host name, not the address, for TLS: the certificate is checked against it.
        servername: isIP(hostname) ? undefined : hostname,
        signal: AbortSignal.timeout(policy.timeoutMs),
        agent: false,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > policy.maxResponseBytes) {
            // Enough: the status is what matters, and a large answer is not read.
            incoming.destroy();
            resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
            return;
          }
          chunks.push(chunk);
        });
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
