/**
 * The MLLP answer sender (lib/gap/mllp-sender.ts) alone, without Node-RED: a temporary SQLite
 * journal and a scripted GAP listener on 127.0.0.1 (port 0) that answers AA / AE / AR, answers
 * nothing, answers with an ACK for another message (stray MSA-2), drops the connection, or is down
 * when the sender starts.
 *
 * What the interface engineer would notice: an answer is acknowledged only by the ACK of ITS
 * MSH-10; an unanswered answer is retried with backoff and then parked in the error queue; a parked
 * answer holds its venue's later answers (other venues flow) until it is resent or cancelled; a GAP
 * that comes up late still gets its answers; each venue's answers arrive in order; an answer
 * enqueued twice with the same answer key goes out once.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RECONNECT, MllpAnswerSender, answerKeyOf, type SendOutcome } from '../../lib/gap/mllp-sender';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { openSqliteJournal, type SqliteJournal } from '../../lib/store/sqlite';
import type { OutboundRecord } from '../../lib/store/journal';
import { DEST, freePort, sleep, until } from './sender-rig';

// ------------------------------------------------------------------ the scripted GAP

type Reply = 'AA' | 'AE' | 'AR' | 'none' | 'stray' | 'close';

interface Received {
  controlId: string;
  venue: string;
  at: number;
}

/** A GAP listener: reads each answer, replies as `decide` says (per answer and attempt number). */
class ScriptedGap {
  readonly frames: Received[] = [];
  readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  port = 0;
  connections = 0;
  constructor(public decide: (r: Received, attempt: number) => Reply = () => 'AA') {}

  /** Attempts seen so far for one MSH-10. */
  attempts(controlId: string): number {
    return this.frames.filter((f) => f.controlId === controlId).length;
  }

