/**
 * DFT^P03 from the GAP (docs/dft-intake.md): the intake reads PID/PV1/IN1 exactly as for an ADT,
 * the invoice from ZFA + FT1/ZFT, answers meaning INVOICE, and refuses AE an invoice whose amounts
 * do not add up, with ERR-2 naming the FT1/ZFT occurrence and field (checked in the ACK bytes).
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { acksFor, receive } from '../../lib/hl7/intake';
import { parseEr7 } from '../../lib/hl7/er7';
import { parseAdmission } from '../../lib/hl7/pamfr';
import { REQUIRED_BY_MEANING, TABLE_0357 } from '../../lib/hl7/profile';
import { SERVICE_FOR_MEANING } from '../../lib/hl7/answer-profile';
import { FT1_FIELDS } from '../../lib/dossier/invoice';
import { LINES, dft, type DftLine } from '../support/dft';

const A01 = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'));

const utf8 = (t: string) => Buffer.from(t, 'utf8');
/** The application ACK text (original mode: the only ACK). */
function ackText(t: string): string {
  const intake = receive(utf8(t));
  const plan = acksFor(intake, true);
  return (plan.application ?? plan.commit)!.bytes.toString('utf8');
}
const errs = (ack: string) => ack.split('\r').filter((s) => s.startsWith('ERR|'));
const withLine = (n: number, patch: Partial<Record<number, string>>): DftLine[] =>
  LINES.map((l, i) => (i === n - 1 ? (l.map((v, k) => patch[k] ?? v) as DftLine) : l));

