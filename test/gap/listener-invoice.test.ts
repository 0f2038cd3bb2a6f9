/**
 * DFT^P03 invoices over a real MLLP socket against lib/gap (docs/dft-intake.md): an invoice for a
 * venue the bridge never saw is refused AE with ERR-2 = PV1-19 ("venue inconnue du pont") and its
 * raw bytes are kept in the journal; the same invoice after the venue's A01 — even one committed
 * just before and not processed yet — is accepted AA and handed out after the A01.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MllpListener, type Dispatched } from '../../lib/gap/mllp-listener';
import { openSqliteJournal } from '../../lib/store/sqlite';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { dft } from '../support/dft';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
/** The A01 of venue 250100421 (the venue of the dft() invoice), or of another venue. */
const a01 = (controlId: string, venue = '250100421') => FIXTURE.replace('A01-UTF8-0001', controlId).replace(/250100421/g, venue);

let dir: string;
let listener: MllpListener | undefined;
const peers: MllpPeer[] = [];
/** Dispatched messages; completed at once unless `hold` is set. */
const processed: Dispatched[] = [];
let hold = false;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-dft-'));
  processed.length = 0;
  hold = false;
  listener = new MllpListener({ host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL' }, (m) => {
    processed.push(m);
    if (!hold) void listener!.complete(m.journalId);
  });
  await listener.start();
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.end();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function gap(): Promise<MllpPeer> {
  const p = await MllpPeer.connect(listener!.port);
  peers.push(p);
  return p;
}

describe('an invoice for a venue the bridge never saw', () => {
  it('is refused AE 204 with ERR-2 = PV1-19, "venue inconnue du pont"; the raw is kept, never dispatched', async () => {
    const g = await gap();
    const text = dft({ controlId: 'DFT-UNKNOWN' });
    g.send(text);
    const [ack] = await g.waitAcks(1);
    expect(ack).toMatchObject({ code: 'AE', controlId: 'DFT-UNKNOWN' });
    expect(ack.errors).toHaveLength(1);
    expect(ack.errors[0]).toMatch(/^ERR\|\|PV1\^1\^19\^1\|204\^Unknown key identifier\^HL70357\|E\|/);
    expect(ack.errors[0]).toContain('venue inconnue du pont');
    expect(ack.errors[0]).not.toContain('250100421'); // the place, never the value
    await new Promise((r) => setTimeout(r, 100));
    expect(processed).toHaveLength(0);
    const rows = await listener!.journal.browse();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'DFT^P03', state: 'IGNORED' });
    expect(rows[0].controlId).toBeUndefined(); // rejected: its MSH-10 stays free for the resend
    expect(rows[0].orderingKey).toBeUndefined();
    const raw = (await listener!.journal.get(rows[0].id, { raw: true }))!.raw!;
    expect(raw.equals(Buffer.from(text, 'utf8'))).toBe(true);
    expect(listener!.stats.rejected).toBe(1);
  });

  it('an A01 of ANOTHER venue does not make it known', async () => {
    const g = await gap();
    g.send(a01('A01-OTHER', '250199999'));
    g.send(dft({ controlId: 'DFT-OTHER' }));
    const acks = await g.waitAcks(2);
    expect(acks.map((a) => [a.code, a.controlId])).toEqual([
      ['AA', 'A01-OTHER'],
      ['AE', 'DFT-OTHER'],
    ]);
  });

  it('an invoice already refused AE for other reasons keeps its own ERR (no venue check)', async () => {
    const g = await gap();
    g.send(dft({ controlId: 'DFT-BAD', numero: '' }));
    const [ack] = await g.waitAcks(1);
    expect(ack.code).toBe('AE');
    expect(ack.errors.map((e) => e.split('|')[2])).toEqual(['ZFA^1^1^1']);
  });
});

