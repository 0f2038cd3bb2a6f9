/**
 * roc-mllp-in through real sockets (node-red-node-test-helper): ACK only after the journal
 * commit, original and enhanced ACK modes with MSA-2 = MSH-10, duplicates acknowledged and not
 * processed twice, framing torture, every class of bad input answered with the right NACK while
 * the listener stays up, per-venue hold and release through the admin endpoints, and resumption
 * after a redeploy on the same journal.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import helper from 'node-red-node-test-helper';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import { frame } from '../../lib/hl7/mllp';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { expectNoPatientData, identifiersFromHl7, watchNodeRed } from '../support/patient-data';
import { useLanguage } from '../support/i18n';

helper.init(require.resolve('node-red'));
// Status and log texts in French, as the assertions below read them (Node-RED's runtime language).
useLanguage(helper, 'fr');

// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const seen = watchNodeRed(helper);
/** What these tests send of patients: none of it may show in a status, a log line or an error. */
const PATIENTS = identifiersFromHl7(FIXTURE);
afterEach(() => {
  try {
    expectNoPatientData(seen, PATIENTS);
  } finally {
    seen.clear();
  }
});

/** A realistic PAM-FR ADT (the UTF-8 AMO + AMC fixture) with its MSH-10, PV1-19, event and mode changed. */
function adt(controlId: string, venue: string, o: { event?: string; enhanced?: boolean } = {}): string {
  let t = FIXTURE.replace('A01-UTF8-0001', controlId).replace(/250100421/g, venue);
  if (o.event) t = t.replace('ADT^A01^ADT_A01', `ADT^${o.event}^ADT_A01`);
  if (o.enhanced) t = t.replace('2.5^FRA^2.11|||||FRA', '2.5^FRA^2.11|||AL|AL|FRA');
  return t;
}

let dir: string;
let journalFile: string;
const peers: MllpPeer[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-'));
  journalFile = path.join(dir, 'journal.sqlite');
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.end();
  await helper.unload();
  fs.rmSync(dir, { recursive: true, force: true });
});

function flow(extra: Record<string, unknown> = {}) {
  return [
    { id: 't', type: 'tab', label: 'mllp' },
    {
      id: 'in',
      type: 'roc-mllp-in',
      z: 't',
      x: 100,
      y: 100,
      host: '127.0.0.1',
      port: '0',
      journal: journalFile,
      synchronous: 'NORMAL',
      ...extra,
      wires: [['out']],
    },
    { id: 'out', type: 'helper', z: 't', x: 300, y: 100, wires: [] },
  ];
}

/** Loads the flow; resolves with the node, its bound port and the messages it outputs. */
async function load(extra: Record<string, unknown> = {}) {
  await helper.load([mllpInNode, catchNode], flow(extra));
  const node = helper.getNode('in');
  const outputs: any[] = [];
  helper.getNode('out').on('input', (m: any) => outputs.push(m));
  const port = await waitFor(() => node.listener?.port, 'listener bound');
  const connect = async () => {
    const p = await MllpPeer.connect(port);
    peers.push(p);
    return p;
  };
  return { node, port, outputs, connect };
}

function rows(sql: string, ...args: unknown[]): any[] {
  const db = new Database(journalFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args);
  } finally {
    db.close();
  }
}

describe('acknowledgement after commit', () => {
  it('every ACK arrives after its row is committed and readable by another connection', async () => {
    const { connect } = await load();
    const peer = await connect();
    const seenAtAck: number[] = [];
    peer.socket.on('data', () => {
      // At the moment the ACK bytes arrive, the row must already be in the database file.
      seenAtAck.push(rows("SELECT count(*) AS n FROM inbound WHERE control_id LIKE 'CMT%'")[0].n);
    });
    for (let i = 0; i < 20; i++) peer.send(adt(`CMT${i}`, `9000000${i % 3}`));
    const acks = await peer.waitAcks(20);
    expect(acks.map((a) => a.controlId)).toEqual(Array.from({ length: 20 }, (_, i) => `CMT${i}`));
    expect(acks.every((a) => a.code === 'AA')).toBe(true);
    expect(seenAtAck.length).toBeGreaterThan(0);
    for (const n of seenAtAck) expect(n).toBeGreaterThan(0);
    expect(Math.max(...seenAtAck)).toBe(20);
  });

  it('a listener closed before the commit sends no ACK; the message is in the journal and resumes on restart', async () => {
    const first = await load({ commitWindowMs: 2000 });
    const peer = await first.connect();
    peer.send(adt('KILL-1', '900000099'));
    await new Promise((r) => setTimeout(r, 100));
    await helper.unload(); // closes the node: sockets destroyed, the pending commit is flushed
    await waitFor(() => peer.closed, 'peer closed');
    expect(peer.acks).toEqual([]);
    expect(rows("SELECT state FROM inbound WHERE control_id = 'KILL-1'")).toEqual([{ state: 'RECEIVED' }]);

    const second = await load();
    const m = await waitFor(() => second.outputs[0], 'resumed message');
    expect(m.hl7.controlId).toBe('KILL-1');
    // the GAP resends (it got no ACK): acknowledged AA as a duplicate, not processed twice
    const peer2 = await second.connect();
    peer2.send(adt('KILL-1', '900000099'));
    expect((await peer2.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'KILL-1' });
    await new Promise((r) => setTimeout(r, 200));
    expect(second.outputs).toHaveLength(1);
  });
});

