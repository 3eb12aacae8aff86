/**
 * A small authoritative DNS server for tests and the benchmark (UDP and TCP on 127.0.0.1, dns-packet
 * encoding): fixed A/AAAA/TXT records, NXDOMAIN with an SOA for unknown names, and switches for the
 * behaviours the gateway must cope with (silence, SERVFAIL, truncation that forces TCP).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

export interface FixtureRecord {
  type: 'A' | 'AAAA' | 'TXT';
  data: string | string[];
  ttl: number;
}

export interface UpstreamFixtureOptions {
  records?: Record<string, FixtureRecord[]>;
  /** SOA TTL and MINIMUM used for negative answers (RFC 2308). */
  soa?: { ttl: number; minimum: number };
  /** Names under this suffix that have no record get NXDOMAIN; any other unknown name gets A 192.0.2.1 (a wildcard zone for the benchmark). */
  nxdomainSuffix?: string;
  /** TTL of wildcard answers. */
  wildcardTtl?: number;
}

export interface UpstreamFixture {
  port: number;
  address: string;
  queries: { name: string; type: string; transport: 'udp' | 'tcp' }[];
  mode: 'answer' | 'silent' | 'servfail';
  /** Names answered over UDP with TC=1 and no records, so the client must retry over TCP. */
  truncateOverUdp: Set<string>;
  /** Names never answered (their own authorities are dead), whatever `mode` says. */
  silentNames: Set<string>;
  close(): Promise<void>;
}

export async function startUpstreamFixture(options: UpstreamFixtureOptions = {}): Promise<UpstreamFixture> {
  const records = options.records ?? {};
  const soa = options.soa ?? { ttl: 300, minimum: 60 };
  let udp = dgram.createSocket('udp4');
  const fixture: UpstreamFixture = {
    port: 0, address: '127.0.0.1', queries: [], mode: 'answer', truncateOverUdp: new Set(), silentNames: new Set(),
    close: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };

  function answer(query: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    let packet: dnsPacket.Packet;
    try {
      packet = dnsPacket.decode(query);
    } catch {
      return null;
    }
    const question = packet.questions?.[0];
    if (!question) return null;
    const name = question.name.toLowerCase();
    fixture.queries.push({ name, type: question.type, transport });
    if (fixture.mode === 'silent' || fixture.silentNames.has(name)) return null;
    const base = { id: packet.id, type: 'response' as const, questions: [question] };
    if (fixture.mode === 'servfail') return dnsPacket.encode({ ...base, flags: dnsPacket.RECURSION_DESIRED | 2 });
    if (transport === 'udp' && fixture.truncateOverUdp.has(name)) {
      return dnsPacket.encode({ ...base, flags: dnsPacket.TRUNCATED_RESPONSE });
    }
    const known = records[name];
    if (!known && options.nxdomainSuffix !== undefined && (name === options.nxdomainSuffix || name.endsWith(`.${options.nxdomainSuffix}`))) {
      return dnsPacket.encode({
        ...base, flags: 3,
        authorities: [{
          name: options.nxdomainSuffix, type: 'SOA', ttl: soa.ttl,
          data: { mname: 'ns.fixture', rname: 'admin.fixture', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: soa.minimum },
        }],
      });
    }
    const list = known ?? [{ type: 'A' as const, data: '192.0.2.1', ttl: options.wildcardTtl ?? 300 }];
    const answers = list.filter((r) => r.type === question.type).map((r) => ({ name: question.name, type: r.type, ttl: r.ttl, data: r.data })) as dnsPacket.Answer[];
    const authorities = answers.length === 0
      ? [{ name: question.name, type: 'SOA' as const, ttl: soa.ttl, data: { mname: 'ns.fixture', rname: 'admin.fixture', serial: 1, refresh: 60, retry: 60, expire: 60, minimum: soa.minimum } }]
      : [];
    return dnsPacket.encode({ ...base, flags: 0, answers, authorities });
  }

  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const reply = answer(msg, 'udp');
    if (reply) udp.send(reply, rinfo.port, rinfo.address);
  };
  udp.on('message', onMessage);
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const reply = answer(buffered.subarray(2, 2 + length), 'tcp');
        buffered = buffered.subarray(2 + length);
        if (reply) {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          socket.write(frame);
        }
      }
    });
  });
  // UDP and TCP on one port number: the UDP port is free by construction, the same TCP port may be
  // some other socket's (an ephemeral client port of a parallel test); then try another.
  for (let attempt = 1; ; attempt++) {
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
    fixture.port = udp.address().port;
    const listened = await new Promise<boolean>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' && attempt < 20 ? resolve(false) : reject(error));
      tcp.once('error', onError);
      tcp.listen(fixture.port, '127.0.0.1', () => {
        tcp.off('error', onError);
        resolve(true);
      });
    });
    if (listened) return fixture;
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    udp = dgram.createSocket('udp4');
    udp.on('message', onMessage);
  }
}
