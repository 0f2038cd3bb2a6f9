/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts), what its first tests left open (mutation
 * testing, issue 12): the answer key an answer is deduplicated by, the reading of the GAP's ACK
 * (MSA-1, MSA-2, ERR codes of 2.5 and of 2.3), the MSH-10 read back from a stored answer, and
 * against a GAP listener on 127.0.0.1 (port 0) that holds its ACKs until the test releases them:
 * strict one-at-a-time MLLP by default (window 1), several venues at once only with a window, a
 * commit ACK (CA) taken as accepted, CE / CR refused with their codes, the ACK-timeout text, an
 * answer that cannot be framed (VT/FS bytes) never sent, and the queue counts an operator sees.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpAnswerSender, answerKeyOf, controlIdOf, readAck, type SendOutcome } from '../../lib/gap/mllp-sender';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import type { OutboundRecord } from '../../lib/store/journal';
import { DEST, latin1, sleep, until } from './sender-rig';

describe('answerKeyOf: the key an answer is deduplicated by', () => {
  const base = { sender: 'GAP^CHU-NORD', controlId: 'ADT-000781', service: 'idb', outcome: 'ok' };

  it('is `in:<journal id>:<digest>|SERVICE|OUTCOME` with a journal id, without the sender or MSH-10 in clear', () => {
    const key = answerKeyOf({ ...base, journalId: 42 });
    expect(key).toMatch(/^in:42:[0-9a-f]{16}\|IDB\|OK$/);
    expect(key).not.toContain('CHU-NORD');
    expect(key).not.toContain('ADT-000781');
  });

  it('falls back to `msh:<digest>` when the journal id is absent, zero, negative or not an integer', () => {
    const msh = answerKeyOf(base);
    expect(msh).toMatch(/^msh:[0-9a-f]{16}\|IDB\|OK$/);
    for (const journalId of [0, -3, 1.5, Number.NaN]) expect(answerKeyOf({ ...base, journalId })).toBe(msh);
    expect(answerKeyOf({ ...base, journalId: 1 })).toMatch(/^in:1:/);
  });

  it('is undefined without any inbound reference (no journal id, no MSH-10)', () => {
    expect(answerKeyOf({ service: 'IDB', outcome: 'OK' })).toBeUndefined();
    expect(answerKeyOf({ sender: 'GAP^CHU-NORD', controlId: '', service: 'IDB', outcome: 'OK' })).toBeUndefined();
    // with a journal id alone it is a key
    expect(answerKeyOf({ journalId: 7, service: 'IDB', outcome: 'OK' })).toMatch(/^in:7:[0-9a-f]{16}\|IDB\|OK$/);
  });

  it('tells apart two senders, two MSH-10, a sender/MSH-10 boundary, a service and an outcome', () => {
    const keys = [
      answerKeyOf(base),
      answerKeyOf({ ...base, sender: 'GAP^CHU-SUD' }),
      answerKeyOf({ ...base, controlId: 'ADT-000782' }),
      // "GAP^CHU-NORD" + "1" vs "GAP^CHU-NORD1" + "": the separator keeps them apart
      answerKeyOf({ ...base, sender: 'GAP^CHU-NORD', controlId: '1' }),
      answerKeyOf({ ...base, sender: 'GAP^CHU-NORD1', controlId: '', journalId: undefined }),
      answerKeyOf({ ...base, service: 'SIM' }),
      answerKeyOf({ ...base, outcome: 'KO-T' }),
    ];
    expect(keys.filter((k) => k !== undefined)).toHaveLength(6);
    expect(new Set(keys.filter((k) => k !== undefined)).size).toBe(6);
    // and the same references give the same key (a message processed again)
    expect(answerKeyOf({ ...base })).toBe(keys[0]);
    expect(answerKeyOf({ ...base, sender: undefined })).toBe(answerKeyOf({ ...base, sender: '' }));
    expect(answerKeyOf({ ...base, sender: undefined })).not.toBe(keys[0]);
  });

  it('with a journal id, the MSH-10 still enters the digest (two listeners’ journals may share ids)', () => {
    const a = answerKeyOf({ ...base, journalId: 42 });
    const b = answerKeyOf({ ...base, journalId: 42, controlId: 'ADT-000782' });
    const c = answerKeyOf({ ...base, journalId: 42, controlId: '' });
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('upper-cases service and outcome and keeps at most 10 characters of each', () => {
    expect(answerKeyOf({ ...base, service: 'facturation-b2', outcome: 'ko-technique' })).toMatch(/\|FACTURATIO\|KO-TECHNIQ$/);
  });
});

describe('readAck and controlIdOf', () => {
  const ack = (...segments: string[]) =>
    latin1(['MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^A01^ACK|GAP-1|P|2.5', ...segments].join('\r'));

  it('reads MSA-1 (upper-cased), MSA-2 and no error code from an AA', () => {
    expect(readAck(ack('MSA|aa|ROC-0001'))).toEqual({ code: 'AA', controlId: 'ROC-0001', errors: [] });
  });

  it('reads the ERR-3 codes of 2.5 and the ERR-1.4 code of 2.3, skipping ERR segments without a code', () => {
    const a = readAck(
      ack('MSA|AE|ROC-0002', 'ERR|||207^Erreur applicative^HL70357|E', 'ERR||PID^1^3|', 'ERR|PID^1^3^102&Data type error&HL70357'),
    );
    expect(a).toEqual({ code: 'AE', controlId: 'ROC-0002', errors: ['207', '102'] });
  });

  it('is undefined for a frame that is not an ACK (no MSA)', () => {
    expect(readAck(latin1('MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ADT^A01|GAP-2|P|2.5\rEVN|A01'))).toBeUndefined();
  });

  it('controlIdOf reads MSH-10 unescaped, and "" when the answer has none', () => {
    expect(controlIdOf(latin1('MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01|ROC\\T\\0001|P|2.5'))).toBe('ROC&0001');
    expect(controlIdOf(latin1('MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01||P|2.5'))).toBe('');
    expect(controlIdOf(latin1('MSH|^~\\&|ROC-BRIDGE|CLINIQUE'))).toBe('');
    expect(controlIdOf(latin1('PID|1||123'))).toBe('');
  });
});

// ------------------------------------------------------------------ a GAP that holds its ACKs

interface Got {
  controlId: string;
  venue: string;
  socket: net.Socket;
}

/** A GAP listener that records each answer and ACKs only when the test says so (`ack`). */
class HoldingGap {
  readonly frames: Got[] = [];
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  port = 0;
  /** Immediate reply per MSH-10 (else held). */
  constructor(public auto: (controlId: string) => string | undefined = () => undefined) {}

  async start(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const d = new MllpDeframer();
      socket.on('data', (chunk) => {
        for (const ev of d.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const m = parseEr7(decodeFrame(ev.bytes).text);
          const g = { controlId: m.get('MSH-10'), venue: m.get('PV1-19'), socket };
          this.frames.push(g);
          const code = this.auto(g.controlId);
          if (code) this.ack(g.controlId, code);
        }
      });
    });
    this.server = server;
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Sends the ACK (code, optional ERR segments) of the last frame received with this MSH-10. */
  ack(controlId: string, code: string, errs: string[] = []): void {
    const g = [...this.frames].reverse().find((f) => f.controlId === controlId);
    if (!g) throw new Error(`nothing received with MSH-10 ${controlId}`);
    const text = [
      `MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|GAP-${this.frames.length}|P|2.5`,
      `MSA|${code}|${controlId}`,
    ]
      .concat(errs.map((e) => `ERR|||${e}^Erreur^HL70357|E`))
      .join('\r');
    g.socket.write(frame(latin1(text)));
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

function answer(controlId: string, venue: string, extra = ''): Buffer {
  return latin1(
    [
      `MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01^ZRC|${controlId}|P|2.5|||||FRA|8859/1`,
      `PV1|1|I|||||||||||||||||${venue}`,
      `ZRC|IDB|OK${extra}`,
    ].join('\r'),
  );
}

interface Rig {
  journal: SqliteJournal;
  sender: MllpAnswerSender;
  gap: HoldingGap;
  outcomes: SendOutcome[];
  dir: string;
}
const rigs: Rig[] = [];

async function rig(
  gap: HoldingGap,
  opts: { window?: number; ackTimeoutMs?: number; maxAttempts?: number; connectTimeoutMs?: number } = {},
): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-sender-ack-'));
  const journal = openSqliteJournal({
    file: path.join(dir, 'journal.sqlite'),
    recoverSentOnOpen: false,
    maxAttempts: opts.maxAttempts ?? 3,
    backoff: { baseMs: 20, factor: 2, maxMs: 100 },
  });
  await gap.start();
  const sender = new MllpAnswerSender({
    journal,
    destination: DEST,
    host: '127.0.0.1',
    port: gap.port,
    ackTimeoutMs: opts.ackTimeoutMs ?? 10_000,
    window: opts.window,
    reconnect: { minMs: 20, maxMs: 100 },
    connectTimeoutMs: opts.connectTimeoutMs,
    maxAttempts: opts.maxAttempts,
  });
  const outcomes: SendOutcome[] = [];
  sender.on('outcome', (o: SendOutcome) => outcomes.push(o));
  sender.on('fault', () => undefined);
  const r = { journal, sender, gap, outcomes, dir };
  rigs.push(r);
  return r;
}

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.sender.close();
    await r.gap.stop();
    await r.journal.close();
    fs.rmSync(r.dir, { recursive: true, force: true });
  }
});