describe('ACK modes', () => {
  it('original mode: one AA with MSA-2 = MSH-10; the output carries the text and msg.hl7 (journal id, venue order), not a mapped admission', async () => {
    const { connect, outputs } = await load();
    const peer = await connect();
    peer.send(adt('ORIG-0001', '250100421'));
    expect(await peer.waitAcks(1)).toEqual([{ code: 'AA', controlId: 'ORIG-0001', errors: [] }]);
    const m = await waitFor(() => outputs[0], 'output');
    expect(m.payload).toContain('LEFÈVRE-BŒUF');
    expect(m.hl7).toMatchObject({
      controlId: 'ORIG-0001',
      event: 'ADT^A01',
      sender: 'CPAGE/CHU-NORD',
      charset: 'utf8',
      orderingKey: 'PV1-19:250100421',
      meaning: 'IDB',
    });
    expect(typeof m.hl7.journalId).toBe('number');
    expect(m.roc).toBeUndefined(); // roc-hl7-admission is the one PAM-FR mapper
  });

  it('enhanced mode: CA then AA, both with MSA-2 = MSH-10', async () => {
    const { connect } = await load();
    const peer = await connect();
    peer.send(adt('ENH-0001', '250100422', { enhanced: true }));
    const acks = await peer.waitAcks(2);
    expect(acks.map((a) => [a.code, a.controlId])).toEqual([
      ['CA', 'ENH-0001'],
      ['AA', 'ENH-0001'],
    ]);
  });
});

