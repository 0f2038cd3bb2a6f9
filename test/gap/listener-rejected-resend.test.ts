/**
 * The rule the listener documents: a rejected message (AE/AR) is stored WITHOUT its MSH-10 as
 * duplicate key, so the corrected message the GAP resends with the same MSH-10 is processed —
 * not acknowledged as a duplicate and silently lost. Over a real socket against lib/gap.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MllpListener, type Dispatched } from '../../lib/gap/mllp-listener';
import { MllpPeer, waitFor } from '../support/mllp-peer';
import { expectNoPatientData, identifiersFromHl7 } from '../support/patient-data';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const adt = (controlId: string) => FIXTURE.replace('A01-UTF8-0001', controlId);

let dir: string;
let listener: MllpListener | undefined;
const peers: MllpPeer[] = [];
const processed: Dispatched[] = [];
const errors: string[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-listener-resend-'));
  processed.length = 0;
  errors.length = 0;
  listener = new MllpListener(
    { host: '127.0.0.1', port: 0, journalFile: path.join(dir, 'journal.sqlite'), synchronous: 'NORMAL' },
    (m) => {
      processed.push(m);
      void listener!.complete(m.journalId);
    },
    (text) => errors.push(text),
  );
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

describe('a corrected message resent with the MSH-10 of a rejected one is processed', () => {
  it.each([
    ['AE: impossible birth date (PID-7)', (t: string) => t.replace('|19850714|F|', '|19851345|F|'), 'AE', /102/],
    ['AR: unsupported message type', (t: string) => t.replace('ADT^A01^ADT_A01', 'ORU^R01^ORU_R01'), 'AR', /200/],
  ])('%s', async (_name, spoil, code, err) => {
    const bad = spoil(adt('RS-0001'));
    const g = await gap();
    g.send(bad);
    const [first] = await g.waitAcks(1);
    expect(first).toMatchObject({ code, controlId: 'RS-0001' });
    expect(first.errors.join('\n')).toMatch(err);
    await new Promise((r) => setTimeout(r, 100));
    expect(processed).toHaveLength(0);

    // the interface engineer fixes the GAP; it resends the corrected message with the same MSH-10
    g.send(adt('RS-0001'));
    const acks = await g.waitAcks(2);
    expect(acks[1]).toMatchObject({ code: 'AA', controlId: 'RS-0001' });
    expect(listener!.stats.duplicates).toBe(0); // not taken for a duplicate of the rejected one
    await waitFor(() => processed.length === 1, 'the corrected message is processed');
    expect(processed[0].record.controlId).toBe('RS-0001');
    expect(processed[0].record.state).not.toBe('DUPLICATE');

    // the journal: the rejected row is kept (IGNORED, raw readable), the corrected one DONE
    const rows = await listener!.journal.browse({ order: 'asc' });
    expect(rows.map((r) => r.state)).toEqual(['IGNORED', expect.stringMatching(/PROCESSING|DONE/)]);
    const raw = (await listener!.journal.get(rows[0].id, { raw: true }))!.raw!.toString('utf8');
    expect(raw).toContain('|RS-0001|');

    // and a real duplicate of the ACCEPTED one is still recognised (AA, not processed twice)
    g.send(adt('RS-0001'));
    const acks3 = await g.waitAcks(3);
    expect(acks3[2]).toMatchObject({ code: 'AA', controlId: 'RS-0001' });
    await waitFor(() => listener!.stats.duplicates === 1, 'the third arrival is a duplicate');
    expect(processed).toHaveLength(1);
    expectNoPatientData([...errors, ...acks3.flatMap((a) => a.errors)], identifiersFromHl7(adt('RS-0001')));
  });

  it('a rejected message resent UNCHANGED is rejected again (not taken for a duplicate of itself)', async () => {
    const bad = adt('RS-0002').replace('|19850714|F|', '|19851345|F|');
    const g = await gap();
    g.send(bad);
    g.send(bad);
    const acks = await g.waitAcks(2);
    expect(acks.map((a) => a.code)).toEqual(['AE', 'AE']);
    expect(listener!.stats.duplicates).toBe(0);
    expect(processed).toHaveLength(0);
  });
});
