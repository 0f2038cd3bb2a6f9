/**
 * The message browser's queries over a real SQLite journal: venue (index), state, date range,
 * IPP / NDA / AMC read from the raw messages over a bounded scan, keyset pages; one message with
 * each stage, masked unless unmasked; the answers found by index (schema 4).
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';
import { maskRaw, messageDetail, parseMessageQuery, QueryError, searchMessages } from '../../lib/ops/messages';
import { adt } from '../store/fixtures';
import { expectNoPatientData, identifiersFromHl7 } from '../support/patient-data';
import type { InboundInput } from '../../lib/store/journal';

let dir: string;
let j: SqliteJournal;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roc-ops-'));
  j = new SqliteJournal({ file: path.join(dir, 'journal.db'), retentionDays: 0, purgeIntervalMs: 0 });
});
afterEach(async () => {
  await j.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An A01 of the fixture for another patient (IPP), stay (NDA) and venue. */
function patientAdt(controlId: string, venue: string, ipp: string, nda: string): InboundInput {
  const m = adt(controlId, venue);
  const text = m.raw.toString('utf8').replace('481516^', `${ipp}^`).replace('25010042^', `${nda}^`);
  return { ...m, raw: Buffer.from(text, 'utf8') };
}

async function fill(): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s = await j.append(patientAdt(`OPS-${i}`, String(250200000 + i), String(700000 + (i % 3)), String(26000000 + i)));
    ids.push(s.id);
  }
  return ids;
}

describe('parseMessageQuery', () => {
  const now = new Date('2026-12-06T10:00:00Z');
  it('reads the filters and bounds a raw search to a date range', () => {
    const q = parseMessageQuery({ ipp: '700001', state: 'done,failed', limit: '20', after: '99' }, now);
    expect(q).toMatchObject({ ipp: '700001', states: ['DONE', 'FAILED'], limit: 20, after: 99 });
    expect(q.to!.getTime() - q.from!.getTime()).toBeLessThanOrEqual(7 * 86_400_000 + 60_000);
    expect(parseMessageQuery({ amc: '77554321' }, now).amc).toBe('0077554321');
    expect(parseMessageQuery({ venue: '250100421', from: '2026-12-01', to: '2026-12-01' }, now)).toMatchObject({
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-02T00:00:00Z'),
    });
  });
  it.each([
    [{ state: 'PERDU' }],
    [{ ipp: "1' OR 1=1" }],
    [{ limit: '0' }],
    [{ amc: 'ABC' }],
    [{ ipp: '1', from: '2026-01-01', to: '2026-06-01' }],
    [{ from: '2026-12-02', to: '2026-12-01' }],
    [{ venue: ['a', 'b'] }],
  ])('refuses %j with a French reason', (q) => {
    expect(() => parseMessageQuery(q as Record<string, unknown>, now)).toThrow(QueryError);
  });
});

describe('searchMessages', () => {
  it('pages newest first by keyset, filters by venue (index) and state', async () => {
    const ids = await fill();
    const p1 = await searchMessages(j, parseMessageQuery({ limit: '12' }));
    expect(p1.items.map((m) => m.id)).toEqual(ids.slice(-12).reverse());
    expect(p1.next).toBe(ids[18]);
    const p3 = await searchMessages(j, parseMessageQuery({ limit: '12', after: String(ids[6]) }));
    expect(p3.items.map((m) => m.id)).toEqual(ids.slice(0, 6).reverse());
    expect(p3.next).toBeUndefined();
    const one = await searchMessages(j, parseMessageQuery({ venue: '250200007' }));
    expect(one.items).toHaveLength(1);
    expect(one.items[0]).toMatchObject({ id: ids[7], venue: '250200007', venueSource: 'PV1-19', state: 'RECEIVED', event: 'ADT^A01' });
    await j.start([ids[3]]);
    await j.complete(ids[3]);
    expect((await searchMessages(j, parseMessageQuery({ state: 'DONE' }))).items.map((m) => m.id)).toEqual([ids[3]]);
  });

  it('finds by IPP, NDA and AMC read from the raw messages, and says how far it read', async () => {
    const ids = await fill();
    const byIpp = await searchMessages(j, parseMessageQuery({ ipp: '700001' }));
    expect(byIpp.items.map((m) => m.id)).toEqual(ids.filter((_, i) => i % 3 === 1).reverse());
    expect(byIpp.scanned).toBe(30);
    expect((await searchMessages(j, parseMessageQuery({ nda: '26000017' }))).items.map((m) => m.id)).toEqual([ids[17]]);
    expect((await searchMessages(j, parseMessageQuery({ amc: '77554321', limit: '5' }))).items).toHaveLength(5);
    expect((await searchMessages(j, parseMessageQuery({ amc: '0312987654' }))).items).toHaveLength(0);
    // a bounded scan stops and hands a cursor to read on
    const bounded = await searchMessages(j, parseMessageQuery({ ipp: '700002' }), { scanLimit: 10 });
    expect(bounded).toMatchObject({ scanned: 10, partial: true, next: ids[20] });
    expect(bounded.items.map((m) => m.id)).toEqual([ids[29], ids[26], ids[23], ids[20]]);
    const rest = await searchMessages(j, parseMessageQuery({ ipp: '700002', after: String(bounded.next) }), { scanLimit: 100 });
    expect(rest.items.map((m) => m.id)).toEqual([ids[17], ids[14], ids[11], ids[8], ids[5], ids[2]]);
  });

  it('a raw search walks the ids downwards within its date range and stops below `from`', async () => {
    const day = 86_400_000;
    const now = Date.parse('2026-12-06T10:00:00Z');
    const at = (d: number) => new Date(now - d * day);
    for (let i = 0; i < 3; i++)
      await j.append({ ...patientAdt(`OPS-OLDER-${i}`, `25029000${i}`, '700009', `2609000${i}`), receivedAt: at(30) });
    const old = await j.append({ ...patientAdt('OPS-OLD', '250300001', '700009', '26100001'), receivedAt: at(20) });
    const mid = await j.append({ ...patientAdt('OPS-MID', '250300002', '700009', '26100002'), receivedAt: at(10) });
    await j.append({ ...patientAdt('OPS-NEW', '250300003', '700009', '26100003'), receivedAt: at(1) });
    await j.append({ ...patientAdt('OPS-OTHER', '250300004', '700008', '26100004'), receivedAt: at(1) });
    const q = parseMessageQuery({ ipp: '700009', from: '2026-11-24', to: '2026-11-28' }, new Date(now));
    const page = await searchMessages(j, q, { now: () => now });
    expect(page.items.map((m) => m.id)).toEqual([mid.id]);
    expect(page.scanned).toBe(2); // started at the range's newest row, stopped at the first older one
    expect(
      (await searchMessages(j, parseMessageQuery({ ipp: '700009', from: '2026-11-10' }, new Date(now)), { now: () => now })).items.map(
        (m) => m.id,
      ),
    ).toEqual([mid.id + 1, mid.id, old.id]);
  });

  it('masks an ordering key that names the patient (NDA, IPP)', async () => {
    const m = adt('OPS-NOVENUE', '250100421');
    const s = await j.append({ ...m, orderingKey: 'PID-3:481516' });
    const page = await searchMessages(j, parseMessageQuery({}));
    expect(page.items[0]).toMatchObject({ id: s.id, venue: '•••516', venueSource: 'PID-3' });
  });
});