describe('duplicates', () => {
  it('the same MSH-10 from the same sender is acknowledged again and output once', async () => {
    const { connect, outputs, node } = await load();
    const peer = await connect();
    peer.send(adt('DUP-0001', '250100430'));
    peer.send(adt('DUP-0001', '250100430'));
    const acks = await peer.waitAcks(2);
    expect(acks.map((a) => a.code)).toEqual(['AA', 'AA']);
    await waitFor(() => outputs[0], 'output');
    node.receive({ hl7: { journalId: outputs[0].hl7.journalId } });
    peer.send(adt('DUP-0001', '250100430'));
    await peer.waitAcks(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(outputs).toHaveLength(1);
    expect(rows("SELECT state, count(*) AS n FROM inbound WHERE control_id = 'DUP-0001' GROUP BY state ORDER BY state")).toEqual([
      { state: 'DONE', n: 1 },
      { state: 'DUPLICATE', n: 2 },
    ]);
  });
});

describe('framing torture through a real socket', () => {
  it('frames written one byte at a time', async () => {
    const { connect } = await load();
    const peer = await connect();
    const bytes = Buffer.concat([0, 1, 2].map((i) => frame(Buffer.from(adt(`BYTE${i}`, '250100440'), 'utf8'))));
    for (const b of bytes) {
      peer.socket.write(Buffer.from([b]));
    }
    const acks = await peer.waitAcks(3);
    expect(acks.map((a) => `${a.code} ${a.controlId}`)).toEqual(['AA BYTE0', 'AA BYTE1', 'AA BYTE2']);
  });

  it('hundreds of frames in one write, with CR LF between frames: all acknowledged in order, venues in order', async () => {
    const { connect, outputs, node } = await load();
    const peer = await connect();
    const n = 300;
    const chunk = Buffer.concat(
      Array.from({ length: n }, (_, i) =>
        Buffer.concat([frame(Buffer.from(adt(`BULK${String(i).padStart(4, '0')}`, `3000000${i % 5}`), 'utf8')), Buffer.from('\r\n')]),
      ),
    );
    peer.socket.write(chunk);
    const acks = await peer.waitAcks(n);
    expect(acks.map((a) => a.controlId)).toEqual(Array.from({ length: n }, (_, i) => `BULK${String(i).padStart(4, '0')}`));
    expect(new Set(acks.map((a) => a.code))).toEqual(new Set(['AA']));
    // complete each output as it comes: every venue's messages come out in arrival order
    let handled = 0;
    while (handled < n) {
      await waitFor(() => outputs.length > handled, `output ${handled}`);
      node.receive({ hl7: { journalId: outputs[handled].hl7.journalId } });
      handled++;
    }
    for (let v = 0; v < 5; v++) {
      const ids = outputs.filter((m) => m.hl7.orderingKey === `PV1-19:3000000${v}`).map((m) => Number(m.hl7.controlId.slice(4)));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(ids).toHaveLength(n / 5);
    }
  });
});

describe('bad input: the right NACK, the raw bytes stored, the listener still up', () => {
  it('answers each bad frame with AR/AE and an ERR naming the place, then still accepts a good message', async () => {
    const { connect, outputs } = await load({ maxFrameSize: 65536 });
    const peer = await connect();
    const noPv1_19 = adt('BAD-PV1', '').replace(/\|25010042\^\^\^CHU-NORD&590780193&M\^AN\|/, '||');
    const badDate = adt('BAD-DATE', '250100450').replace('|19850714|F|', '|19851345|F|');
    peer.send('EVN||20250114093500\rPID|1||481516^^^CHU^PI\r'); // no MSH
    peer.send(
      adt('BAD-DELIM', '250100451').replace('MSH|^~\\&|', 'MSH|!~\\&|').replace(/\^/g, '!').replace(/\|/g, '#').replace(/^MSH#/, 'MSH|'),
    ); // wrong delimiters
    peer.send(noPv1_19);
    peer.send(badDate);
    peer.send(adt('BAD-TYPE', '250100452').replace('ADT^A01^ADT_A01', 'ORU^R01^ORU_R01'));
    peer.send(adt('UNKNOWN-EVT', '250100453', { event: 'A99' }));
    const acks = await peer.waitAcks(6);
    const byId = (id: string) => acks.find((a) => a.controlId === id)!;
    expect(acks[0].code).toBe('AR');
    expect(acks[0].errors.join()).toMatch(/MSH/);
    expect(byId('BAD-PV1')).toMatchObject({ code: 'AE' });
    expect(byId('BAD-PV1').errors.join()).toMatch(/PV1\^1\^19/);
    expect(byId('BAD-DATE').code).toBe('AE');
    expect(byId('BAD-DATE').errors.join()).toMatch(/\|102\^|PID\^1\^7/);
    expect(byId('BAD-TYPE').code).toBe('AR');
    expect(byId('BAD-TYPE').errors.join()).toMatch(/200/);
    expect(byId('UNKNOWN-EVT')).toEqual({ code: 'AA', controlId: 'UNKNOWN-EVT', errors: [] });
    expect(acks[1].code).toBe('AR'); // wrong delimiters

    // truncated frame: a new VT before the FS
    peer.socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(adt('TRUNC-1', '250100454').slice(0, 120), 'utf8')]));
    peer.send(adt('AFTER-TRUNC', '250100455'));
    // random bytes outside any frame
    peer.socket.write(Buffer.from([0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x42]));
    const more = await peer.waitAcks(9);
    const trunc = more.slice(6).find((a) => a.controlId === 'TRUNC-1')!;
    expect(trunc.code).toBe('AR');
    expect(trunc.errors.join()).toMatch(/tronqu/);
    expect(more.slice(6).find((a) => a.controlId === 'AFTER-TRUNC')!.code).toBe('AA');
    const garbage = more.slice(6).find((a) => a.controlId === '')!;
    expect(garbage.code).toBe('AR');
    expect(garbage.errors.join()).toMatch(/hors trame/);

    // nothing bad was processed; the good message was
    await waitFor(() => outputs.find((m) => m.hl7.controlId === 'AFTER-TRUNC'), 'good message out');
    expect(outputs.map((m) => m.hl7.controlId)).toEqual(['AFTER-TRUNC']);
    // stored raw, never to be processed
    const stored = rows('SELECT state, count(*) AS n FROM inbound GROUP BY state ORDER BY state');
    expect(stored).toEqual(expect.arrayContaining([{ state: 'IGNORED', n: 8 }]));
  });

  it('a 50 MB frame is refused AR 207 with its size, without buffering it; the connection goes on', async () => {
    const { connect } = await load({ maxFrameSize: 1048576 });
    const peer = await connect();
    const head = Buffer.from(adt('HUGE-1', '250100460'), 'utf8');
    const filler = Buffer.alloc(50 * 1024 * 1024, 0x41);
    peer.socket.write(Buffer.concat([Buffer.from([0x0b]), head, filler, Buffer.from([0x1c, 0x0d])]));
    peer.send(adt('AFTER-HUGE', '250100461'));
    const acks = await peer.waitAcks(2, 60000);
    expect(acks[0].code).toBe('AR');
    expect(acks[0].controlId).toBe('HUGE-1');
    expect(acks[0].errors.join()).toMatch(/207.*trop volumineux/);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'AFTER-HUGE' });
    const row = rows('SELECT state, size FROM inbound WHERE id = 1')[0];
    expect(row.state).toBe('IGNORED');
    expect(row.size).toBeLessThanOrEqual(4096);
  }, 90000);

  it('a header value too long for the journal index is refused for good (AR naming the field), not CE', async () => {
    const { connect } = await load();
    const peer = await connect();
    const longId = 'L'.repeat(250);
    peer.send(adt(longId, '250100490'));
    peer.send(adt('AFTER-LONG', '250100491'));
    const acks = await peer.waitAcks(2);
    expect(acks[0].code).toBe('AR');
    expect(acks[0].controlId).toBe(longId);
    expect(acks[0].errors.join()).toMatch(/MSH\^1\^10.*MSH-10 dépasse 200/);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'AFTER-LONG' });
  });

  it('refuses connections beyond the limit and keeps serving the others', async () => {
    const { connect } = await load({ maxConnections: 1 });
    const a = await connect();
    // a connection that delivers frames is never evicted for a newcomer
    a.send(adt('LIMIT-0', '250100470'));
    await a.waitAcks(1);
    const b = await connect();
    await waitFor(() => b.closed, 'second connection closed');
    a.send(adt('LIMIT-1', '250100470'));
    expect((await a.waitAcks(2))[1]).toMatchObject({ code: 'AA', controlId: 'LIMIT-1' });
  });

  it('the hardening settings reach the listener: cap per address, frame deadline', async () => {
    const { node, connect } = await load({ maxConnectionsPerAddress: 1, frameTimeout: 1, ackBacklog: 2048, maxAckBacklog: 4096 });
    const a = await connect();
    a.send(adt('ADDR-1', '250100471'));
    expect((await a.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'ADDR-1' });
    const b = await connect();
    await waitFor(() => b.closed, 'second connection from the same address closed');
    expect(node.listener.stats.refused).toBe(1);
    // a frame started and never finished: AR naming the deadline, then the connection ends
    a.socket.write(frame(Buffer.from(adt('SLOW-2', '250100472'), 'utf8')).subarray(0, 300));
    const acks = await a.waitAcks(2, 10000);
    expect(acks[1]).toMatchObject({ code: 'AR', controlId: 'SLOW-2' });
    expect(acks[1].errors.join('')).toContain('non terminée en 1 s');
    await waitFor(() => a.closed, 'connection ended after the frame deadline', 10000);
  });
});