describe('a valid DFT^P03', () => {
  it('→ meaning INVOICE, AA, the lines and totals in euros as numbers', () => {
    const intake = receive(utf8(dft()));
    expect(intake.issues.filter((i) => i.severity === 'E')).toEqual([]);
    expect(intake.ackCode).toBe('AA');
    expect(intake.meaning).toBe('INVOICE');
    expect(intake.ignored).toBe(false);
    const a = intake.admission!;
    expect([a.messageType, a.event, a.meaning]).toEqual(['DFT', 'P03', 'INVOICE']);
    expect(a.facture).toEqual({
      numero: 'FAC-2025-000731',
      dateFacture: '2025-01-18',
      totaux: { total: 3038.77, amo: 2347.82, amc: 690.95, patient: 0 },
      lignes: [
        {
          numero: 1,
          code: 'GHS5091',
          dateDebut: '2025-01-14',
          dateFin: '2025-01-18',
          quantite: 1,
          prixUnitaire: 2934.77,
          montant: 2934.77,
          baseAmo: 2934.77,
          tauxAmo: 80,
          montantAmo: 2347.82,
        },
        {
          numero: 2,
          code: 'FJ',
          dateDebut: '2025-01-14',
          dateFin: '2025-01-18',
          quantite: 4,
          prixUnitaire: 20,
          montant: 80,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
        {
          numero: 3,
          code: 'PJ18',
          dateDebut: '2025-01-14',
          dateFin: '2025-01-14',
          quantite: 1,
          prixUnitaire: 24,
          montant: 24,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
      ],
    });
    // JSON-serialisable (msg.roc.admission)
    expect(JSON.parse(JSON.stringify(a.facture))).toEqual(a.facture);
  });

  it('PID, PV1 and IN1 are read as for the ADT: same ordering key, IPP, NDA, FINESS, coverages', () => {
    const inv = receive(utf8(dft())).admission!;
    const adm = receive(A01).admission!;
    expect(inv.orderingKey).toBe(adm.orderingKey);
    expect(inv.orderingKeySource).toBe('PV1-19');
    expect(inv.patient.ipp).toEqual(adm.patient.ipp);
    expect(inv.venue?.nda).toEqual(adm.venue?.nda);
    expect(inv.venue?.numeroVenue).toEqual(adm.venue?.numeroVenue);
    expect(inv.venue?.type).toBe('HOSPITALISATION');
    expect([inv.venue?.admitDateTime, inv.venue?.dischargeDateTime]).toEqual(['2025-01-14T09:00:00', '2025-01-18T11:00:00']);
    expect(inv.finess).toEqual(adm.finess);
    const cov = (c: (typeof inv.coverages)[number]) => [c.kind, c.numeroAmc, c.organisme, c.debutDroits, c.finDroits];
    expect(inv.coverages.map(cov)).toEqual(adm.coverages.map(cov));
    expect(inv.coverages.map((c) => c.numeroAmc)).toEqual(['0015910000', '0077554321']);
    expect(inv.controlId).toBe('DFT-0001');
  });

  it('without the totals (ZFA-3…6 empty) the lines alone are checked', () => {
    const intake = receive(utf8(dft({ totals: null })));
    expect(intake.ackCode).toBe('AA');
    expect(intake.admission?.facture?.totaux).toBeUndefined();
  });

  it('the venue key is required as for the ADT: PV1-19, else PID-18 (warning), else AE 101 at PV1-19', () => {
    expect(REQUIRED_BY_MEANING.INVOICE).toContain('PV1-19|PID-18');
    expect(SERVICE_FOR_MEANING.INVOICE).toBe('clc');
    const noVenue = dft().replace(/\|250100421\^\^\^CHU-NORD&590780193&M\^VN/, '|');
    const byNda = receive(utf8(noVenue));
    expect(byNda.ackCode).toBe('AA');
    expect(byNda.admission?.orderingKey).toBe('PID-18:25010042');
    expect(byNda.issues.map((i) => [i.code, i.severity, i.location?.segment, i.location?.field])).toEqual([['101', 'W', 'PV1', 19]]);
    const neither = receive(utf8(noVenue.replace('|25010042^^^CHU-NORD&590780193&M^AN', '|')));
    expect(neither.ackCode).toBe('AE');
    expect(neither.issues[0]).toMatchObject({ code: '101', location: { segment: 'PV1', field: 19 } });
  });
});

describe('an amended invoice', () => {
  it('is a new DFT^P03 with the same ZFA-1 and other lines: read as such, latest lines given', () => {
    const first = receive(utf8(dft())).admission!.facture!;
    const lines: DftLine[] = [LINES[0], ['FJ', '20250114', '20250118', '5', '100.00', '20.00', '0', '0', '0'], LINES[2]];
    const amended = receive(utf8(dft({ controlId: 'DFT-0002', lines, totals: ['3058.77', '2347.82', '710.95', '0'] })));
    expect(amended.ackCode).toBe('AA');
    expect(amended.meaning).toBe('INVOICE');
    expect(amended.admission?.controlId).toBe('DFT-0002');
    expect(amended.admission?.facture?.numero).toBe(first.numero);
    expect(amended.admission?.facture?.lignes[1]).toMatchObject({ code: 'FJ', quantite: 5, montant: 100 });
    expect(amended.admission?.facture?.totaux?.amc).toBe(710.95);
  });
});

describe('AE with ERR-2 on the line and field', () => {
  it('a line amount that is not quantity × unit price: 102 at FT1[2]-11, in the ACK bytes', () => {
    const t = dft({ lines: withLine(2, { 4: '90.00' }), totals: ['3048.77', '2347.82', '700.95', '0'] });
    const intake = receive(utf8(t));
    expect(intake.ackCode).toBe('AE');
    expect(intake.admission?.facture).toBeUndefined();
    expect(intake.issues).toHaveLength(1);
    expect(intake.issues[0]).toMatchObject({ code: '102', severity: 'E', location: { segment: 'FT1', sequence: 2, field: 11 } });
    expect(intake.issues[0].message).toContain('ligne 2 (FT1-11)');
    expect(intake.issues[0].message).toContain('90,00 €');
    const ack = ackText(t);
    expect(ack).toMatch(/^MSH\|/);
    expect(ack).toContain('MSA|AE|DFT-0001');
    expect(errs(ack)).toEqual([
      expect.stringMatching(
        /^ERR\|\|FT1\^2\^11\^1\|102\^Data type error\^HL70357\|E\|\|\|\|Erreur de type de donnée : ligne 2 \(FT1-11\) : montant 90,00 €/,
      ),
    ]);
    expect(errs(ack)[0]).toContain('|FT1^2^11^1|102^Data type error^HL70357|E|');
  });

  it('an AMO amount that is not base × rate: 102 at ZFT[1]-4 (and the AMO total at ZFA-4)', () => {
    const t = dft({ lines: withLine(1, { 8: '2000.00' }), totals: ['3038.77', '2000.00', '1038.77', '0'] });
    const intake = receive(utf8(t));
    expect(intake.ackCode).toBe('AE');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.sequence, i.location?.field])).toEqual([
      ['102', 'ZFT', 1, 4],
    ]);
    expect(errs(ackText(t))[0]).toContain('|ZFT^1^4^1|102^');
  });

  it('totals that do not add up (AMO + AMC + patient ≠ total): 102 at ZFA-3', () => {
    const intake = receive(utf8(dft({ totals: ['3038.77', '2347.82', '600.00', '0'] })));
    expect(intake.ackCode).toBe('AE');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.field])).toEqual([['102', 'ZFA', 3]]);
    expect(intake.issues[0].message).toContain('≠ total 3038,77 €');
  });

  it('an AMO total other than the sum of the lines’ AMO parts: 102 at ZFA-4', () => {
    const intake = receive(utf8(dft({ totals: ['3038.77', '2300.00', '738.77', '0'] })));
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.field])).toEqual([['102', 'ZFA', 4]]);
  });

  it('the third line’s ZFT on the third ZFT occurrence even when its FT1 is the third of three', () => {
    const intake = receive(utf8(dft({ lines: withLine(3, { 7: '150' }) })));
    expect(intake.issues[0]).toMatchObject({ code: '102', location: { segment: 'ZFT', sequence: 3, field: 3 } });
  });

  it('ZFA-1 missing: 101 at ZFA-1', () => {
    const t = dft({ numero: '' });
    const intake = receive(utf8(t));
    expect(intake.ackCode).toBe('AE');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.field])).toEqual([['101', 'ZFA', 1]]);
    expect(errs(ackText(t))[0]).toContain('|ZFA^1^1^1|101^Required field missing^HL70357|E|');
  });

  it('no ZFA at all: 100 at ZFA', () => {
    const t = dft()
      .split('\r')
      .filter((s) => !s.startsWith('ZFA'))
      .join('\r');
    expect(receive(utf8(t)).issues[0]).toMatchObject({ code: '100', location: { segment: 'ZFA', sequence: 1 } });
  });

  it('no FT1: 100 at FT1', () => {
    const intake = receive(utf8(dft({ lines: [], totals: null })));
    expect(intake.ackCode).toBe('AE');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.sequence])).toEqual([['100', 'FT1', 1]]);
  });

  it('an amount with a comma, a date in the wrong form: 102 at the field', () => {
    const intake = receive(utf8(dft({ lines: withLine(2, { 1: '2025-01-14', 4: '80,00' }) })));
    expect(intake.ackCode).toBe('AE');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.sequence, i.location?.field])).toEqual([
      ['102', 'FT1', 2, 4],
      ['102', 'FT1', 2, 11],
    ]);
    expect(intake.issues[1].message).toBe('Erreur de type de donnée : FT1-11 (montant) : nombre attendu (euros, point décimal)');
    for (const i of intake.issues) expect(i.message).not.toContain('2025-01-14');
  });

  it('an invoice date that is not a date: 102 at ZFA-2', () => {
    expect(receive(utf8(dft({ dateFacture: '20251332' }))).issues[0]).toMatchObject({
      code: '102',
      location: { segment: 'ZFA', field: 2 },
    });
  });

  it('a required line field empty: 101 (prestation code FT1-7, quantity FT1-10, AMO rate ZFT-3)', () => {
    const intake = receive(utf8(dft({ lines: withLine(2, { 0: '', 3: '', 7: '' }), totals: null })));
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.sequence, i.location?.field])).toEqual([
      ['101', 'FT1', 2, 7],
      ['101', 'FT1', 2, 10],
      ['101', 'ZFT', 2, 3],
    ]);
  });

  it('an FT1 without its ZFT: 100 at ZFT of that line; a lone ZFT: 100 at it', () => {
    const t = dft()
      .split('\r')
      .filter((s) => !s.startsWith('ZFT|2|'))
      .join('\r');
    expect(receive(utf8(t)).issues.map((i) => [i.code, i.location?.segment, i.location?.sequence])).toEqual([['100', 'ZFT', 2]]);
    const stray = dft({ tail: ['ZFT|9|0|0|0'] });
    expect(receive(utf8(stray)).issues.map((i) => [i.code, i.location?.segment, i.location?.sequence])).toEqual([['100', 'ZFT', 4]]);
  });

  it('FT1-6 other than CG: 103; FT1-1 out of order: 102 at FT1-1; some totals but not all: 101', () => {
    const credit = receive(utf8(dft().replace('|TX-2||20250114|20250118|CG|', '|TX-2||20250114|20250118|CR|')));
    expect(credit.issues.map((i) => [i.code, i.location?.segment, i.location?.sequence, i.location?.field])).toEqual([
      ['103', 'FT1', 2, 6],
    ]);
    const order = receive(utf8(dft().replace('FT1|2|', 'FT1|7|')));
    expect(order.issues[0]).toMatchObject({ code: '102', location: { segment: 'FT1', sequence: 2, field: 1 } });
    const partial = receive(utf8(dft({ totals: ['3038.77', '2347.82', '', ''] })));
    expect(partial.issues.map((i) => [i.code, i.location?.field])).toEqual([
      ['101', 5],
      ['101', 6],
    ]);
  });

  it('the line fields come from FT1_FIELDS (profile data)', () => {
    expect(FT1_FIELDS.montant).toEqual({ segment: 'FT1', field: 11 });
    expect(FT1_FIELDS.montantAmo).toEqual({ segment: 'ZFT', field: 4 });
  });
});