async function record(r: Rig, id: number): Promise<OutboundRecord> {
  const rec = (await r.journal.browseOutbound({ destination: DEST, limit: 1000 })).find((x) => x.id === id);
  if (!rec) throw new Error(`answer ${id} not in the journal`);
  return rec;
}

const stateIs = (r: Rig, id: number, state: string) =>
  until(async () => {
    const rec = await record(r, id);
    return rec.state === state ? rec : undefined;
  }, `answer ${id} ${state}`);

describe('MllpAnswerSender: one answer at a time, ACK codes, timeouts', () => {
  it('window 1 (default): a second venue’s answer waits until the first is acknowledged', async () => {
    const r = await rig(new HoldingGap());
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-A1', 'V-A'), 'V-A');
    const b = await r.sender.enqueue(answer('ROC-B1', 'V-B'), 'V-B');
    await until(() => r.gap.frames.length === 1, 'first answer sent');
    await sleep(300);
    expect(r.gap.frames.map((f) => f.controlId)).toEqual(['ROC-A1']);
    // what the operator sees meanwhile: one in flight, one waiting
    expect(await r.sender.counts()).toEqual({ queued: 1, sent: 1, error: 0 });
    r.gap.ack('ROC-A1', 'AA');
    await until(() => r.gap.frames.length === 2, 'second answer sent after the ACK');
    expect(r.gap.frames[1].controlId).toBe('ROC-B1');
    r.gap.ack('ROC-B1', 'AA');
    await stateIs(r, a.id, 'ACKED');
    await stateIs(r, b.id, 'ACKED');
    expect(await r.sender.counts()).toEqual({ queued: 0, sent: 0, error: 0 });
  });

  it('window 2: two venues are in flight at once, a third waits for a free slot', async () => {
    const r = await rig(new HoldingGap(), { window: 2 });
    r.sender.start();
    await r.sender.enqueue(answer('ROC-A1', 'V-A'), 'V-A');
    await r.sender.enqueue(answer('ROC-B1', 'V-B'), 'V-B');
    await r.sender.enqueue(answer('ROC-C1', 'V-C'), 'V-C');
    await until(() => r.gap.frames.length === 2, 'two answers in flight');
    await sleep(300);
    expect(r.gap.frames.map((f) => f.controlId).sort()).toEqual(['ROC-A1', 'ROC-B1']);
    expect(await r.sender.counts()).toEqual({ queued: 1, sent: 2, error: 0 });
    r.gap.ack('ROC-B1', 'AA');
    await until(() => r.gap.frames.length === 3, 'third answer sent once a slot is free');
    expect(r.gap.frames[2].controlId).toBe('ROC-C1');
  });

  it('a window of 1.9 is a window of 1 (whole answers only)', async () => {
    const r = await rig(new HoldingGap(), { window: 1.9 });
    r.sender.start();
    await r.sender.enqueue(answer('ROC-A1', 'V-A'), 'V-A');
    await r.sender.enqueue(answer('ROC-B1', 'V-B'), 'V-B');
    await until(() => r.gap.frames.length === 1, 'first answer sent');
    await sleep(300);
    expect(r.gap.frames).toHaveLength(1);
  });

  it('a commit ACK (CA) settles the answer as accepted', async () => {
    const r = await rig(new HoldingGap(() => 'CA'));
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0101', 'V-1'), 'V-1');
    const rec = await stateIs(r, a.id, 'ACKED');
    expect(rec.attempts).toBe(1);
    const o = await until(() => r.outcomes.find((x) => x.record.id === a.id), 'outcome');
    expect(o).toMatchObject({ kind: 'acked', ackCode: 'CA', controlId: 'ROC-0101' });
    expect(r.gap.frames).toHaveLength(1);
  });

  it('CE and CR are refusals: retried, then the error queue with the code and at most five ERR codes', async () => {
    const gap = new HoldingGap();
    const r = await rig(gap, { maxAttempts: 1 });
    r.sender.start();
    const ce = await r.sender.enqueue(answer('ROC-CE', 'V-1'), 'V-1');
    await until(() => gap.frames.length === 1, 'CE answer sent');
    gap.ack('ROC-CE', 'CE', ['100', '101', '102', '103', '207', '208']);
    const e1 = await stateIs(r, ce.id, 'ERROR');
    expect(e1.lastError).toBe('ACK CE (ERR 100, 101, 102, 103, 207)');
    const cr = await r.sender.enqueue(answer('ROC-CR', 'V-2'), 'V-2');
    await until(() => gap.frames.length === 2, 'CR answer sent');
    gap.ack('ROC-CR', 'CR');
    const e2 = await stateIs(r, cr.id, 'ERROR');
    expect(e2.lastError).toBe('ACK CR');
    expect(r.outcomes.map((o) => o.kind)).toEqual(['error', 'error']);
  });

  it('no ACK in time: the error text gives the wait in seconds', async () => {
    const gap = new HoldingGap();
    const r = await rig(gap, { ackTimeoutMs: 250, maxAttempts: 1 });
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0102', 'V-1'), 'V-1');
    const e = await stateIs(r, a.id, 'ERROR');
    expect(e.lastError).toBe("pas d'ACK en 0.3 s");
    expect(r.outcomes[0]).toMatchObject({ kind: 'error', controlId: 'ROC-0102' });
  });

  it('a late ACK (after the timeout) settles nothing and is counted as unmatched', async () => {
    const gap = new HoldingGap();
    const r = await rig(gap, { ackTimeoutMs: 400, maxAttempts: 5 });
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0103', 'V-1'), 'V-1');
    await until(() => gap.frames.length >= 2, 'resent after the timeout');
    // the ACK of the latest attempt, on the latest connection: accepted
    gap.ack('ROC-0103', 'AA');
    await stateIs(r, a.id, 'ACKED');
    expect(r.outcomes[0].kind).toBe('retry');
    expect(r.outcomes[r.outcomes.length - 1].kind).toBe('acked');
    // the connection whose ACK did not come was closed: the resend went on a new one
    expect(gap.frames[1].socket).not.toBe(gap.frames[0].socket);
    expect(gap.frames[0].socket.destroyed).toBe(true);
    const before = r.sender.unmatchedAcks;
    // an ACK for an answer no longer in flight
    gap.ack('ROC-0103', 'AA');
    await until(() => r.sender.unmatchedAcks === before + 1, 'unmatched ACK counted');
    expect((await record(r, a.id)).state).toBe('ACKED');
  });

  it('an answer holding VT or FS bytes cannot be framed: never sent, parked with the reason, the venue’s next answer flows after cancel', async () => {
    const gap = new HoldingGap(() => 'AA');
    const r = await rig(gap, { maxAttempts: 1 });
    r.sender.start();
    const bad = await r.sender.enqueue(answer('ROC-0104', 'V-1', '\u001c'), 'V-1');
    const e = await stateIs(r, bad.id, 'ERROR');
    expect(e.lastError).toBe('réponse non encapsulable en MLLP (octets VT/FS)');
    expect(gap.frames).toHaveLength(0);
    const next = await r.sender.enqueue(answer('ROC-0105', 'V-1'), 'V-1');
    await sleep(200);
    expect(gap.frames).toHaveLength(0);
    await r.sender.cancel(bad.id);
    await stateIs(r, next.id, 'ACKED');
    expect(gap.frames.map((f) => f.controlId)).toEqual(['ROC-0105']);
  });

  it('emits connected once on connection and disconnected when the GAP drops it', async () => {
    const gap = new HoldingGap(() => 'AA');
    const r = await rig(gap);
    const events: string[] = [];
    r.sender.on('connected', () => events.push('connected'));
    r.sender.on('disconnected', () => events.push('disconnected'));
    r.sender.start();
    await until(() => r.sender.isConnected, 'connected');
    await r.gap.stop();
    await until(() => events.includes('disconnected'), 'disconnected');
    expect(r.sender.isConnected).toBe(false);
    await sleep(300); // refused reconnection attempts: never "connected", nothing more to say
    expect(events).toEqual(['connected', 'disconnected']);
  });

  it('a connection quiet for longer than the connection timeout stays open (the timeout bounds the connecting only)', async () => {
    const gap = new HoldingGap(() => 'AA');
    const r = await rig(gap, { connectTimeoutMs: 150 });
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0106', 'V-1'), 'V-1');
    await stateIs(r, a.id, 'ACKED');
    await sleep(500);
    expect(r.sender.isConnected).toBe(true);
    expect(r.sender.connects).toBe(1);
    const b = await r.sender.enqueue(answer('ROC-0107', 'V-1'), 'V-1');
    await stateIs(r, b.id, 'ACKED');
    expect(gap.frames[1].socket).toBe(gap.frames[0].socket);
  });

  it('close() closes the connection to the GAP and leaves the answer in flight SENT for the next start', async () => {
    const gap = new HoldingGap();
    const r = await rig(gap);
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0108', 'V-1'), 'V-1');
    await until(() => gap.frames.length === 1, 'answer sent');
    r.sender.close();
    await until(() => gap.frames[0].socket.destroyed || gap.frames[0].socket.readableEnded, 'GAP side sees the connection closed');
    expect(r.sender.isConnected).toBe(false);
    await sleep(200);
    expect((await record(r, a.id)).state).toBe('SENT');
    expect(r.outcomes).toEqual([]);
  });

  it('a journal that cannot be read at start is reported as a fault', async () => {
    const gap = new HoldingGap();
    const r = await rig(gap);
    const faults: Error[] = [];
    r.sender.on('fault', (e: Error) => faults.push(e));
    await r.journal.close();
    await gap.stop(); // nothing to send to: the fault can only come from the recovery at start
    r.sender.start();
    await until(() => faults.length > 0, 'fault emitted');
    r.journal = openSqliteJournal({ file: path.join(r.dir, 'journal.sqlite'), recoverSentOnOpen: false });
  });
});