describe('idle connections', () => {
  it('a connection silent longer than the idle timeout is closed; a new one is served', async () => {
    const { connect } = await load({ idleTimeout: 1 });
    const idle = await connect();
    await idle.waitAcks(1, 10000); // returns when the listener closes it
    expect(idle.closed).toBe(true);
    const again = await connect();
    again.send(adt('IDLE-1', '250100480'));
    expect((await again.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'IDLE-1' });
  });
});

describe('per-venue order, hold and release', () => {
  it('a failed message holds its venue (visible on GET /roc/journal/held) while other venues flow; release lets it go on', async () => {
    const { connect, outputs, node } = await load();
    const peer = await connect();
    peer.send(adt('HOLD-A1', '700000001'));
    peer.send(adt('HOLD-A2', '700000001', { event: 'A03' }));
    peer.send(adt('HOLD-B1', '700000002'));
    await peer.waitAcks(3);
    await waitFor(() => outputs.length === 2, 'A1 and B1 out');
    expect(outputs.map((m) => m.hl7.controlId).sort()).toEqual(['HOLD-A1', 'HOLD-B1']);
    const a1 = outputs.find((m) => m.hl7.controlId === 'HOLD-A1');
    node.receive({ ...a1, roc: { ...a1.roc, failed: 'erreur de traitement (test)' } });
    await waitFor(() => rows("SELECT 1 FROM held_keys WHERE okey = 'PV1-19:700000001'").length === 1, 'venue held');
    const list = (await helper.request().get('/roc/journal/held').expect(200)).body;
    expect(list.held).toEqual([
      expect.objectContaining({ node: 'in', orderingKey: 'PV1-19:700000001', waiting: 1, reason: 'erreur de traitement (test)' }),
    ]);

    // A2 waits; B continues
    peer.send(adt('HOLD-B2', '700000002'));
    await peer.waitAcks(4);
    const b1 = outputs.find((m) => m.hl7.controlId === 'HOLD-B1');
    node.receive({ hl7: { journalId: b1.hl7.journalId } });
    await waitFor(() => outputs.find((m) => m.hl7.controlId === 'HOLD-B2'), 'B2 out');
    await new Promise((r) => setTimeout(r, 100));
    expect(outputs.map((m) => m.hl7.controlId)).not.toContain('HOLD-A2');
    const listed = (await helper.request().get('/roc/journal/held').expect(200)).body;
    expect(listed.held[0]).toMatchObject({ orderingKey: 'PV1-19:700000001', waiting: 1 });

    await helper.request().post('/roc/journal/release/UNKNOWN').expect(404);
    const rel = await helper.request().post('/roc/journal/release/700000001').expect(200);
    expect(rel.body).toMatchObject({ released: 'PV1-19:700000001', mode: 'retry' });
    // the failed message is retried first, then the one that waited
    const retried = await waitFor(() => outputs.filter((m) => m.hl7.controlId === 'HOLD-A1')[1], 'A1 retried');
    expect(retried.hl7.attempts).toBe(2);
    expect(outputs.map((m) => m.hl7.controlId)).not.toContain('HOLD-A2');
    node.receive({ hl7: { journalId: retried.hl7.journalId } });
    const a2 = await waitFor(() => outputs.find((m) => m.hl7.controlId === 'HOLD-A2'), 'A2 out');
    expect(a2.hl7.meaning).toBe('CLC');
    expect((await helper.request().get('/roc/journal/held').expect(200)).body.held).toEqual([]);
  });

  it('an explicit hl7.status FAILED holds too, and release ?mode=skip drops the failed message', async () => {
    const { connect, outputs, node } = await load();
    const peer = await connect();
    peer.send(adt('SKIP-1', '710000001'));
    peer.send(adt('SKIP-2', '710000001'));
    await peer.waitAcks(2);
    const m1 = await waitFor(() => outputs[0], 'first');
    node.receive({ hl7: { ...m1.hl7, status: 'FAILED', reason: 'bug' } });
    await waitFor(() => rows("SELECT 1 FROM held_keys WHERE okey = 'PV1-19:710000001'").length === 1, 'held');
    await helper.request().post('/roc/journal/release/PV1-19:710000001?mode=skip').expect(200);
    const m2 = await waitFor(() => outputs[1], 'second');
    expect(m2.hl7.controlId).toBe('SKIP-2');
    expect(rows("SELECT state FROM inbound WHERE control_id = 'SKIP-1'")).toEqual([{ state: 'SKIPPED' }]);
  });

  it('a message the flow never gives back is failed after the processing timeout: its venue is held, not busy forever', async () => {
    const { connect, outputs } = await load({ processingTimeout: '0.3' });
    const peer = await connect();
    peer.send(adt('LOST-1', '720000001'));
    peer.send(adt('LOST-2', '720000001'));
    peer.send(adt('OTHER-1', '720000002'));
    await peer.waitAcks(3);
    await waitFor(() => outputs.length >= 2, 'first of each venue out');
    // nobody completes LOST-1: after the timeout its venue is held, LOST-2 waits, the rest flowed
    await waitFor(() => rows("SELECT 1 FROM held_keys WHERE okey = 'PV1-19:720000001'").length === 1, 'held after timeout');
    expect(rows("SELECT state FROM inbound WHERE control_id = 'LOST-1'")).toEqual([{ state: 'FAILED' }]);
    expect(outputs.map((m) => m.hl7.controlId)).not.toContain('LOST-2');
    const held = await helper.request().get('/roc/journal/held').expect(200);
    expect(JSON.stringify(held.body)).toMatch(/aucun retour du flux/);
  });

  it('feedback for a message this listener is not processing goes to catch nodes', async () => {
    await helper.load(
      [mllpInNode, catchNode],
      [
        ...flow(),
        { id: 'c', type: 'catch', z: 't', x: 100, y: 200, scope: ['in'], wires: [['caught']] },
        { id: 'caught', type: 'helper', z: 't', x: 300, y: 200, wires: [] },
      ],
    );
    const caught = new Promise<any>((r) => helper.getNode('caught').on('input', r));
    await waitFor(() => helper.getNode('in').listener?.port, 'bound');
    helper.getNode('in').receive({ hl7: { journalId: 4242 } });
    expect((await caught).error.message).toMatch(/4242/);
  });
});