describe('an invoice for a venue seen before', () => {
  it('right after its A01 in the same write (A01 committed, not processed yet): AA, dispatched after the A01', async () => {
    hold = true; // the A01 stays in processing: seen by the journal, not processed
    const g = await gap();
    g.socket.write(
      Buffer.concat(
        [a01('A01-SEEN'), dft({ controlId: 'DFT-SEEN' })].map((t) => {
          const b = Buffer.from(t, 'utf8');
          return Buffer.concat([Buffer.from([0x0b]), b, Buffer.from([0x1c, 0x0d])]);
        }),
      ),
    );
    const acks = await g.waitAcks(2);
    expect(acks.map((a) => [a.code, a.controlId, a.errors.length])).toEqual([
      ['AA', 'A01-SEEN', 0],
      ['AA', 'DFT-SEEN', 0],
    ]);
    await waitFor(() => processed.length === 1, 'the A01 is handed out');
    expect(processed[0].intake.meaning).toBe('IDB');
    const rows = await listener!.journal.browse({ order: 'asc' });
    expect(rows.map((r) => [r.event, r.orderingKey, r.state])).toEqual([
      ['ADT^A01', 'PV1-19:250100421', 'PROCESSING'],
      ['DFT^P03', 'PV1-19:250100421', 'RECEIVED'],
    ]);
    // the invoice waits for its venue's A01, then goes out with meaning INVOICE and its lines
    await listener!.complete(processed[0].journalId);
    await waitFor(() => processed.length === 2, 'the invoice is handed out');
    expect(processed[1].intake.meaning).toBe('INVOICE');
    expect(processed[1].intake.admission?.facture?.lignes.map((l) => l.code)).toEqual(['GHS5091', 'FJ', 'PJ18']);
    await listener!.complete(processed[1].journalId);
  });

  it('frames after an invoice on its connection are journaled after it (the venue check does not reorder them)', async () => {
    const g = await gap();
    const framed = (t: string) => Buffer.concat([Buffer.from([0x0b]), Buffer.from(t, 'utf8'), Buffer.from([0x1c, 0x0d])]);
    g.socket.write(
      Buffer.concat([a01('ORD-1'), dft({ controlId: 'ORD-2' }), a01('ORD-3'), dft({ controlId: 'ORD-4' }), a01('ORD-5')].map(framed)),
    );
    const acks = await g.waitAcks(5);
    expect(acks.map((a) => [a.code, a.controlId])).toEqual(['ORD-1', 'ORD-2', 'ORD-3', 'ORD-4', 'ORD-5'].map((c) => ['AA', c]));
    const rows = await listener!.journal.browse({ order: 'asc' });
    expect(rows.map((r) => r.controlId)).toEqual(['ORD-1', 'ORD-2', 'ORD-3', 'ORD-4', 'ORD-5']);
    await waitFor(() => processed.length === 5, 'all processed');
    expect(processed.map((p) => p.record.controlId)).toEqual(['ORD-1', 'ORD-2', 'ORD-3', 'ORD-4', 'ORD-5']);
  });

  it('on another connection once the A01 was acknowledged: AA; the invoice refused before goes through when resent', async () => {
    const g1 = await gap();
    g1.send(dft({ controlId: 'DFT-RESEND' }));
    expect((await g1.waitAcks(1))[0].code).toBe('AE');
    const g2 = await gap();
    g2.send(a01('A01-LATER'));
    expect((await g2.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'A01-LATER' });
    g1.send(dft({ controlId: 'DFT-RESEND' }));
    const acks = await g1.waitAcks(2);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'DFT-RESEND', errors: [] });
    await waitFor(() => processed.length === 2, 'the A01 and the invoice are processed');
    expect(processed.map((p) => p.intake.meaning)).toEqual(['IDB', 'INVOICE']);
  });

  it('a dossier kept under the ordering key counts as seen', async () => {
    await listener!.journal.putDossier('PV1-19:250100421', { venue: { type: 'HOSPITALISATION' } });
    const g = await gap();
    g.send(dft({ controlId: 'DFT-DOSSIER' }));
    expect((await g.waitAcks(1))[0]).toMatchObject({ code: 'AA', controlId: 'DFT-DOSSIER' });
  });
});

describe('journal.hasSeenOrderingKey', () => {
  it('true for an inbound row or a dossier under the key, false otherwise; both lookups use an index', async () => {
    const file = path.join(dir, 'seen.sqlite');
    const j = openSqliteJournal({ file, synchronous: 'NORMAL' });
    try {
      expect(await j.hasSeenOrderingKey('PV1-19:1')).toBe(false);
      expect(await j.hasSeenOrderingKey('')).toBe(false);
      await j.append({ raw: Buffer.from('MSH|x'), channel: 't', orderingKey: 'PV1-19:1', ignored: true });
      await j.putDossier('PID-18:2', {});
      expect(await j.hasSeenOrderingKey('PV1-19:1')).toBe(true);
      expect(await j.hasSeenOrderingKey('PID-18:2')).toBe(true);
      expect(await j.hasSeenOrderingKey('PV1-19:3')).toBe(false);
    } finally {
      await j.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      const plan = (sql: string) =>
        (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('k') as Array<{ detail: string }>).map((r) => r.detail).join('\n');
      expect(plan('SELECT 1 FROM inbound WHERE okey = ?')).toMatch(/USING (COVERING )?INDEX inbound_okey/);
      expect(plan('SELECT 1 FROM dossiers WHERE okey = ?')).toMatch(/USING (COVERING )?INDEX sqlite_autoindex_dossiers_1|PRIMARY KEY/);
    } finally {
      db.close();
    }
  });
});
