/**
 * roc-mllp-out over real sockets: answers built from msg.roc, queued in the SQLite journal, sent to
 * a GAP listener (the simulator's GapAnswerListener, or a scripted GAP answering AE / late / never),
 * ACK matched on MSA-2, per-venue order with interleaved venues, reconnect after the GAP restarts,
 * AE → bounded retries → error queue → admin resend, and a node restart with queued and
 * unacknowledged answers (nothing lost, nothing sent twice once acknowledged).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import mllpOutNode from '../../nodes/roc-mllp-out/roc-mllp-out';
import { GapAnswerListener } from '../../simulator/gap';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { ackContextFromBytes, buildAck } from '../../lib/hl7/ack';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { openSqliteJournal } from '../../lib/store/sqlite';
import { newDossier } from '../../lib/dossier/dossier';
import { generateTestPki } from '../../lib/security/pki';
import type { IdbResult } from '../../lib/model/dossier';
import { expectNoPatientData, identifiersFromDossier, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const tlsConfigNode = require('@node-red/nodes/core/network/05-tls.js');

// ------------------------------------------------------------------ fixtures

const IDB_OK: IdbResult = {
  service: 'idb',
  status: 'OK',
  technical: false,
  messages: [],
  requestId: 'REQ-1',
  latencyMs: 380,
  attempts: 1,
  at: '2026-11-20T08:15:00Z',
  couverture: { numeroContrat: 'CT-2026-0042', periodes: [{ debut: '2026-01-01', fin: '2026-12-31' }], domaines: ['HOSPITALISATION'] },
  consignes: [],
};

/** A desk-style dossier for venue `venue` whose result is tagged with `tag` (in requestId). */
function dossier(venue: string, tag: string) {
  return {
    amc: { numeroAmc: '0077554321' },
    beneficiaire: { nir: '2850430189042', dateNaissance: '1985-04-12', nom: 'MARTIN', prenom: 'Camille' },
    venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', numeroDossier: `NDA-${venue}`, numeroVenue: venue },
    idb: { ...IDB_OK, requestId: tag },
  };
}

const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = identifiersFromDossier(dossier('V-1', 'T'));
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});

interface Got {
  venue: string;
  tag: string;
  controlId: string;
}
function readAnswer(text: string): Got {
  const m = parseEr7(text);
  return { venue: m.get('PV1-19'), tag: m.get('ZRC-19'), controlId: m.get('MSH-10') };
}

