import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generateTestPki } from '../../lib/security/pki';
import { acksFor, receive } from '../../lib/hl7/intake';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { gapDay, type GapDayOptions, type GapMessage } from '../../simulator/gap-day';
import { GapAnswerListener, GapSimulator, countAnswers, readRocResult, type GapSimulatorOptions, type GapStats } from '../../simulator/gap';
import { buildAnswer } from '../../lib/hl7/answer';
import { MllpPeer } from '../support/mllp-peer';

/** An MLLP ACK server built from lib/hl7, with the failures a crash test needs. */
interface Received {
  id: string;
  conn: number;
  bytes: Buffer;
  acked: boolean;
  /** The frame ended in a chunk after the one it started in. */
  spanned: boolean;
}
class AckServer {
  readonly received: Received[] = [];
  readonly ackCount = new Map<string, number>();
  chunks = 0;
  blankGarbage = 0;
  multiFrameChunks = 0;
  connections = 0;
  private server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(
    private readonly opts: {
      /** Listen with TLS. */
      tls?: tls.TlsOptions;
      /** Destroy the first connection when its n-th frame arrives (not acknowledged). */
      dropAtFrame?: number;
      /** Never acknowledge the first reception of this control id. */
      holdOnce?: string;
      /** Answer CE (could not store, resend) to the first reception of this control id. */
      ceOnce?: string;
    } = {},
  ) {
    this.server = opts.tls ? tls.createServer(opts.tls, (s) => this.onSocket(s)) : net.createServer((s) => this.onSocket(s));
  }
  async start(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this.port;
  }
  private onSocket(socket: net.Socket): void {
    const conn = ++this.connections;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const d = new MllpDeframer();
    let frames = 0;
    let partial = false;
    const held = new Set<string>();
    socket.on('data', (chunk: Buffer) => {
      this.chunks++;
      const all = d.push(chunk);
      this.blankGarbage += all.filter((e) => e.kind === 'garbage' && e.blank).length;
      const events = all.filter((e) => e.kind === 'frame');
      if (events.length > 1) this.multiFrameChunks++;
      events.forEach((ev, k) => {
        if (ev.kind !== 'frame' || socket.destroyed) return;
        frames++;
        const intake = receive(ev.bytes);
        const id = intake.context.controlId ?? '';
        const r: Received = { id, conn, bytes: ev.bytes, acked: false, spanned: k === 0 && partial };
        this.received.push(r);
        if (conn === 1 && this.opts.dropAtFrame === frames) return void socket.destroy();
        if (
          this.opts.holdOnce === id &&
          !held.has(id) &&
          ![...this.ackCount.keys()].includes(id) &&
          this.received.filter((x) => x.id === id).length === 1
        ) {
          held.add(id);
          return;
        }
        const refuse = this.opts.ceOnce === id && this.received.filter((x) => x.id === id).length === 1;
        const plan = acksFor(intake, !refuse);
        for (const a of [plan.commit, plan.application]) if (a) socket.write(frame(a.bytes));
        if (refuse) return;
        r.acked = true;
        this.ackCount.set(id, (this.ackCount.get(id) ?? 0) + 1);
      });
      partial = d.inProgress;
    });
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function stream(
  day: GapDayOptions,
  sim: Omit<GapSimulatorOptions, 'port'>,
  server: AckServer,
): Promise<{ stats: GapStats; sim: GapSimulator; msgs: GapMessage[] }> {
  const port = await server.start();
  const msgs = [...gapDay(day)];
  const s = new GapSimulator({ port, ...sim });
  try {
    const stats = await s.run(gapDay(day));
    return { stats, sim: s, msgs };
  } finally {
    await s.stop();
  }
}

describe('GapSimulator over MLLP against a lib/hl7 ACK server', () => {
  let server: AckServer;
  afterEach(async () => server.stop());

  it.each([
    ['CR segment ends, one frame per write', {}],
    ['LF segment ends and two trailing blank lines', { lineEnding: 'LF', trailingBlankLines: 2 }],
    ['CRLF segment ends, CR LF after each frame', { lineEnding: 'CRLF', newlineAfterFrame: true }],
    ['four frames per TCP write', { framesPerWrite: 4 }],
    ['frames split across writes', { splitFrames: true }],
    ['one-byte writes for every 7th message', { oneByteEvery: 7 }],
  ] as const)('%s: every message acknowledged AA with MSA-2 = MSH-10', async (_label, quirks) => {
    server = new AckServer();
    const { stats, sim, msgs } = await stream({ messages: 60, venues: 6, seed: 11 }, { window: 4, quirks }, server);
    expect(stats).toMatchObject({ generated: 60, acked: 60, byCode: { AA: 60 }, resent: 0, unacked: 0, queued: 0, unmatchedAcks: 0 });
    expect(sim.journal().map((e) => [e.controlId, e.ack, e.attempts])).toEqual(msgs.map((m) => [m.controlId, 'AA', 1]));
    expect([...server.ackCount.keys()].sort()).toEqual(msgs.map((m) => m.controlId).sort());
    const payloads = server.received.map((r) => r.bytes.toString('latin1'));
    if ('lineEnding' in quirks && quirks.lineEnding === 'LF') {
      expect(payloads.every((p) => !p.includes('\r') && p.endsWith('\n\n\n'))).toBe(true);
    } else if ('lineEnding' in quirks && quirks.lineEnding === 'CRLF') {
      expect(payloads.every((p) => p.includes('\r\nPID|'))).toBe(true);
      expect(server.blankGarbage).toBeGreaterThan(0);
    } else {
      expect(payloads.every((p) => !p.includes('\n'))).toBe(true);
      expect(server.blankGarbage).toBe(0);
    }
    if ('framesPerWrite' in quirks) expect(server.multiFrameChunks).toBeGreaterThan(0);
    if ('splitFrames' in quirks) expect(server.received.some((r) => r.spanned)).toBe(true);
    if ('oneByteEvery' in quirks) {
      expect(stats.writes).toBeGreaterThan(1000);
      expect(server.chunks).toBeGreaterThan(60);
    }
  });

  it('sends ISO 8859-15 bytes (MSH-18 8859/15) for accented names, and 8859/1 and UTF-8 when asked', async () => {
    for (const charset of ['iso-8859-15', 'latin1', 'utf8'] as const) {
      server = new AckServer();
      const { stats } = await stream({ messages: 120, venues: 8, seed: 3, charset }, { window: 8 }, server);
      expect(stats.byCode).toEqual({ AA: 120 });
      const raw = Buffer.concat(server.received.map((r) => r.bytes));
      const msh18 = { 'iso-8859-15': '|8859/15|', latin1: '|8859/1|', utf8: '|UNICODE UTF-8|' }[charset];
      expect(server.received.every((r) => r.bytes.toString('latin1').split('\r')[0].includes(msh18))).toBe(true);
      const e = Buffer.from('É', charset === 'utf8' ? 'utf8' : 'latin1'); // É is 0xC9 in 8859-15 and 8859-1
      expect(raw.includes(e)).toBe(true);
      if (charset !== 'utf8') expect(raw.includes(Buffer.from('É', 'utf8'))).toBe(false);
      const intake = receive(server.received.find((r) => r.bytes.includes(e))!.bytes);
      expect(intake.text).toMatch(/[ÉËÏéëïè]/);
      await server.stop();
    }
    server = new AckServer();
    await server.start();
  });

  it('enhanced mode: CA commit ACK settles the message, the AA application ACK is recorded too', async () => {
    server = new AckServer();
    const { stats, sim } = await stream({ messages: 40, venues: 5, ackMode: 'enhanced' }, { window: 3 }, server);
    expect(stats.byCode).toEqual({ CA: 40 });
    for (let i = 0; i < 100 && sim.journal().some((e) => !e.applicationAck); i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim.journal().every((e) => e.ack === 'CA' && e.applicationAck === 'AA')).toBe(true);
  });

  it('connection dropped mid-stream: reconnects and resends exactly the unacknowledged messages', async () => {
    server = new AckServer({ dropAtFrame: 25 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gap-'));
    const journalFile = path.join(dir, 'journal.jsonl');
    try {
      const { stats, sim, msgs } = await stream(
        { messages: 80, venues: 10, seed: 5 },
        { window: 5, reconnectDelayMs: 20, journalFile },
        server,
      );
      expect(stats).toMatchObject({ acked: 80, byCode: { AA: 80 }, unacked: 0 });
      expect(stats.drops).toBeGreaterThanOrEqual(1);
      expect(stats.connects).toBeGreaterThanOrEqual(2);
      const ackedFirst = new Set(server.received.filter((r) => r.conn === 1 && r.acked).map((r) => r.id));
      const unackedFirst = new Set(server.received.filter((r) => r.conn === 1 && !r.acked).map((r) => r.id));
      const resent = new Set(
        sim
          .journal()
          .filter((e) => e.resentAfterDrop > 0)
          .map((e) => e.controlId),
      );
      expect(unackedFirst.size).toBeGreaterThan(0);
      for (const id of unackedFirst) expect(resent).toContain(id);
      for (const id of resent) expect(ackedFirst).not.toContain(id);
      for (const m of msgs) expect(server.ackCount.get(m.controlId)).toBeGreaterThanOrEqual(1);
      expect(sim.journal().every((e) => e.ack === 'AA')).toBe(true);
      // The journal file: one line per send and per ACK, control ids only (no patient data).
      const lines = readFileSync(journalFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { t: string; id: string; attempt?: number });
      expect(lines.filter((l) => l.t === 'ack').length).toBe(80);
      expect(new Set(lines.filter((l) => l.t === 'sent' && (l.attempt ?? 0) > 1).map((l) => l.id))).toEqual(resent);
      const text = readFileSync(journalFile, 'utf8');
      expect(text).not.toMatch(/MARTIN|GUÉRIN|2850430189042/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ACK withheld past the timeout: the connection is closed and the message resent once', async () => {
    server = new AckServer({ holdOnce: 'GAP00000012' });
    const { stats, sim } = await stream({ messages: 30, venues: 4 }, { window: 1, ackTimeoutMs: 300, reconnectDelayMs: 20 }, server);
    expect(stats).toMatchObject({ acked: 30, byCode: { AA: 30 } });
    expect(stats.timeouts).toBeGreaterThanOrEqual(1);
    const held = sim.journal().find((e) => e.controlId === 'GAP00000012')!;
    expect(held).toMatchObject({ ack: 'AA', attempts: 2, resentAfterDrop: 1 });
    expect(
      sim
        .journal()
        .filter((e) => e.attempts > 1)
        .map((e) => e.controlId),
    ).toEqual(['GAP00000012']);
    expect(server.received.filter((r) => r.id === 'GAP00000012').length).toBe(2);
  });

  it('CE (could not store) is answered by sending the message again, then AA', async () => {
    server = new AckServer({ ceOnce: 'GAP00000005' });
    const { stats, sim } = await stream({ messages: 12, venues: 3, ackMode: 'enhanced', applicationAck: 'NE' }, { window: 1 }, server);
    expect(stats.byCode).toEqual({ CA: 12 });
    const e = sim.journal().find((x) => x.controlId === 'GAP00000005')!;
    expect(e).toMatchObject({ ack: 'CA', attempts: 2, resentAfterDrop: 0, resentAfterCe: 1 });
    expect(server.received.filter((r) => r.id === 'GAP00000005').length).toBe(2);
  });

  it('over TLS with the CA of a test PKI', async () => {
    const pki = generateTestPki();
    server = new AckServer({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const { stats } = await stream({ messages: 20, venues: 4 }, { window: 2, tls: { ca: pki.caCert, servername: 'localhost' } }, server);
    expect(stats.byCode).toEqual({ AA: 20 });
  });

  it('several connections: each venue keeps its order, every message acknowledged once', async () => {
    server = new AckServer();
    const { stats, msgs } = await stream({ messages: 200, venues: 20, seed: 9 }, { connections: 3, window: 4, rate: 2000 }, server);
    expect(stats.byCode).toEqual({ AA: 200 });
    expect(server.connections).toBe(3);
    const order = (list: { venue: string; id: string }[]): Map<string, string[]> => {
      const m = new Map<string, string[]>();
      for (const x of list) if (x.venue) m.set(x.venue, [...(m.get(x.venue) ?? []), x.id]);
      return m;
    };
    const venueOf = new Map(msgs.map((m) => [m.controlId, m.venue]));
    expect(order(server.received.map((r) => ({ id: r.id, venue: venueOf.get(r.id) ?? '' })))).toEqual(
      order(msgs.map((m) => ({ id: m.controlId, venue: m.venue }))),
    );
    expect([...server.ackCount.values()].every((n) => n === 1)).toBe(true);
  });
});

describe('many connections, as fast as ACKs allow', () => {
  let server: AckServer;
  afterEach(async () => server.stop());

  it('8 connections with a window: no lane stalls when another lane feeds it (every message acknowledged)', async () => {
    server = new AckServer();
    // no rate: lanes drain their queues and stop their pumps; a pull by another lane must wake them
    const { stats } = await stream({ messages: 3000, venues: 64, seed: 21 }, { connections: 8, window: 32 }, server);
    expect(stats.byCode).toEqual({ AA: 3000 });
    expect(stats.unacked).toBe(0);
  });
});

describe('ACK counts per message type', () => {
  let server: AckServer;
  afterEach(async () => server.stop());
  it('counts the settling ACKs of the ADT, DFT and BAR messages apart (summing to byCode)', async () => {
    server = new AckServer();
    const { stats, msgs } = await stream({ messages: 200, venues: 8, seed: 11, invoices: true }, { window: 4 }, server);
    const dft = msgs.filter((m) => m.messageType === 'DFT').length;
    expect(dft).toBeGreaterThan(10);
    const sum = (c: Record<string, number> = {}): number => Object.values(c).reduce((a, b) => a + b, 0);
    expect(sum(stats.byType.DFT)).toBe(dft);
    const bar = msgs.filter((m) => m.messageType === 'BAR').length;
    expect(bar).toBeGreaterThan(0);
    expect(sum(stats.byType.BAR)).toBe(bar);
    expect(sum(stats.byType.ADT)).toBe(200 - dft - bar);
    const merged: Record<string, number> = {};
    for (const c of Object.values(stats.byType)) for (const [k, v] of Object.entries(c)) merged[k] = (merged[k] ?? 0) + v;
    expect(merged).toEqual(stats.byCode);
  });
});

describe('GapAnswerListener', () => {
  it('records the messages the bridge sends back and acknowledges each AA', async () => {
    const listener = new GapAnswerListener();
    const { port } = await listener.start();
    const sim = new GapSimulator({ port, window: 2 });
    try {
      const stats = await sim.run(gapDay({ messages: 10, controlIdPrefix: 'ANS' }));
      expect(stats.byCode).toEqual({ AA: 10 });
      expect(listener.received.map((r) => r.controlId)).toEqual(
        Array.from({ length: 10 }, (_, i) => `ANS${String(i + 1).padStart(8, '0')}`),
      );
      expect(listener.received[0].type).toMatch(/^ADT\^A\d\d/);
    } finally {
      await sim.stop();
      await listener.stop();
    }
  });

  it('counts what the bridge answers by ZRC service × status, each MSH-10 once, and the distinct engagement numbers', async () => {
    const listener = new GapAnswerListener();
    const { port } = await listener.start();
    const peer = await MllpPeer.connect(port);
    try {
      const zrc = (id: string, zrcFields: string): string =>
        [
          `MSH|^~\\&|ROC_BRIDGE|CH-ROC|GAP-SIM|CH-ROC|20260316101500||ADT^Z80^ADT_A01|${id}|P|2.5^FRA^2.11|||||FRA|8859/15`,
          'EVN||20260316101500',
          'PID|1||00100222^^^CH-ROC^PI||||||||||||||||261000003^^^CH-ROC^AN',
          'PV1|1|I|||||||||||||||||260000003^^^CH-ROC^VN',
          `ZRC|${zrcFields}`,
        ].join('\r');
      const sent = [
        zrc('RB1', 'IDB|OK|N|0775685365'),
        zrc('RB2', 'IDB|OK|N|0775685365'),
        zrc('RB3', 'IDB|KO|N|0775685365'),
        zrc('RB4', 'IDB|KO|Y'),
        zrc('RB5', 'CLC|OK|N|0775685365||||||ENG-2026-0001'),
        zrc('RB5', 'CLC|OK|N|0775685365||||||ENG-2026-0001'), // a copy (same MSH-10) after a lost ACK
        zrc('RB6', 'CLC|OK|N|0441927302||||||ENG-2026-0002'),
        zrc('RB7', 'CLC|KO|N|0775685365'),
        zrc('RB8', 'DEL|OK|N|0775685365|||||||||||||||||||ENG-2026-0001'),
        zrc('RB9', 'DEL|KO|Y'),
        zrc('RB10', 'SIM|OK|N'),
        'MSH|^~\\&|ROC_BRIDGE|CH-ROC|GAP-SIM|CH-ROC|20260316101500||ADT^A08^ADT_A01|RB11|P|2.5\rEVN||20260316101500',
      ];
      for (const t of sent) peer.send(t);
      const acks = await peer.waitAcks(sent.length);
      expect(acks.map((a) => a.code)).toEqual(sent.map(() => 'AA'));
      expect(listener.received.map((r) => r.roc?.service ?? '-')).toEqual([
        'IDB',
        'IDB',
        'IDB',
        'IDB',
        'CLC',
        'CLC',
        'CLC',
        'CLC',
        'DEL',
        'DEL',
        'SIM',
        '-',
      ]);
      expect(listener.counts()).toEqual({
        received: 12,
        distinct: 11,
        duplicates: 1,
        byResult: {
          'IDB OK': 2,
          'IDB KO': 1,
          'IDB KO technical': 1,
          'CLC OK': 2,
          'CLC KO': 1,
          'DEL OK': 1,
          'DEL KO technical': 1,
          'SIM OK': 1,
        },
        engagements: 2,
        invoices: {},
        other: 1,
      });
    } finally {
      peer.end();
      await listener.stop();
    }
  });

  it('reads the ZRC the bridge builds (lib/hl7/answer.ts) with the same layout', () => {
    const a = buildAnswer({
      admission: { patient: { ipp: { value: '00100222' } }, venue: { numeroVenue: { value: '260000003' } } },
      clc: {
        service: 'clc',
        status: 'OK',
        at: '2026-03-16T10:15:00Z',
        engagement: { numero: 'ENG-77', dateValidite: '2026-04-16' },
        lignes: [],
        consignes: [],
      },
    });
    expect(readRocResult(a.text)).toEqual({ service: 'CLC', status: 'OK', technical: false, engagement: 'ENG-77' });
    // a billing return: counted by its invoice state, its engagement (the one billed) not counted again
    const rsp = buildAnswer({
      admission: { patient: { ipp: { value: '00100222' } }, venue: { numeroVenue: { value: '260000003' } } },
      billing: { state: 'rejected', factureNumero: 'F1', engagement: 'ENG-77', reason: { code: 'R001', label: 'x', action: 'CORRIGER' } },
    });
    expect(readRocResult(rsp.text)).toEqual({ service: 'RSP', status: 'KO', technical: false, invoiceState: 'REJETE' });
    expect(countAnswers([{ controlId: 'A', type: 'ADT^Z80^ADT_A01', text: rsp.text, at: 0, roc: readRocResult(rsp.text) }])).toMatchObject({
      byResult: { 'RSP KO': 1 },
      invoices: { REJETE: 1 },
      engagements: 0,
    });
  });

  it('waitQuiet: keeps listening while answers come, stops after the quiet period or at the bound', async () => {
    const listener = new GapAnswerListener();
    const { port } = await listener.start();
    const peer = await MllpPeer.connect(port);
    try {
      const one = (id: string): string =>
        `MSH|^~\\&|ROC_BRIDGE|CH-ROC|GAP-SIM|CH-ROC|20260316101500||ADT^Z80^ADT_A01|${id}|P|2.5\rZRC|IDB|OK|N`;
      const t0 = Date.now();
      const timers = [100, 250, 400].map((ms, i) => setTimeout(() => peer.send(one(`Q${i}`)), ms));
      const waited = await listener.waitQuiet(5000, 300, t0);
      timers.forEach(clearTimeout);
      expect(listener.received.length).toBe(3);
      expect(waited).toBeGreaterThanOrEqual(650); // last answer at ~400 ms + 300 ms quiet
      expect(waited).toBeLessThan(2500);
      // The bound wins over a quiet period that never comes.
      const tick = setInterval(() => peer.send(one('T')), 50);
      const bounded = await listener.waitQuiet(400, 300);
      clearInterval(tick);
      expect(bounded).toBeGreaterThanOrEqual(390);
      expect(bounded).toBeLessThan(1200);
    } finally {
      peer.end();
      await listener.stop();
    }
  });

  it('refuses a bad port with a clear error', () => {
    expect(() => new GapSimulator({ port: 0 })).toThrow(/port must be 1\.\.65535/);
  });
});
