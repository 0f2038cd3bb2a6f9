/**
 * The MLLP listener (lib/gap) over a real socket when the journal cannot store the message: the
 * GAP must get a negative ACK (AE in original mode, CE in enhanced mode) with an ERR 207, never an
 * AA, so that it resends; nothing is handed to the flow; once the journal works again, the resend
 * is stored, acknowledged AA and processed once.
 *
 * The failure is a real SQLite one: a second connection to the journal file installs a trigger
 * that aborts every insert into the inbound table (as a full disk or a broken file would), or the
 * journal is closed under the running listener.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MllpListener, type Dispatched } from '../../lib/gap/mllp-listener';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { expectNoPatientData, identifiersFromHl7 } from '../support/patient-data';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');

function adt(controlId: string, o: { enhanced?: boolean } = {}): string {
  let t = FIXTURE.replace('A01-UTF8-0001', controlId);
  if (o.enhanced) t = t.replace('2.5^FRA^2.11|||||FRA', '2.5^FRA^2.11|||AL|AL|FRA');
  return t;
}

let dir: string;
let listener: MllpListener | undefined;
const peers: MllpPeer[] = [];
const processed: Dispatched[] = [];
const errors: string[] = [];

async function start(): Promise<MllpListener> {
  listener = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL' },
    (m) => {
      processed.push(m);
      void listener!.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
  await listener.start();
  return listener;
}

async function connect(l: MllpListener): Promise<MllpPeer> {
  const p = await MllpPeer.connect(l.port);
  peers.push(p);
  return p;
}

/** Makes every insert into the inbound table fail, through a second connection to the file. */
function breakInserts(file: string): () => void {
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  db.exec("CREATE TRIGGER broken_disk BEFORE INSERT ON inbound BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
  return () => {
    db.exec('DROP TRIGGER broken_disk');
    db.close();
  };
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-journal-'));
  processed.length = 0;
  errors.length = 0;
});

afterEach(async () => {
  for (const p of peers.splice(0)) p.end();
  await listener?.close();
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('MLLP listener: the journal cannot store the message', () => {
  it('original mode: answers AE with ERR 207 (never AA), processes nothing; the resend after repair is AA and processed once', async () => {
    const l = await start();
    const repair = breakInserts(l.journal.file);
    const gap = await connect(l);
    gap.send(adt('JF-0001'));
    const [nack] = await gap.waitAcks(1);
    expect(nack.code).toBe('AE');
    expect(nack.controlId).toBe('JF-0001');
    expect(nack.errors.join('\n')).toMatch(/\|207\b|\^207\^|207/);
    expect(nack.errors.join('\n')).toMatch(/enregistrement impossible/);
    expect(errors.join('\n')).toMatch(/journal : enregistrement impossible/);
    expect(await l.journal.counts()).toMatchObject({ RECEIVED: 0, PROCESSING: 0, DONE: 0 });
    expect(processed).toHaveLength(0);
    expect(l.stats.acked).toBe(0);

    // the disk is repaired; the GAP resends the same message (same MSH-10): stored, AA, processed once
    repair();
    gap.send(adt('JF-0001'));
    const acks = await gap.waitAcks(2);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'JF-0001' });
    await waitFor(() => processed.length === 1, 'the resent message is processed');
    expect(processed[0].record.controlId).toBe('JF-0001');
    expectNoPatientData({ texts: [...errors, ...acks.flatMap((a) => a.errors)] }, identifiersFromHl7(FIXTURE));
  });

  it('enhanced mode: answers the commit ACK CE with ERR 207, and no application ACK', async () => {
    const l = await start();
    const repair = breakInserts(l.journal.file);
    const gap = await connect(l);
    gap.send(adt('JF-0002', { enhanced: true }));
    const [nack] = await gap.waitAcks(1);
    expect(nack.code).toBe('CE');
    expect(nack.controlId).toBe('JF-0002');
    expect(nack.errors.join('\n')).toMatch(/207/);
    await new Promise((r) => setTimeout(r, 200));
    expect(gap.acks.map((a) => a.code)).toEqual(['CE']);
    expect(processed).toHaveLength(0);
    repair();
  });

  it('a burst where only some rows fail: each message gets its own answer, only the stored ones AA', async () => {
    const l = await start();
    const db = new Database(l.journal.file);
    db.pragma('busy_timeout = 5000');
    // the "disk" refuses the rows of messages whose control id ends in an odd digit
    db.exec(
      "CREATE TRIGGER half_broken BEFORE INSERT ON inbound WHEN NEW.control_id GLOB '*[13579]' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    const gap = await connect(l);
    for (let i = 0; i < 6; i++) gap.send(adt(`JB-000${i}`));
    const acks = await gap.waitAcks(6);
    expect(acks.map((a) => `${a.controlId}:${a.code}`)).toEqual([
      'JB-0000:AA',
      'JB-0001:AE',
      'JB-0002:AA',
      'JB-0003:AE',
      'JB-0004:AA',
      'JB-0005:AE',
    ]);
    await waitFor(() => processed.length === 3, 'the three stored messages are processed');
    expect(processed.map((m) => m.record.controlId).sort()).toEqual(['JB-0000', 'JB-0002', 'JB-0004']);
    db.exec('DROP TRIGGER half_broken');
    db.close();
  });

  it('the journal closed under the running listener: AE 207, not AA', async () => {
    const l = await start();
    const gap = await connect(l);
    await l.journal.close();
    gap.send(adt('JF-0003'));
    const [nack] = await gap.waitAcks(1);
    expect(nack.code).toBe('AE');
    expect(nack.errors.join('\n')).toMatch(/207/);
    expect(processed).toHaveLength(0);
  });
});
