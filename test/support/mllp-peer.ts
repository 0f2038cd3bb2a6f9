/** An MLLP client for tests: sends framed messages and collects the ACKs it receives. */
import net from 'node:net';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { readAck } from '../../simulator/gap';

export type Ack = { code: string; controlId: string; errors: string[] };

export class MllpPeer {
  readonly acks: Ack[] = [];
  private readonly deframer = new MllpDeframer();
  private waiters: Array<() => void> = [];
  closed = false;
  constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      for (const e of this.deframer.push(d)) if (e.kind === 'frame') this.acks.push(readAck(e.bytes)!);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }
  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static connect(port: number): Promise<MllpPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new MllpPeer(s)));
      s.once('error', reject);
    });
  }
  send(text: string | Buffer): void {
    this.socket.write(frame(typeof text === 'string' ? Buffer.from(text, 'utf8') : text));
  }
  /** Resolves once `n` ACKs arrived (or the socket closed); rejects after a generous bound. */
  async waitAcks(n: number, timeoutMs = 20000): Promise<Ack[]> {
    const until = Date.now() + timeoutMs;
    while (this.acks.length < n && !this.closed) {
      if (Date.now() > until) throw new Error(`${this.acks.length}/${n} ACKs received`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return this.acks;
  }
  end(): void {
    this.socket.destroy();
  }
}

/** Polls `f` until it returns something truthy (generous bound, no timed assertion). */
export async function waitFor<T>(f: () => T | undefined | false, what: string, timeoutMs = 20000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