describe('restart', () => {
  it('acknowledged but unprocessed messages resume in order after a redeploy; held venues stay held', async () => {
    const first = await load();
    const peer = await first.connect();
    for (let i = 1; i <= 3; i++) peer.send(adt(`RES-${i}`, '720000001'));
    peer.send(adt('RES-H1', '720000009'));
    peer.send(adt('RES-H2', '720000009'));
    await peer.waitAcks(5);
    await waitFor(() => first.outputs.length === 2, 'first of each venue out');
    const h1 = first.outputs.find((m) => m.hl7.controlId === 'RES-H1');
    first.node.receive({ hl7: { ...h1.hl7, status: 'FAILED' } });
    await waitFor(() => rows('SELECT 1 FROM held_keys').length === 1, 'held');
    await helper.unload();

    const second = await load();
    const seen: string[] = [];
    while (seen.length < 3) {
      const m = await waitFor(() => second.outputs[seen.length], `resumed ${seen.length}`);
      seen.push(m.hl7.controlId);
      second.node.receive({ hl7: { journalId: m.hl7.journalId } });
    }
    expect(seen).toEqual(['RES-1', 'RES-2', 'RES-3']);
    await new Promise((r) => setTimeout(r, 100));
    expect(second.outputs.map((m) => m.hl7.controlId)).not.toContain('RES-H2');
    const held = (await helper.request().get('/roc/journal/held').expect(200)).body.held;
    expect(held).toEqual([expect.objectContaining({ orderingKey: 'PV1-19:720000009', waiting: 1 })]);
    expect(rows("SELECT control_id, state FROM inbound WHERE okey = 'PV1-19:720000001' ORDER BY id")).toEqual([
      { control_id: 'RES-1', state: 'DONE' },
      { control_id: 'RES-2', state: 'DONE' },
      { control_id: 'RES-3', state: 'DONE' },
    ]);
  });
});

