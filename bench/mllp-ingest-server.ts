/**
 * The two comparison servers of the MLLP ingest benchmark (bench/mllp-ingest.ts), each run in its
 * own process: `node dist/bench/mllp-ingest-server.js <kind> <port>` prints `READY <port>` once
 * listening and stops on SIGINT/SIGTERM. Neither stores anything.
 *
 * - `bare`: the floor. A net.Server, lib/hl7's MllpDeframer, and a constant ACK per frame
 *   (AA, fixed MSH) in which only MSA-2 varies: MSH-10 copied by a byte scan of the MSH line,
 *   no parse, no charset decoding (the GAP simulator matches ACKs on MSA-2, so MSA-2 must be
 *   right even for the floor). The ACKs a data chunk completes go out in one write.
 * - `node-hl7-server`: node-hl7-server 2.5.0 (`Server#createInbound`), the handler answering
 *   `res.sendResponse('AA')` for every message. Its per-message work is untouched
 *   (node-hl7-client `Message` parse, `InboundRequest`, `SendResponse` building the ACK with
 *   node-hl7-client), but its socket data handler is replaced by the same code with the framing
 *   fixed: 2.5.0 never empties its receive buffer (`loadedMessage` keeps every message of the
 *   connection, so the 2nd message is answered with the 1st one's MSH-10, the 3rd with two ACKs…)
 *   and treats a chunk holding several frames as one message. The fix cuts the buffer at each
 *   FS CR and keeps the rest. Batches (FHS/BHS) are not handled (the GAP day has none).
 * - `node-hl7-server-as-shipped`: the same, unpatched; used only by the harness's short probe
 *   that records the defect above.
 */
import net from 'node:net';
import { Message } from 'node-hl7-client';
import { InboundRequest, SendResponse, Server, Inbound } from 'node-hl7-server';
import { CR, FS, MllpDeframer, VT } from '../lib/hl7/mllp';

const VT_S = String.fromCharCode(VT);
const FOOTER_S = String.fromCharCode(FS) + String.fromCharCode(CR);

// ---- bare: deframer + constant ACK ----

const ACK_HEAD = Buffer.from('\x0bMSH|^~\\&|ROC-BENCH|BENCH|GAP|GAP|20260316120000||ACK^A01^ACK|ACK|P|2.5\rMSA|AA|', 'latin1');
const ACK_TAIL = Buffer.from('\r\x1c\r', 'latin1');
const PIPE = 0x7c;

/** MSH-10 of a frame, by byte scan: the field after the 9th separator of the first line. */
function controlIdOf(bytes: Buffer): Buffer {
  const sep = bytes.length > 3 ? bytes[3] : PIPE;
  let seen = 0;
  let start = -1;
  for (let i = 3; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === CR || b === 0x0a) break;
    if (b === sep) {
      seen++;
      if (seen === 9) start = i + 1;
      else if (seen === 10) return bytes.subarray(start, i);
    }
  }
  return start >= 0 ? bytes.subarray(start) : Buffer.alloc(0);
}

function startBare(port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const deframer = new MllpDeframer();
    socket.on('data', (chunk: Buffer) => {
      const out: Buffer[] = [];
      for (const ev of deframer.push(chunk)) if (ev.kind === 'frame') out.push(ACK_HEAD, controlIdOf(ev.bytes), ACK_TAIL);
      if (out.length) socket.write(Buffer.concat(out));
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

// ---- node-hl7-server ----

interface InboundInternals {
  _sockets: net.Socket[];
  _opt: { encoding: BufferEncoding; overrideMSH: boolean };
  _handler: (req: InboundRequest, res: SendResponse) => void;
  _closeSocket(socket: net.Socket): void;
  stats: { received: number; totalMessage: number };
  emit(name: string, ...args: unknown[]): boolean;
}

/** node-hl7-server 2.5.0's `_onTcpClientConnected`, with the receive buffer cut at each FS CR. */
function onTcpClientConnectedFixed(this: InboundInternals, socket: net.Socket): void {
  let loadedMessage = '';
  this._sockets.push(socket);
  socket.setNoDelay(true);
  socket.setEncoding(this._opt.encoding);
  socket.on('data', (buffer: string) => {
    socket.cork();
    ++this.stats.received;
    try {
      loadedMessage += buffer.toString();
      let end: number;
      while ((end = loadedMessage.indexOf(FOOTER_S)) !== -1) {
        let text = loadedMessage.slice(0, end);
        loadedMessage = loadedMessage.slice(end + FOOTER_S.length);
        const vt = text.indexOf(VT_S);
        if (vt !== -1) text = text.slice(vt + 1);
        this.emit('data.raw', text);
        const messageParsed = new Message({ text });
        ++this.stats.totalMessage;
        const req = new InboundRequest(messageParsed, { type: 'file' });
        const res = new SendResponse(socket, messageParsed, this._opt.overrideMSH);
        void this._handler(req, res);
      }
    } catch (err) {
      this.emit('data.error', err);
    }
    socket.uncork();
  });
  socket.on('error', (err) => {
    this.emit('client.error', err);
    this._closeSocket(socket);
  });
  socket.on('close', (hadError) => {
    this.emit('client.close', hadError);
    this._closeSocket(socket);
  });
  this.emit('client.connect', socket);
}

function startNodeHl7Server(port: number, fixed: boolean): Promise<Inbound> {
  if (fixed) (Inbound.prototype as unknown as { _onTcpClientConnected: unknown })._onTcpClientConnected = onTcpClientConnectedFixed;
  const server = new Server({ bindAddress: '127.0.0.1' });
  const inbound = server.createInbound({ port, name: 'bench' }, async (req, res) => {
    req.getMessage();
    await res.sendResponse('AA');
  });
  return new Promise((resolve, reject) => {
    inbound.once('error', reject);
    inbound.once('listen', () => resolve(inbound));
  });
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  const port = Number(process.argv[3] ?? 0);
  let close: () => Promise<unknown>;
  if (kind === 'bare') {
    const s = await startBare(port);
    close = () => new Promise((r) => s.close(r));
  } else if (kind === 'node-hl7-server' || kind === 'node-hl7-server-as-shipped') {
    const ib = await startNodeHl7Server(port, kind === 'node-hl7-server');
    close = () => ib.close();
  } else throw new Error(`unknown server kind ${kind} (bare, node-hl7-server, node-hl7-server-as-shipped)`);
  process.stdout.write(`READY ${port}\n`);
  const stop = () => void close().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
