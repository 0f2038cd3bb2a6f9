/**
 * The MLLP listener (lib/gap/mllp-listener.ts) on what mutation testing found untested by its fast
 * tests (issue 12): bytes that are not a whole frame (garbage outside frames, a frame restarted by
 * a new VT, an oversize frame, a frame that never ends) are answered AR with ERR 100 naming what
 * happened, and the connection goes on; header values too long for the journal's index are
 * refused AR 207 naming the field; an invoice whose venue check cannot read the journal is AE 207;
 * an invoice keyed by its NDA is refused naming PID-18; the operations hook sees every ACK code. Realistic PAM-FR data (the A01 fixture), 127.0.0.1, port 0.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { dft } from '../support/dft';
import { expectNoPatientData, identifiersFromHl7 } from '../support/patient-data';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const adt = (controlId: string) => FIXTURE.replace('A01-UTF8-0001', controlId);
const VT = Buffer.from([0x0b]);
const FS_CR = Buffer.from([0x1c, 0x0d]);

let dir: string;
let listener: MllpListener | undefined;
const peers: MllpPeer[] = [];
const processed: Dispatched[] = [];
const errors: string[] = [];
const acked: string[] = [];

async function start(extra: Partial<ListenerOptions> = {}): Promise<MllpListener> {
  const l = new MllpListener(
    {
      host: '127.0.0.1',
      port: 0,
      journalFile: path.join(dir, 'journal.sqlite'),
      synchronous: 'NORMAL',
      onAck: (code) => acked.push(code),
      ...extra,
    },
    (m) => {
      processed.push(m);
      void l.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  listener = l;
  await l.start();
  return l;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-framing-'));
  processed.length = 0;
  errors.length = 0;
  acked.length = 0;
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.end();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function gap(l: MllpListener): Promise<MllpPeer> {
  const p = await MllpPeer.connect(l.port);
  peers.push(p);
  return p;
}

const errText = (a: { errors: string[] }) => a.errors.join('\n');

describe('MLLP listener: bytes that are not a whole frame', () => {
  it('non-blank bytes outside frames: AR with ERR 100 "hors trame MLLP", stored raw, the next frame AA', async () => {
    const l = await start();
    const g = await gap(l);
    g.socket.write(Buffer.from('BONJOUR GAP\r', 'latin1'));
    const [nack] = await g.waitAcks(1);
    expect(nack.code).toBe('AR');
    expect(errText(nack)).toMatch(/\^?100\^/);
    expect(errText(nack)).toMatch(/12 octets reçus hors trame MLLP/);
    g.send(adt('FR-0001'));
    const acks = await g.waitAcks(2);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'FR-0001' });
    const rows = await l.journal.browse({ order: 'asc' });
    expect(rows.map((r) => r.state)).toEqual(['IGNORED', expect.stringMatching(/RECEIVED|PROCESSING|DONE/)]);
    expect(l.stats.rejected).toBe(1);
    expect(acked).toEqual(['AR', 'AA']);
  });

  it('blank bytes between frames (CR LF) are not answered', async () => {
    const l = await start();
    const g = await gap(l);
    g.send(adt('FR-0002'));
    g.socket.write(Buffer.from('\r\n\r\n', 'latin1'));
    g.send(adt('FR-0003'));
    await g.waitAcks(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(g.acks.map((a) => `${a.code}:${a.controlId}`)).toEqual(['AA:FR-0002', 'AA:FR-0003']);
    expect(l.stats.rejected).toBe(0);
  });

  it('a frame cut by a new VT: the piece is answered AR (ERR 100 at MSH-1, "nouveau début de trame"), the whole frame after it AA', async () => {
    const l = await start();
    const g = await gap(l);
    const piece = Buffer.from(adt('FR-0004').slice(0, 80), 'utf8');
    g.socket.write(Buffer.concat([VT, piece, VT, Buffer.from(adt('FR-0005'), 'utf8'), FS_CR]));
    const acks = await g.waitAcks(2);
    expect(acks[0].code).toBe('AR');
    expect(errText(acks[0])).toMatch(/MSH\^1\^1/);
    expect(errText(acks[0])).toMatch(/100\^/);
    expect(errText(acks[0])).toMatch(/nouveau début de trame \(VT\) est arrivé après 80 octets/);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'FR-0005' });
    await waitFor(() => processed.length === 1, 'the whole frame is processed');
    expect(processed[0].record.controlId).toBe('FR-0005');
    expectNoPatientData({ texts: [...errors, ...acks.flatMap((a) => a.errors)] }, identifiersFromHl7(FIXTURE));
  });

  it('an oversize frame is answered AR and the connection goes on', async () => {
    const l = await start({ maxFrameSize: 2048 });
    const g = await gap(l);
    const big = adt('FR-0006').replace('\rEVN|', `\rZZZ|${'X'.repeat(4000)}\rEVN|`);
    g.send(big);
    g.send(adt('FR-0007'));
    const acks = await g.waitAcks(2);
    expect(acks[0]).toMatchObject({ code: 'AR', controlId: 'FR-0006' });
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'FR-0007' });
    expect(acked).toEqual(['AR', 'AA']);
  });

  it('a frame that never ends: AR naming the frame deadline, then the connection is closed', async () => {
    const l = await start({ frameTimeoutMs: 1000 });
    const g = await gap(l);
    g.socket.write(Buffer.concat([VT, Buffer.from(adt('FR-0008').slice(0, 120), 'utf8')]));
    const [nack] = await g.waitAcks(1);
    expect(nack.code).toBe('AR');
    expect(errText(nack)).toMatch(
      /trame MLLP non terminée en 1 s \(délai de lecture d’une trame\) : connexion fermée \(120 octets reçus, sans fin FS\)/,
    );
    await waitFor(() => g.closed, 'connection closed');
    expect(l.stats.frameTimeouts).toBe(1);
  });
});

describe('MLLP listener: what the journal cannot index, and the invoice venue check', () => {
  it('an MSH-10 of 201 characters is refused AR 207 naming MSH-10; 200 characters are accepted', async () => {
    const l = await start();
    const g = await gap(l);
    const long = 'L'.repeat(201);
    g.send(adt(long));
    g.send(adt('M'.repeat(200)));
    const acks = await g.waitAcks(2);
    expect(acks[0].code).toBe('AR');
    expect(errText(acks[0])).toMatch(/MSH\^1\^10/);
    expect(errText(acks[0])).toMatch(/207\^/);
    expect(errText(acks[0])).toMatch(/MSH-10 dépasse 200 caractères/);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'M'.repeat(200) });
    expect(l.stats.rejected).toBe(1);
    await waitFor(() => processed.length === 1, 'the accepted one is processed');
    const rows = await l.journal.browse({ order: 'asc' });
    expect(rows[0].state).toBe('IGNORED');
    expect(rows[0].controlId).toBeUndefined();
  });

  it('an accepted message is stored with its sender (MSH-3, MSH-4), counted as no rejection', async () => {
    const l = await start();
    const g = await gap(l);
    g.send(adt('FR-0010'));
    await g.waitAcks(1);
    await waitFor(() => processed.length === 1, 'processed');
    expect(processed[0].record).toMatchObject({ sendingApplication: 'CPAGE', sendingFacility: 'CHU-NORD', controlId: 'FR-0010' });
    expect(l.stats.rejected).toBe(0);
  });

  it('an invoice whose venue check cannot read the journal is answered AE 207 (resend later), never AA', async () => {
    const l = await start();
    l.journal.hasSeenOrderingKey = () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
    const g = await gap(l);
    g.send(dft({ controlId: 'DFT-0101' }));
    const [nack] = await g.waitAcks(1);
    expect(nack).toMatchObject({ code: 'AE', controlId: 'DFT-0101' });
    expect(errText(nack)).toMatch(/207\^/);
    expect(errText(nack)).toMatch(/vérification de la venue impossible, renvoyer le message/);
    expect(errors.join('\n')).toMatch(/vérification de la venue d’une facture impossible/);
    await new Promise((r) => setTimeout(r, 200));
    expect(processed).toHaveLength(0);
  });

  it('an invoice keyed by its NDA (no PV1-19) for an unknown stay is refused AE 204 naming PID-18', async () => {
    const l = await start();
    const g = await gap(l);
    g.send(dft({ controlId: 'DFT-0102', venue: '' }));
    const [nack] = await g.waitAcks(1);
    expect(nack).toMatchObject({ code: 'AE', controlId: 'DFT-0102' });
    expect(errText(nack)).toMatch(/PID\^1\^18/);
    expect(errText(nack)).toMatch(/PID-18 \(NDA\)/);
  });
});