describe('redeployed while starting', () => {
  it('a node closed before its listener is bound leaves no status timer running and no port bound; the next deploy listens', async () => {
    const intervals = new Set<unknown>();
    const setI = global.setInterval;
    jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const t = setI(fn, ms);
      if (ms === 1000) intervals.add(t); // the node's status refresh
      return t;
    }) as typeof setInterval);
    const clearI = global.clearInterval;
    jest.spyOn(global, 'clearInterval').mockImplementation(((t: NodeJS.Timeout) => {
      intervals.delete(t);
      clearI(t);
    }) as typeof clearInterval);
    try {
      await helper.load([mllpInNode, catchNode], flow());
      const node = helper.getNode('in');
      const listener = node.listener;
      expect(listener).toBeDefined();
      await helper.unload(); // at once: the journal is still loading
      await new Promise((r) => setTimeout(r, 200));
      expect(intervals.size).toBe(0);
      expect((listener as unknown as { server?: { listening: boolean } }).server?.listening ?? false).toBe(false);
    } finally {
      for (const t of intervals) clearI(t as NodeJS.Timeout);
      jest.restoreAllMocks();
    }
    const again = await load();
    const peer = await again.connect();
    peer.send(adt('REDEPLOY-1', '720000011'));
    await peer.waitAcks(1);
  });
});