/** A scripted GAP: decides the ACK of each frame (AA, AE, or none), may hold ACKs to reorder them. */
class ScriptedGap {
  readonly frames: Got[] = [];
  private server?: net.Server;
  readonly sockets = new Set<net.Socket>();
  port = 0;
  /** Frames received for a venue while an earlier frame of that venue was still unacknowledged. */
  overtakes = 0;
  maxInFlight = 0;
  private readonly unacked = new Map<string, string[]>();
  constructor(
    private decide: (g: Got, n: number) => 'AA' | 'AE' | 'none' = () => 'AA',
    private readonly holdUntil = 1,
  ) {}
  setDecide(d: (g: Got, n: number) => 'AA' | 'AE' | 'none'): void {
    this.decide = d;
  }
  async start(port = 0): Promise<number> {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const deframer = new MllpDeframer();
      let held: Array<{ bytes: Buffer; venue: string; controlId: string }> = [];
      let flushTimer: NodeJS.Timeout | undefined;
      const flush = () => {
        if (flushTimer) clearTimeout(flushTimer);
        flushTimer = undefined;
        // released in reverse order: the sender must match on MSA-2, not on arrival order
        for (const h of held.reverse()) {
          const l = this.unacked.get(h.venue) ?? [];
          this.unacked.set(
            h.venue,
            l.filter((c) => c !== h.controlId),
          );
          if (!socket.destroyed) socket.write(h.bytes);
        }
        held = [];
      };
      socket.on('close', () => flushTimer && clearTimeout(flushTimer));
      socket.on('data', (chunk) => {
        for (const ev of deframer.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const g = readAnswer(decodeFrame(ev.bytes).text);
          const list = this.unacked.get(g.venue) ?? [];
          if (list.length) this.overtakes++;
          list.push(g.controlId);
          this.unacked.set(g.venue, list);
          const inFlight = [...this.unacked.values()].reduce((n, l) => n + l.length, 0);
          this.maxInFlight = Math.max(this.maxInFlight, inFlight);
          this.frames.push(g);
          const code = this.decide(g, this.frames.length);
          if (code === 'none') continue;
          const ctx = ackContextFromBytes(ev.bytes);
          const issues =
            code === 'AE'
              ? [{ code: '207' as const, severity: 'E' as const, message: 'Erreur applicative côté GAP (dossier MARTIN verrouillé)' }]
              : [];
          held.push({ bytes: frame(buildAck(ctx, { code, issues, application: 'GAP' }).bytes), venue: g.venue, controlId: g.controlId });
          if (held.length >= this.holdUntil) flush();
          else flushTimer ??= setTimeout(flush, 30);
        }
      });
    });
    const server = this.server;
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }
  /** Forget what is unacknowledged (the sender resends after a drop). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.unacked.clear();
  }
  async stop(): Promise<void> {
    this.dropAll();
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

// ------------------------------------------------------------------ harness

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-out-'));
});
afterEach(async () => {
  await helper.unload();
  fs.rmSync(tmp, { recursive: true, force: true });
});

type Msg = { roc: any; topic?: string };

function flow(port: number, extra: Record<string, unknown> = {}) {
  return [
    { id: 'f1', type: 'tab', label: 'answers' },
    {
      id: 'out',
      z: 'f1',
      type: 'roc-mllp-out',
      name: 'GAP',
      host: '127.0.0.1',
      port,
      charset: 'utf8',
      dbPath: path.join(tmp, 'journal.sqlite'),
      ackTimeout: 2,
      maxAttempts: 3,
      retryBase: 0.02,
      retryMax: 0.05,
      reconnectMin: 0.02,
      reconnectMax: 0.1,
      window: 1,
      outputs: 2,
      wires: [['ok'], ['err']],
      ...extra,
    },
    { id: 'ok', z: 'f1', type: 'helper', wires: [] },
    { id: 'err', z: 'f1', type: 'helper', wires: [] },
  ];
}

/** Collects what leaves each output. */
function collect() {
  const ok: Msg[] = [];
  const err: Msg[] = [];
  const waiters: Array<() => void> = [];
  const poke = () => waiters.splice(0).forEach((w) => w());
  helper.getNode('ok').on('input', (m: Msg) => {
    ok.push(m);
    poke();
  });
  helper.getNode('err').on('input', (m: Msg) => {
    err.push(m);
    poke();
  });
  const until = (cond: () => boolean, what: string, ms = 15000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      const check = () => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { ok, err, until };
}

/** Polls a condition that no output announces (a listener's count); rejects after 15 s. */
async function eventually(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function input(roc: unknown, extra: Record<string, unknown> = {}): void {
  helper.getNode('out').receive({ roc, topic: 'answer', ...extra });
}

async function journalRows(file: string) {
  const j = openSqliteJournal({ file, recoverSentOnOpen: false });
  try {
    return await j.browseOutbound({ limit: 1000 });
  } finally {
    await j.close();
  }
}

// ------------------------------------------------------------------ tests

describe('roc-mllp-out: delivery to the GAP', () => {
  it('sends the answer, matches the GAP ACK on MSA-2 = MSH-10 and gives msg on output 1 with the result', async () => {
    const gap = new GapAnswerListener();
    const { port } = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port));
      const c = collect();
      input(dossier('VB01001', 'REQ-A'));
      await c.until(() => c.ok.length === 1, 'the ACK');
      const msg = c.ok[0];
      expect(msg.topic).toBe('answer'); // the rest of msg is left alone
      expect(msg.roc.idb.status).toBe('OK');
      expect(msg.roc.gapAnswer).toMatchObject({
        state: 'ACKED',
        ackCode: 'AA',
        service: 'IDB',
        orderingKey: 'PV1-19:VB01001',
        attempts: 1,
        destination: `mllp:127.0.0.1:${port}`,
      });
      expect(gap.received).toHaveLength(1);
      expect(gap.received[0].type).toBe('ADT^Z80^ADT_A01');
      expect(gap.received[0].controlId).toBe(msg.roc.gapAnswer.controlId);
      const m = parseEr7(gap.received[0].text);
      expect([m.get('ZRC-1'), m.get('ZRC-2'), m.get('ZRC-4'), m.get('PV1-19')]).toEqual(['IDB', 'OK', '0077554321', 'VB01001']);
      expect(gap.received[0].text).not.toContain('2850430189042'); // the NIR stays home
      const rows = await journalRows(path.join(tmp, 'journal.sqlite'));
      expect(rows.map((r) => r.state)).toEqual(['ACKED']);
      expect(c.err).toHaveLength(0);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('refuses a msg.roc without result or identifier with a catchable error naming the cause', async () => {
    const gap = new GapAnswerListener();
    const { port } = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port));
      const node = helper.getNode('out');
      const errors: string[] = [];
      node.error = (e: Error | string) => errors.push(String((e as Error).message ?? e));
      input({ venue: { numeroVenue: 'VB01002' } });
      await eventually(() => errors.length > 0, 'the error');
      expect(errors[0]).toMatch(/aucun résultat ROC/);
      expect(gap.received).toHaveLength(0);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('keeps each venue in order with interleaved venues and several answers in flight, ACKs matched out of order', async () => {
    const gap = new ScriptedGap(() => 'AA', 3);
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { window: 3 }));
      const c = collect();
      const venues = ['VA', 'VB', 'VC', 'VD'];
      const sent: Got[] = [];
      for (let i = 0; i < 5; i++) {
        for (const v of venues) {
          input(dossier(v, `${v}-${i}`));
          sent.push({ venue: v, tag: `${v}-${i}`, controlId: '' });
        }
      }
      await c.until(() => c.ok.length === 20, 'all ACKs');
      for (const v of venues) {
        expect(gap.frames.filter((g) => g.venue === v).map((g) => g.tag)).toEqual([0, 1, 2, 3, 4].map((i) => `${v}-${i}`));
      }
      expect(gap.overtakes).toBe(0); // never two answers of one venue unacknowledged at once
      expect(gap.maxInFlight).toBeGreaterThan(1); // other venues did flow meanwhile
      expect(gap.frames).toHaveLength(20); // each once
      const ids = c.ok.map((m) => m.roc.gapAnswer.controlId);
      expect(new Set(ids).size).toBe(20);
      // each output message is the one whose answer was acknowledged
      for (const m of c.ok) expect(gap.frames.find((g) => g.controlId === m.roc.gapAnswer.controlId)!.tag).toBe(m.roc.idb.requestId);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('reconnects after the GAP listener restarts and delivers what was queued meanwhile', async () => {
    const gap = new GapAnswerListener();
    const { port } = await gap.start();
    let gap2: GapAnswerListener | undefined;
    try {
      await helper.load([mllpOutNode], flow(port, { maxAttempts: 50 }));
      const c = collect();
      input(dossier('VB02001', 'avant'));
      await c.until(() => c.ok.length === 1, 'the first ACK');
      await gap.stop();
      const statuses: string[] = [];
      const node = helper.getNode('out');
      const orig = node.status.bind(node);
      node.status = (s: { text?: string }) => {
        statuses.push(s.text ?? '');
        orig(s);
      };
      input(dossier('VB02001', 'pendant-1'));
      input(dossier('VB02002', 'pendant-2'));
      await eventually(
        () => statuses.some((s) => s.startsWith('déconnecté') && s.includes('2 en file')),
        'the disconnected status with 2 queued',
      );
      gap2 = new GapAnswerListener({ port });
      await gap2.start();
      await c.until(() => c.ok.length === 3, 'the queued answers after reconnecting');
      expect(gap2.received.map((r) => readAnswer(r.text).tag)).toEqual(['pendant-1', 'pendant-2']);
      expect(c.err).toHaveLength(0);
    } finally {
      await helper.unload();
      await gap.stop();
      await gap2?.stop();
    }
  });

  it('AE → bounded retries with the same MSH-10 → error queue (output 2, admin list); the venue waits, others flow; resend delivers', async () => {
    const gap = new ScriptedGap((g) => (g.venue === 'VB03001' ? 'AE' : 'AA'));
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { maxAttempts: 3 }));
      const c = collect();
      input(dossier('VB03001', 'refuse'));
      await c.until(() => c.err.length === 1, 'the error queue');
      const bad = c.err[0].roc.gapAnswer;
      expect(bad).toMatchObject({ state: 'ERROR', attempts: 3, orderingKey: 'PV1-19:VB03001' });
      expect(bad.error).toMatch(/ACK AE \(ERR 207\)/);
      expect(bad.error).not.toContain('MARTIN'); // the GAP's free text is not kept
      const copies = gap.frames.filter((g) => g.tag === 'refuse');
      expect(copies).toHaveLength(3);
      expect(new Set(copies.map((g) => g.controlId)).size).toBe(1);

      // the venue is held behind its failed answer, another venue flows
      input(dossier('VB03001', 'suivant'));
      input(dossier('VB03002', 'autre'));
      await c.until(() => c.ok.length === 1, 'the other venue');
      expect(c.ok[0].roc.idb.requestId).toBe('autre');
      expect(gap.frames.some((g) => g.tag === 'suivant')).toBe(false);

      const list = await helper.request().get('/roc/outbound/errors').expect(200);
      expect(list.body).toEqual([
        expect.objectContaining({ id: bad.id, node: 'out', orderingKey: 'PV1-19:VB03001', attempts: 3, lastError: bad.error }),
      ]);
      expect(JSON.stringify(list.body)).not.toContain('MARTIN');

      // the GAP is fixed; resend from the error queue: the failed answer, then the held one
      gap.setDecide(() => 'AA');
      await helper.request().post('/roc/outbound/resend/99999').expect(404);
      await helper.request().post('/roc/outbound/resend/abc').expect(400);
      const r = await helper.request().post(`/roc/outbound/resend/${bad.id}`).expect(200);
      expect(r.body).toMatchObject({ id: bad.id, state: 'QUEUED' });
      await c.until(() => c.ok.length === 3, 'the resent and the held answers');
      expect(c.ok.slice(1).map((m) => m.roc.gapAnswer.state)).toEqual(['ACKED', 'ACKED']);
      expect(gap.frames.filter((g) => g.venue === 'VB03001').map((g) => g.tag)).toEqual([
        'refuse',
        'refuse',
        'refuse',
        'refuse',
        'suivant',
      ]);
      await helper.request().post(`/roc/outbound/resend/${bad.id}`).expect(409); // no longer in error
      expect((await helper.request().get('/roc/outbound/errors').expect(200)).body).toEqual([]);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('no ACK in time: the connection is renewed and the answer resent with the same MSH-10, then acknowledged', async () => {
    const gap = new ScriptedGap((_g, n) => (n === 1 ? 'none' : 'AA'));
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { ackTimeout: 0.3, maxAttempts: 5 }));
      const c = collect();
      input(dossier('VB04001', 'lent'));
      await c.until(() => c.ok.length === 1, 'the ACK of the second attempt');
      expect(gap.frames).toHaveLength(2);
      expect(gap.frames[0].controlId).toBe(gap.frames[1].controlId);
      expect(c.ok[0].roc.gapAnswer).toMatchObject({ state: 'ACKED', attempts: 2 });
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});

describe('roc-mllp-out: error queue and ACK matching', () => {
  it('cancelling an answer in the error queue lets its venue flow on', async () => {
    const gap = new ScriptedGap((g) => (g.tag === 'bloquee' ? 'AE' : 'AA'));
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { maxAttempts: 2 }));
      const c = collect();
      input(dossier('VB07001', 'bloquee'));
      await c.until(() => c.err.length === 1, 'the error queue');
      input(dossier('VB07001', 'derriere'));
      const id = c.err[0].roc.gapAnswer.id;
      await helper.request().post(`/roc/outbound/cancel/${id}`).expect(200, { id, node: 'out', state: 'CANCELLED' });
      await c.until(() => c.ok.length === 1, 'the answer behind');
      expect(c.ok[0].roc.idb.requestId).toBe('derriere');
      expect(gap.frames.map((g) => g.tag)).toEqual(['bloquee', 'bloquee', 'derriere']);
      await helper.unload();
      const rows = await journalRows(path.join(tmp, 'journal.sqlite'));
      expect(rows.map((r) => r.state)).toEqual(['CANCELLED', 'ACKED']);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('an ACK whose MSA-2 is not the MSH-10 sent settles nothing: the answer is resent and settled by its own ACK', async () => {
    const gap = new ScriptedGap((_g, n) => (n === 1 ? 'none' : 'AA'));
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { ackTimeout: 0.4 }));
      const c = collect();
      input(dossier('VB08001', 'unique'));
      await eventually(() => gap.frames.length === 1, 'the first frame');
      // a stray ACK for another message arrives on the connection right after the answer
      const sock = [...gap.sockets][0];
      const stray = buildAck(
        {
          sendingApplication: 'ROC_BRIDGE',
          sendingFacility: '',
          receivingApplication: 'GAP',
          receivingFacility: '',
          controlId: 'RBAUTRE0001',
          charset: 'utf8',
        },
        { code: 'AA' },
      );
      sock.write(frame(stray.bytes));
      await c.until(() => c.ok.length === 1, 'the real ACK');
      expect(gap.frames).toHaveLength(2); // resent after the timeout: the stray ACK did not count
      expect(c.ok[0].roc.gapAnswer).toMatchObject({ state: 'ACKED', attempts: 2, controlId: gap.frames[0].controlId });
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('with one output, answers in the error queue leave by output 1 with state ERROR', async () => {
    const gap = new ScriptedGap(() => 'AE');
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { maxAttempts: 1, outputs: 1, wires: [['ok']] }));
      const c = collect();
      input(dossier('VB09001', 'seule-sortie'));
      await c.until(() => c.ok.length === 1, 'the error on output 1');
      expect(c.ok[0].roc.gapAnswer).toMatchObject({ state: 'ERROR', attempts: 1 });
      expect(c.ok[0].roc.gapAnswer.error).toMatch(/^ACK AE/);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});

describe('roc-mllp-out: TLS', () => {
  it('sends over TLS with the certificates of a tls-config node (server checked against the CA, client certificate presented)', async () => {
    const pki = generateTestPki();
    for (const [f, v] of [
      ['ca.crt', pki.caCert],
      ['client.crt', pki.clientCert],
      ['client.key', pki.clientKey],
    ])
      fs.writeFileSync(path.join(tmp, f), v);
    const gap = new GapAnswerListener({
      tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.caCert, requestCert: true, rejectUnauthorized: true },
    });
    const { port } = await gap.start();
    try {
      const tlsConf = {
        id: 'tlsconf',
        type: 'tls-config',
        cert: path.join(tmp, 'client.crt'),
        key: path.join(tmp, 'client.key'),
        ca: path.join(tmp, 'ca.crt'),
        verifyservercert: true,
        servername: 'localhost',
      };
      await helper.load([mllpOutNode, tlsConfigNode], [...flow(port, { usetls: true, tls: 'tlsconf' }), tlsConf]);
      const c = collect();
      input(dossier('VB06001', 'tls'));
      await c.until(() => c.ok.length === 1, 'the ACK over TLS');
      expect(gap.received.map((r) => readAnswer(r.text).tag)).toEqual(['tls']);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });

  it('a GAP whose certificate the CA does not vouch for gets nothing; the answer waits in the queue', async () => {
    const pki = generateTestPki();
    const other = generateTestPki();
    fs.writeFileSync(path.join(tmp, 'other-ca.crt'), other.caCert);
    const gap = new GapAnswerListener({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const { port } = await gap.start();
    try {
      const tlsConf = {
        id: 'tlsconf',
        type: 'tls-config',
        cert: '',
        key: '',
        ca: path.join(tmp, 'other-ca.crt'),
        verifyservercert: true,
        servername: 'localhost',
      };
      await helper.load([mllpOutNode, tlsConfigNode], [...flow(port, { usetls: true, tls: 'tlsconf' }), tlsConf]);
      const statuses: string[] = [];
      const node = helper.getNode('out');
      const orig = node.status.bind(node);
      node.status = (st: { text?: string }) => {
        statuses.push(st.text ?? '');
        orig(st);
      };
      input(dossier('VB06002', 'refuse-tls'));
      await eventually(() => statuses.some((x) => x === 'déconnecté · 1 en file'), 'the queued status');
      expect(gap.received).toHaveLength(0);
      const rows = await journalRows(path.join(tmp, 'journal.sqlite'));
      expect(rows.map((r) => [r.state, r.attempts])).toEqual([['QUEUED', 0]]); // not sent, no attempt spent
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});

describe('roc-mllp-out: restart', () => {
  it('answers queued or unacknowledged when the node stops are sent after the restart, in order, once; acknowledged ones are never sent again', async () => {
    // 1. the GAP takes the first answer but never acknowledges it; the others queue behind or beside it
    const gap = new ScriptedGap(() => 'none');
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port, { ackTimeout: 60 }));
      input(dossier('VB05001', 'v1-a'));
      input(dossier('VB05001', 'v1-b'));
      input(dossier('VB05002', 'v2-a'));
      await eventually(() => gap.frames.length === 1, 'the first frame');
      await eventually(async () => (await journalRows(path.join(tmp, 'journal.sqlite'))).length === 3, 'three answers stored');
      await helper.unload(); // redeploy / stop: v1-a is SENT without ACK, two are QUEUED
      const before = await journalRows(path.join(tmp, 'journal.sqlite'));
      expect(before.map((r) => r.state)).toEqual(['SENT', 'QUEUED', 'QUEUED']); // v1-a's fate is unknown

      // 2. restart against a GAP that acknowledges
      gap.setDecide(() => 'AA');
      gap.dropAll();
      await helper.load([mllpOutNode], flow(port));
      const c = collect();
      await c.until(() => c.ok.length === 3, 'the resumed answers');
      for (const m of c.ok) expect(m.roc.gapAnswer.state).toBe('ACKED'); // resumed: bare result, no original msg
      const v1 = gap.frames.filter((g) => g.venue === 'VB05001').map((g) => g.tag);
      expect(v1).toEqual(['v1-a', 'v1-a', 'v1-b']); // v1-a again (never acknowledged), then v1-b
      expect(gap.frames.filter((g) => g.venue === 'VB05002').map((g) => g.tag)).toEqual(['v2-a']);
      await helper.unload();

      // 3. another restart: nothing acknowledged is sent again; a new answer goes through alone
      const seen = gap.frames.length;
      await helper.load([mllpOutNode], flow(port));
      const c2 = collect();
      input(dossier('VB05003', 'apres'));
      await c2.until(() => c2.ok.length === 1, 'the new answer');
      expect(gap.frames.slice(seen).map((g) => g.tag)).toEqual(['apres']);
      expect(c2.ok[0].roc.idb.requestId).toBe('apres');
      await helper.unload();
      const after = await journalRows(path.join(tmp, 'journal.sqlite'));
      expect(after.map((r) => r.state)).toEqual(['ACKED', 'ACKED', 'ACKED', 'ACKED']);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});

describe('roc-mllp-out: idempotent answers (a message processed again after a crash)', () => {
  it('the same inbound message, service and outcome is answered once: the second pass gets the existing answer, the GAP no second MSH-10', async () => {
    const gap = new ScriptedGap(() => 'AA');
    const port = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port));
      const c = collect();
      const hl7 = { journalId: 42, controlId: 'ADT-2026-0042', sender: 'CPAGE/CHU-NORD' };
      input(dossier('VB07001', 'first-pass'), { hl7 });
      await c.until(() => c.ok.length === 1, 'the first answer');
      const first = c.ok[0].roc.gapAnswer;
      expect(first.existing).toBeUndefined();
      // Restart (redeploy after a crash): the listener hands the message out again; the services
      // run again and the answer is rebuilt, with a new MSH-10.
      await helper.unload();
      await helper.load([mllpOutNode], flow(port));
      const c2 = collect();
      input(dossier('VB07001', 'second-pass'), { hl7 });
      await c2.until(() => c2.ok.length === 1, 'the second pass');
      expect(c2.ok[0].roc.gapAnswer).toMatchObject({
        state: 'ACKED',
        id: first.id,
        controlId: first.controlId,
        existing: true,
        service: 'IDB',
      });
      // A technical failure is another outcome: that one is answered; and so is another message.
      const technical = dossier('VB07001', 'third-pass');
      technical.idb = {
        ...technical.idb,
        status: 'KO',
        technical: true,
        messages: [{ code: 'TECH', libelle: 'AMC injoignable' }],
      } as typeof technical.idb;
      input(technical, { hl7 });
      input(dossier('VB07002', 'other'), { hl7: { journalId: 43, controlId: 'ADT-2026-0043', sender: 'CPAGE/CHU-NORD' } });
      await c2.until(() => c2.ok.length === 3, 'the two new answers');
      // While the first answer is still in the queue (no ACK yet), a second pass joins it instead.
      gap.setDecide(() => 'none');
      input(dossier('VB07003', 'pending'), { hl7: { journalId: 44, controlId: 'ADT-2026-0044', sender: 'CPAGE/CHU-NORD' } });
      await eventually(() => gap.frames.some((g) => g.tag === 'pending'), 'the unacknowledged answer');
      input(dossier('VB07003', 'pending-again'), { hl7: { journalId: 44, controlId: 'ADT-2026-0044', sender: 'CPAGE/CHU-NORD' } });
      await eventually(async () => (await journalRows(path.join(tmp, 'journal.sqlite'))).length === 4, 'four answers stored');
      await new Promise((r) => setTimeout(r, 100));
      expect(gap.frames.map((g) => g.tag)).toEqual(['first-pass', 'third-pass', 'other', 'pending']);
      expect(new Set(gap.frames.map((g) => g.controlId)).size).toBe(4);
      // Once the GAP acknowledges it, both passes leave output 1 with the one answer.
      gap.setDecide(() => 'AA');
      gap.dropAll();
      await c2.until(() => c2.ok.length === 5, 'both passes of the queued answer');
      const [p1, p2] = c2.ok.slice(3);
      expect(p1.roc.idb.requestId).toBe('pending');
      expect(p2.roc.idb.requestId).toBe('pending-again');
      expect(p2.roc.gapAnswer).toMatchObject({
        state: 'ACKED',
        id: p1.roc.gapAnswer.id,
        controlId: p1.roc.gapAnswer.controlId,
        existing: true,
      });
      // Without an inbound reference (a desk dossier), every input is an answer, as before.
      input(dossier('VB07004', 'desk-1'));
      input(dossier('VB07004', 'desk-2'));
      await eventually(() => gap.frames.filter((g) => g.venue === 'VB07004').length === 2, 'two desk answers');
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});

describe('roc-mllp-out: billing returns (roc-rsp → the GAP)', () => {
  it('an invoice paid or rejected is answered as ZRC-1 RSP, with the GAP identifiers of the dossier in the journal; once per return', async () => {
    const file = path.join(tmp, 'journal.sqlite');
    const j = openSqliteJournal({ file });
    const key = '750100125/V/VB08001';
    const d = newDossier(key, 'PV1-19', new Date('2026-11-20T08:00:00Z'), '750100125');
    await j.saveDossier({
      ...d,
      etat: 'REJETE',
      contexte: { venue: { numeroVenue: 'VB08001', numeroDossier: 'NDA-VB08001' }, amc: { numeroAmc: '0077554321' } },
    } as typeof d);
    await j.putInvoiceBilling({
      key,
      number: 'F280000009',
      state: 'ready',
      amcCents: 32412,
      engagement: 'E4321261120AB0000001',
      amc: '0077554321',
    });
    await j.close();
    const gap = new GapAnswerListener();
    const { port } = await gap.start();
    try {
      await helper.load([mllpOutNode], flow(port));
      const c = collect();
      const billing = {
        state: 'rejected',
        key,
        factureNumero: 'F280000009',
        amc: '0077554321',
        finess: '750100125',
        paidCents: 0,
        differenceCents: 32412,
        reason: { code: 'R006', label: 'Montants incoherents', action: 'CORRIGER' },
        file: { hash: 'a'.repeat(64), amc: '0077554321', numero: 3 },
        dossier: { cle: key, etat: 'REJETE' },
      };
      input({ billing });
      await c.until(() => c.ok.length === 1, 'the billing answer');
      expect(c.ok[0].roc.gapAnswer).toMatchObject({ state: 'ACKED', service: 'RSP', orderingKey: 'PV1-19:VB08001' });
      expect(c.ok[0].roc.admission).toBeUndefined(); // nothing of the dossier is put on msg
      expect(gap.received).toHaveLength(1);
      const m = parseEr7(gap.received[0].text);
      expect([m.get('PV1-19'), m.raw('PID-18'), m.get('ZRC-1'), m.get('ZRC-2'), m.get('ZRC-4'), m.get('ZRC-10')]).toEqual([
        'VB08001',
        'NDA-VB08001^^^^AN',
        'RSP',
        'KO',
        '0077554321',
        'E4321261120AB0000001',
      ]);
      expect([m.raw('ZRC-14'), m.raw('ZRC-16'), m.get('ZRC-18'), m.get('ZRC-23'), m.get('ZRC-25')]).toEqual([
        '324.12^EUR',
        'R006^Montants incoherents^ROC',
        'CORRIGER',
        'F280000009',
        'REJETE',
      ]);
      // the same return again (a file processed again): the existing answer, nothing new to the GAP
      input({ billing });
      await c.until(() => c.ok.length === 2, 'the second pass');
      expect(c.ok[1].roc.gapAnswer).toMatchObject({ existing: true, controlId: c.ok[0].roc.gapAnswer.controlId });
      // the same invoice rejected again by a later file (after a resend): a new answer
      input({ billing: { ...billing, file: { ...billing.file, hash: 'd'.repeat(64), numero: 4 } } });
      await c.until(() => c.ok.length === 3, 'the second rejection');
      expect(c.ok[2].roc.gapAnswer.existing).toBeUndefined();
      // then paid by a later file: a new answer
      input({
        billing: {
          ...billing,
          state: 'paid',
          paidCents: 32412,
          differenceCents: 0,
          reason: undefined,
          file: { ...billing.file, hash: 'b'.repeat(64), numero: 5 },
        },
      });
      await c.until(() => c.ok.length === 4, 'the payment answer');
      expect(gap.received).toHaveLength(3);
      expect(parseEr7(gap.received[2].text).get('ZRC-25')).toBe('PAYE');
      expect((await journalRows(file)).map((r) => r.state)).toEqual(['ACKED', 'ACKED', 'ACKED']);
      // an unknown dossier cannot be answered: a catchable error naming the cause, nothing sent
      const node = helper.getNode('out');
      const errors: string[] = [];
      node.error = (e: Error | string) => errors.push(String((e as Error).message ?? e));
      input({ billing: { ...billing, key: '750100125/V/NOPE', file: { ...billing.file, hash: 'c'.repeat(64) } } });
      await eventually(() => errors.length > 0, 'the error');
      expect(errors[0]).toMatch(/dossier/);
      expect(gap.received).toHaveLength(3);
    } finally {
      await helper.unload();
      await gap.stop();
    }
  });
});
