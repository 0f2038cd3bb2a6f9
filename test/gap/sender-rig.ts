/**
 * A GAP listener and helpers for the MLLP answer sender's tests (lib/gap/mllp-sender.ts): the GAP
 * answers AA at once (`ack`), records and answers when told (`hold`) or closes every connection at
 * once (`drop`); over TLS when given a key and certificate. 127.0.0.1, port 0.
 */
import net from 'node:net';
import tls from 'node:tls';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';

export const latin1 = (s: string) => Buffer.from(s, 'latin1');
export const DEST = 'mllp:gap.chu-nord.test:0';

export function answer(controlId: string, venue: string): Buffer {
  return latin1(
    [
      `MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01^ZRC|${controlId}|P|2.5|||||FRA|8859/1`,
      `PV1|1|I|||||||||||||||||${venue}`,
      'ZRC|IDB|OK',
    ].join('\r'),
  );
}

/** A GAP listener: `mode` ack (answers AA at once), hold (records, answers when told), drop (closes every connection at once). */
export class Gap {
  readonly received: Array<{ controlId: string; socket: net.Socket }> = [];
  connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  port = 0;
  constructor(
    public mode: 'ack' | 'hold' | 'drop',
    private readonly tlsOptions?: tls.TlsOptions,
  ) {}
  async start(port = 0): Promise<void> {
    const onSocket = (socket: net.Socket) => {
      this.connections++;
      socket.on('error', () => undefined);
      if (this.mode === 'drop') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      const d = new MllpDeframer();
      socket.on('data', (chunk) => {
        for (const ev of d.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const controlId = parseEr7(decodeFrame(ev.bytes).text).get('MSH-10');
          this.received.push({ controlId, socket });
          if (this.mode === 'ack') this.ack(controlId);
        }
      });
    };
    const server = this.tlsOptions ? tls.createServer(this.tlsOptions, onSocket) : net.createServer(onSocket);
    this.server = server;
    await new Promise<void>((res) => server.listen(port, '127.0.0.1', () => res()));
    this.port = (server.address() as net.AddressInfo).port;
  }
  ack(controlId: string): void {
    const g = [...this.received].reverse().find((f) => f.controlId === controlId)!;
    g.socket.write(frame(latin1(`MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|G-1|P|2.5\rMSA|AA|${controlId}`)));
  }
  /** Closes the open connections (a GAP restarting), keeps listening. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

export async function until<T>(
  f: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timeout: ${what}`);
    await new Promise((res) => setTimeout(res, 15));
  }
}
/** A port nothing listens on (connections refused). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