describe('messageDetail', () => {
  it('shows each stage with the identity masked; unmask shows it', async () => {
    const input = adt('OPS-DETAIL', '250100421');
    const s = await j.append(input);
    await j.start([s.id]);
    await j.recordExchange({ orderingKey: 'PV1-19:250100421', service: 'IDB', outcome: 'OK' });
    await j.complete(s.id);
    await j.enqueue({
      destination: 'mllp:127.0.0.1:2576',
      orderingKey: 'PV1-19:250100421',
      inboundId: s.id,
      payload: Buffer.from('MSH|^~\\&|ROC-BRIDGE|CHU-NORD|CPAGE|CHU-NORD|20250114093600||ADT^Z80^ADT_A01|R1|P|2.5\rZRC|IDB|OK|0000'),
    });
    await j.enqueue({ destination: 'mllp:127.0.0.1:2576', orderingKey: 'PV1-19:250100421', payload: Buffer.from('autre') });
    const resent = await j.resend(s.id);

    const d = (await messageDetail(j, s.id))!;
    expect(d.masque).toBe(true);
    expect(d.message).toMatchObject({ id: s.id, state: 'DONE', venue: '250100421', controlId: 'OPS-DETAIL' });
    expect(d.raw).toMatch(/^MSH\|/);
    expect(d.raw).toContain('PV1|1|I|');
    expect(d.raw).toContain('IN1|2|AMC|77554321|Mutuelle Générale Œuvres Sociales');
    expect(d.admission).toMatchObject({ event: 'A01', patient: { ipp: '•••516', nom: expect.stringMatching(/^L•+$/) } });
    expect(d.exchanges).toEqual([expect.objectContaining({ service: 'IDB', outcome: 'OK' })]);
    expect(d.answers).toHaveLength(1);
    expect(d.answers[0]).toMatchObject({ state: 'QUEUED', zrc: 'IDB|OK|0000' });
    expect(d.resends).toEqual([resent.storedId]);
    expect(d.dossierKey).toBe('590780215/V/250100421');
    expectNoPatientData([JSON.stringify(d)], identifiersFromHl7(input.raw.toString('utf8')));

    const u = (await messageDetail(j, s.id, { unmask: true }))!;
    expect(u.masque).toBe(false);
    expect(JSON.stringify(u)).toContain('LEFÈVRE-BŒUF');
    expect(await messageDetail(j, 999)).toBeUndefined();
  });

  it('stage 5: the dossier’s invoices on their way to the AMC, without patient data', async () => {
    const input = adt('OPS-BILL', '250100431');
    const s = await j.append(input);
    expect((await messageDetail(j, s.id))!.billing).toBeUndefined();
    await j.putInvoiceBilling({
      key: '590780215/V/250100431',
      number: 'F2026-000431',
      state: 'pending',
      reason: 'en attente du paiement AMO',
      amc: '0077554321',
      engagement: 'E0077554321202612060K000001',
      amcCents: 12345,
    });
    const d = (await messageDetail(j, s.id))!;
    expect(d.billing).toEqual([
      {
        number: 'F2026-000431',
        state: 'pending',
        reason: 'en attente du paiement AMO',
        engagement: 'E0077554321202612060K000001',
        amcCents: 12345,
      },
    ]);
    expectNoPatientData([JSON.stringify(d)], identifiersFromHl7(input.raw.toString('utf8')));
  });

  it('maskRaw keeps the structure and the insurer, never the insured', () => {
    const text = adt('OPS-MASK', '250100421').raw.toString('utf8');
    const masked = maskRaw(text);
    expect(
      masked
        .split('\r')
        .filter(Boolean)
        .map((l) => l.slice(0, 3)),
    ).toEqual(
      text
        .split(/\r|\n/)
        .filter(Boolean)
        .map((l) => l.slice(0, 3)),
    );
    expect(masked).toMatch(/^PID\|1\|\|•••\|\|•••\|\|•••\|F\|/m);
    expectNoPatientData([masked], identifiersFromHl7(text));
  });
});