describe('other DFT triggers', () => {
  it('DFT^P11 is refused AR 200 at MSH-9.2 (never acknowledged and dropped)', () => {
    const intake = receive(utf8(dft({ event: 'P11' })));
    expect(intake.ackCode).toBe('AR');
    expect(intake.issues.map((i) => [i.code, i.location?.segment, i.location?.field, i.location?.component])).toEqual([
      ['200', 'MSH', 9, 2],
    ]);
    expect(parseAdmission(parseEr7(dft({ event: 'P11' }))).meaning).toBe('IGNORE');
  });

  it('an ADT is unchanged: still IDB for the A01', () => {
    const a = receive(A01);
    expect([a.ackCode, a.meaning]).toEqual(['AA', 'IDB']);
    expect(a.admission?.facture).toBeUndefined();
  });
});

describe('property: receive() never throws on mutated DFT^P03 messages', () => {
  const HOSTILE = [
    '',
    '""',
    'abc',
    '1,5',
    '-3',
    '1e5',
    '99999999999999999999',
    '20251399',
    '\\F\\',
    '^^^',
    '~',
    '0',
    'NaN',
    'Infinity',
    '.5',
    '+.',
    'é€',
    '-0.001',
  ];
  const BASE = dft().split('\r').filter(Boolean);
  type Op =
    | { kind: 'set'; seg: number; field: number; value: string }
    | { kind: 'drop'; seg: number }
    | { kind: 'dup'; seg: number }
    | { kind: 'swap'; seg: number; other: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      seg: fc.nat(BASE.length + 2),
      field: fc.integer({ min: 1, max: 14 }),
      value: fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 12 })),
    }),
    fc.record({ kind: fc.constant('drop' as const), seg: fc.nat(BASE.length + 2) }),
    fc.record({ kind: fc.constant('dup' as const), seg: fc.nat(BASE.length + 2) }),
    fc.record({ kind: fc.constant('swap' as const), seg: fc.nat(BASE.length + 2), other: fc.nat(BASE.length + 2) }),
  );
  function apply(ops: Op[]): string {
    const segs = [...BASE];
    for (const o of ops) {
      const i = o.seg % segs.length;
      if (o.kind === 'set') {
        if (i === 0) continue; // keep an MSH the parser can read; header mutations are the PAM-FR fuzz's job
        const f = segs[i].split('|');
        while (f.length <= o.field) f.push('');
        f[o.field] = o.value.replace(/[\r\n]/g, '');
        segs[i] = f.join('|');
      } else if (o.kind === 'drop' && segs.length > 1 && i > 0) segs.splice(i, 1);
      else if (o.kind === 'dup' && i > 0) segs.splice(i, 0, segs[i]);
      else if (o.kind === 'swap' && i > 0) {
        const j = o.other % segs.length;
        if (j > 0) [segs[i], segs[j]] = [segs[j], segs[i]];
      }
    }
    return segs.join('\r') + '\r';
  }

  it('always AA, AE or AR, never the generic 207; AA carries a consistent invoice; no patient data in issues', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 6 }), (ops) => {
        const intake = receive(utf8(apply(ops)));
        expect(['AA', 'AE', 'AR']).toContain(intake.ackCode);
        expect(intake.issues.some((i) => i.code === '207')).toBe(false);
        for (const i of intake.issues) {
          expect(Object.keys(TABLE_0357)).toContain(i.code);
          for (const secret of ['LEFÈVRE', 'Hélène', '285075935012324', '19850714']) expect(i.message).not.toContain(secret);
        }
        if (intake.ackCode === 'AA' && intake.meaning === 'INVOICE') {
          const f = intake.admission!.facture!;
          expect(f.numero).not.toBe('');
          expect(f.lignes.length).toBeGreaterThan(0);
          for (const l of f.lignes) expect(Number.isFinite(l.montant) && Number.isFinite(l.montantAmo)).toBe(true);
          expect(JSON.parse(JSON.stringify(f))).toEqual(f);
        }
      }),
      { seed: 20261206, numRuns: 400 },
    );
  });
});