  async start(port = 0): Promise<number> {
    const server = net.createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const deframer = new MllpDeframer();
      socket.on('data', (chunk) => {
        for (const ev of deframer.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const m = parseEr7(decodeFrame(ev.bytes).text);
          const r: Received = { controlId: m.get('MSH-10'), venue: m.get('PV1-19'), at: Date.now() };
          this.frames.push(r);
          const reply = this.decide(r, this.attempts(r.controlId));
          if (reply === 'none') continue;
          if (reply === 'close') {
            socket.destroy();
            return;
          }
          const code = reply === 'stray' ? 'AA' : reply;
          const msa2 = reply === 'stray' ? `AUTRE-${r.controlId}` : r.controlId;
          const err = code === 'AA' ? '' : `\rERR|||207^Erreur applicative^HL70357|E`;
          const ack = `MSH|^~\\&|GAP|CHU-NORD|ROC-BRIDGE|CLINIQUE|20261120081501||ACK^Z01^ACK|ACK-${this.frames.length}|P|2.5\rMSA|${code}|${msa2}${err}`;
          socket.write(frame(Buffer.from(ack, 'latin1')));
        }
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}

// ------------------------------------------------------------------ fixtures

/** A ROC answer for venue `venue` (PV1-19) with MSH-10 `controlId`; no patient data is needed here. */
function answer(controlId: string, venue: string): Buffer {
  return Buffer.from(
    [
      `MSH|^~\\&|ROC-BRIDGE|CLINIQUE|GAP|CHU-NORD|20261120081500||ZRC^Z01^ZRC|${controlId}|P|2.5|||||FRA|8859/1`,
      `PV1|1|I|||||||||||||||||${venue}`,
      `ZRC|IDB|OK`,
    ].join('\r'),
    'latin1',
  );
}

interface Rig {
  journal: SqliteJournal;
  sender: MllpAnswerSender;
  gap: ScriptedGap;
  outcomes: SendOutcome[];
  dir: string;
}

const rigs: Rig[] = [];

async function rig(opts: {
  gap?: ScriptedGap;
  port?: number;
  ackTimeoutMs?: number;
  maxAttempts?: number;
  window?: number;
  backoffMs?: number;
  startGap?: boolean;
  reconnect?: { minMs: number; maxMs: number };
}): Promise<Rig> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-sender-'));
  const journal = openSqliteJournal({
    file: path.join(dir, 'journal.sqlite'),
    recoverSentOnOpen: false,
    maxAttempts: opts.maxAttempts ?? 3,
    backoff: { baseMs: opts.backoffMs ?? 20, factor: 2, maxMs: 400 },
  });
  const gap = opts.gap ?? new ScriptedGap();
  const port = opts.startGap === false ? (opts.port ?? 0) : await gap.start();
  const sender = new MllpAnswerSender({
    journal,
    destination: DEST,
    host: '127.0.0.1',
    port,
    ackTimeoutMs: opts.ackTimeoutMs ?? 2000,
    window: opts.window,
    reconnect: opts.reconnect ?? { minMs: 20, maxMs: 100 },
    connectTimeoutMs: 2000,
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
  const all = await r.journal.browseOutbound({ destination: DEST, limit: 1000 });
  const rec = all.find((x) => x.id === id);
  if (!rec) throw new Error(`answer ${id} not in the journal`);
  return rec;
}

/** Polls an async condition (generous bound; never a timed assertion). */

async function stateIs(r: Rig, id: number, state: string, what = `answer ${id} ${state}`): Promise<OutboundRecord> {
  return until(async () => {
    const rec = await record(r, id);
    return rec.state === state ? rec : undefined;
  }, what);
}

// ------------------------------------------------------------------ tests

describe('MllpAnswerSender against a real GAP socket', () => {
  it('sends an answer and settles it ACKED on the ACK whose MSA-2 is its MSH-10', async () => {
    const r = await rig({});
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0001', 'V-1001'), 'V-1001');
    const acked = await stateIs(r, rec.id, 'ACKED');
    expect(acked.attempts).toBe(1);
    expect(r.gap.frames.map((f) => f.controlId)).toEqual(['ROC-0001']);
    const o = await until(() => r.outcomes.find((x) => x.record.id === rec.id), 'outcome');
    expect(o).toMatchObject({ kind: 'acked', ackCode: 'AA', controlId: 'ROC-0001' });
    expect(r.sender.unmatchedAcks).toBe(0);
  });

  it('does not settle an answer on an ACK for another MSH-10 (stray ACK): it is resent and acked by its own', async () => {
    const gap = new ScriptedGap((_r, attempt) => (attempt === 1 ? 'stray' : 'AA'));
    const r = await rig({ gap, ackTimeoutMs: 300 });
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0002', 'V-1002'), 'V-1002');
    const acked = await stateIs(r, rec.id, 'ACKED');
    expect(r.sender.unmatchedAcks).toBeGreaterThanOrEqual(1);
    // the stray ACK settled nothing: the answer went a second time, with the same MSH-10
    expect(acked.attempts).toBe(2);
    expect(gap.frames.map((f) => f.controlId)).toEqual(['ROC-0002', 'ROC-0002']);
    expect(r.outcomes.map((o) => o.kind)).toEqual(['retry', 'acked']);
  });

  it('retries an unanswered answer with backoff, then parks it in the error queue after maxAttempts', async () => {
    const gap = new ScriptedGap(() => 'none');
    const r = await rig({ gap, ackTimeoutMs: 150, maxAttempts: 3, backoffMs: 250 });
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0003', 'V-1003'), 'V-1003');
    const parked = await stateIs(r, rec.id, 'ERROR');
    expect(parked.attempts).toBe(3);
    expect(parked.lastError).toMatch(/pas d'ACK/);
    expect(gap.frames.map((f) => f.controlId)).toEqual(['ROC-0003', 'ROC-0003', 'ROC-0003']);
    // backoff: each retry waited at least the ACK timeout plus the backoff (250 ms, then 500 → capped 400)
    const t = gap.frames.map((f) => f.at);
    expect(t[1] - t[0]).toBeGreaterThanOrEqual(150 + 250 - 20);
    expect(t[2] - t[1]).toBeGreaterThanOrEqual(150 + 400 - 20);
    expect(r.outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'error']);
    expect((await r.sender.errors()).map((e) => e.id)).toEqual([rec.id]);
    expect(await r.sender.counts()).toEqual({ queued: 0, sent: 0, error: 1 });
    // parked: not sent any more
    await sleep(500);
    expect(gap.frames).toHaveLength(3);
  });

  it('treats AE and AR as failures (retried, then error queue with the codes, not the GAP text)', async () => {
    const gap = new ScriptedGap((r) => (r.controlId === 'ROC-AE' ? 'AE' : 'AR'));
    const r = await rig({ gap, maxAttempts: 2 });
    r.sender.start();
    const ae = await r.sender.enqueue(answer('ROC-AE', 'V-2001'), 'V-2001');
    const ar = await r.sender.enqueue(answer('ROC-AR', 'V-2002'), 'V-2002');
    const e1 = await stateIs(r, ae.id, 'ERROR');
    const e2 = await stateIs(r, ar.id, 'ERROR');
    expect(e1.attempts).toBe(2);
    expect(e1.lastError).toBe('ACK AE (ERR 207)');
    expect(e2.lastError).toBe('ACK AR (ERR 207)');
    expect(gap.attempts('ROC-AE')).toBe(2);
    expect(gap.attempts('ROC-AR')).toBe(2);
  });

  it('a parked answer holds its venue’s later answers while other venues flow; resend unblocks the venue in order', async () => {
    let gapAccepts = false;
    const gap = new ScriptedGap((r) => (r.controlId === 'ROC-A1' && !gapAccepts ? 'AE' : 'AA'));
    const r = await rig({ gap, maxAttempts: 2 });
    r.sender.start();
    const a1 = await r.sender.enqueue(answer('ROC-A1', 'V-A'), 'V-A');
    await stateIs(r, a1.id, 'ERROR');
    const a2 = await r.sender.enqueue(answer('ROC-A2', 'V-A'), 'V-A');
    const b1 = await r.sender.enqueue(answer('ROC-B1', 'V-B'), 'V-B');
    await stateIs(r, b1.id, 'ACKED', 'the other venue flows');
    await sleep(300);
    expect((await record(r, a2.id)).state).toBe('QUEUED');
    expect(gap.attempts('ROC-A2')).toBe(0);

    gapAccepts = true;
    await r.sender.resend(a1.id);
    await stateIs(r, a2.id, 'ACKED');
    expect((await record(r, a1.id)).state).toBe('ACKED');
    const venueA = gap.frames.filter((f) => f.venue === 'V-A').map((f) => f.controlId);
    expect(venueA).toEqual(['ROC-A1', 'ROC-A1', 'ROC-A1', 'ROC-A2']);
  });

  it('cancelling the parked answer unblocks its venue; the cancelled answer is never sent again', async () => {
    const gap = new ScriptedGap((r) => (r.controlId === 'ROC-C1' ? 'AR' : 'AA'));
    const r = await rig({ gap, maxAttempts: 1 });
    r.sender.start();
    const c1 = await r.sender.enqueue(answer('ROC-C1', 'V-C'), 'V-C');
    const c2 = await r.sender.enqueue(answer('ROC-C2', 'V-C'), 'V-C');
    await stateIs(r, c1.id, 'ERROR');
    await sleep(300);
    expect(gap.attempts('ROC-C2')).toBe(0);
    await r.sender.cancel(c1.id);
    await stateIs(r, c2.id, 'ACKED');
    expect((await record(r, c1.id)).state).toBe('CANCELLED');
    expect(gap.attempts('ROC-C1')).toBe(1);
    expect(await r.sender.errors()).toEqual([]);
  });

  it('GAP down when the sender starts, then up on the same port: the answer is delivered after reconnect', async () => {
    // reserve a free port, then free it: the GAP is "down" there
    const probe = net.createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', () => res()));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((res) => probe.close(() => res()));

    const gap = new ScriptedGap();
    const r = await rig({ gap, port, startGap: false });
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0004', 'V-1004'), 'V-1004');
    await sleep(300); // several refused connection attempts
    expect(r.sender.isConnected).toBe(false);
    expect((await record(r, rec.id)).state).toBe('QUEUED');
    await gap.start(port);
    const acked = await stateIs(r, rec.id, 'ACKED');
    expect(acked.attempts).toBe(1);
    expect(r.sender.connects).toBe(1);
  });

  it('a long outage grew the backoff: an answer queued once the GAP listens connects at once, not at the end of the backoff', async () => {
    const port = await freePort();
    const gap = new ScriptedGap();
    // attempts at 0, 100, 300, 700, 1500 ms; the next one would be at 3100 ms
    const r = await rig({ gap, port, startGap: false, reconnect: { minMs: 100, maxMs: 60_000 } });
    r.sender.start();
    await sleep(1700);
    await gap.start(port);
    const rec = await r.sender.enqueue(answer('ROC-0040', 'V-1040'), 'V-1040');
    await until(async () => (await record(r, rec.id)).state === 'ACKED', 'answer delivered right after it was queued', 800);
    expect(r.sender.connects).toBe(1);
  });

  it('answers queued while nothing listens reach a listener that appears after a long outage within the backoff cap', async () => {
    const port = await freePort();
    const gap = new ScriptedGap();
    // uncapped, the attempts would be at 0, 50, 150, 350, 750, 1550, 3150, 6350 ms
    const r = await rig({ gap, port, startGap: false, reconnect: { minMs: 50, maxMs: 400 } });
    r.sender.start();
    const a = await r.sender.enqueue(answer('ROC-0041', 'V-1041'), 'V-1041');
    const b = await r.sender.enqueue(answer('ROC-0042', 'V-1042'), 'V-1042');
    await sleep(3300);
    expect(r.sender.isConnected).toBe(false);
    await gap.start(port);
    await until(
      async () => (await record(r, a.id)).state === 'ACKED' && (await record(r, b.id)).state === 'ACKED',
      'answers delivered',
      1200,
    );
    expect(gap.frames.map((f) => f.controlId).sort()).toEqual(['ROC-0041', 'ROC-0042']);
  });

  it('reconnects within a few seconds by default (the node and the flow may ask for more)', () => {
    expect(DEFAULT_RECONNECT.maxMs).toBeLessThanOrEqual(5000);
    expect(DEFAULT_RECONNECT.minMs).toBeLessThanOrEqual(DEFAULT_RECONNECT.maxMs);
  });

  it('a GAP that drops the connection before the ACK: the answer is resent on a new connection and acked', async () => {
    const gap = new ScriptedGap((_r, attempt) => (attempt === 1 ? 'close' : 'AA'));
    const r = await rig({ gap });
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0005', 'V-1005'), 'V-1005');
    const acked = await stateIs(r, rec.id, 'ACKED');
    expect(acked.attempts).toBe(2);
    expect(gap.connections).toBe(2);
    expect(r.outcomes[0]).toMatchObject({ kind: 'retry', reason: 'connexion perdue avant l’ACK' });
  });

  it('keeps each venue’s order with two venues interleaved (window 2, a failure in the middle)', async () => {
    const gap = new ScriptedGap((r, attempt) => (r.controlId === 'ROC-A2' && attempt === 1 ? 'AE' : 'AA'));
    const r = await rig({ gap, window: 2 });
    const ids: number[] = [];
    for (let i = 1; i <= 4; i++) {
      ids.push((await r.sender.enqueue(answer(`ROC-A${i}`, 'V-A'), 'V-A')).id);
      ids.push((await r.sender.enqueue(answer(`ROC-B${i}`, 'V-B'), 'V-B')).id);
    }
    r.sender.start();
    for (const id of ids) await stateIs(r, id, 'ACKED');
    for (const v of ['A', 'B']) {
      const seq = gap.frames.filter((f) => f.venue === `V-${v}`).map((f) => Number(f.controlId.slice(-1)));
      // never a later answer of the venue before the earlier one is acknowledged
      for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThanOrEqual(seq[i - 1]);
    }
    expect(gap.frames.filter((f) => f.venue === 'V-A').map((f) => f.controlId)).toEqual(['ROC-A1', 'ROC-A2', 'ROC-A2', 'ROC-A3', 'ROC-A4']);
  });

  it('an answer enqueued twice with the same answer key is sent once', async () => {
    const gap = new ScriptedGap();
    const r = await rig({ gap });
    const key = answerKeyOf({ journalId: 42, sender: 'GAP^CHU-NORD', controlId: 'ADT-7781', service: 'idb', outcome: 'ok' });
    expect(key).toBeDefined();
    r.sender.start();
    const first = await r.sender.enqueue(answer('ROC-0006', 'V-1006'), 'V-1006', 42, key);
    await stateIs(r, first.id, 'ACKED');
    // processed again (e.g. after a crash): a new MSH-10, the same key
    const again = await r.sender.enqueue(answer('ROC-0007', 'V-1006'), 'V-1006', 42, key);
    expect(again.existing).toBe(true);
    expect(again.id).toBe(first.id);
    // and two at once, before anything is stored
    const key2 = answerKeyOf({ journalId: 43, sender: 'GAP^CHU-NORD', controlId: 'ADT-7782', service: 'idb', outcome: 'ok' });
    const [x, y] = await Promise.all([
      r.sender.enqueue(answer('ROC-0008', 'V-1007'), 'V-1007', 43, key2),
      r.sender.enqueue(answer('ROC-0009', 'V-1007'), 'V-1007', 43, key2),
    ]);
    expect(x.id).toBe(y.id);
    await stateIs(r, x.id, 'ACKED');
    await sleep(200);
    expect(gap.frames.map((f) => f.controlId)).toEqual(['ROC-0006', x.existing ? 'ROC-0009' : 'ROC-0008']);
    expect((await r.journal.browseOutbound({ destination: DEST, limit: 100 })).length).toBe(2);
  });

  it('a sender restarted with an answer left SENT resends it with the same MSH-10, once acked nothing goes twice', async () => {
    let gapAnswers = false;
    const gap = new ScriptedGap(() => (gapAnswers ? 'AA' : 'none'));
    const r = await rig({ gap, ackTimeoutMs: 60_000 });
    r.sender.start();
    const rec = await r.sender.enqueue(answer('ROC-0010', 'V-1010'), 'V-1010');
    await until(() => gap.attempts('ROC-0010') === 1, 'first send');
    r.sender.close(); // stopped before the ACK: the answer stays SENT
    expect((await record(r, rec.id)).state).toBe('SENT');
    gapAnswers = true;
    const next = new MllpAnswerSender({
      journal: r.journal,
      destination: DEST,
      host: '127.0.0.1',
      port: gap.port,
      ackTimeoutMs: 2000,
      reconnect: { minMs: 20, maxMs: 100 },
    });
    r.sender = next;
    next.start();
    const acked = await stateIs(r, rec.id, 'ACKED');
    expect(acked.attempts).toBe(2);
    await sleep(200);
    expect(gap.frames.map((f) => f.controlId)).toEqual(['ROC-0010', 'ROC-0010']);
  });
});
