/**
 * The engagement book: number format, one engagement per invoice, cancellation rules, invoicing,
 * bounded memory.
 */
import { EngagementBook, type Engagement } from '../../simulator/engagements';

const clock = () => new Date(2026, 2, 14, 11, 30);

function engagement(book: EngagementBook, numeroFacture: string): Engagement {
  const e: Engagement = {
    numero: book.nextNumero('0775685365'),
    numeroAmc: '0775685365',
    pointAcces: 'tpso',
    finessJuridique: '750712184',
    finessGeographique: '750100042',
    numeroFacture,
    idRequete: `req-${numeroFacture}`,
    montantAmc: 1030.48,
    dateCalcul: clock().toISOString(),
    dateValidite: '2026-06-12',
    etat: 'ACTIF',
  };
  book.record(e, `fp-${numeroFacture}`, { statut: 'OK', numeroEngagement: e.numero });
  return e;
}

test('numbers: E + numéro AMC + date of calculation + instance tag + 6-digit sequence', () => {
  const book = new EngagementBook('K7', clock);
  expect(book.nextNumero('0775685365')).toBe('E5365260314K70000001');
  expect(book.nextNumero('0441927302')).toBe('E7302260314K70000002');
});

test('one engagement per (FINESS géographique, invoice); freed by cancellation', () => {
  const book = new EngagementBook('K7', clock);
  const e = engagement(book, 'F1');
  expect(book.forInvoice('750100042', 'F1')?.engagement.numero).toBe(e.numero);
  expect(book.forInvoice('750100099', 'F1')).toBeUndefined();
  expect(book.cancel(e.numero, () => true, 'Séjour annulé')).toMatchObject({ ok: true });
  expect(book.get(e.numero)).toMatchObject({ etat: 'ANNULE', motifAnnulation: 'Séjour annulé' });
  expect(book.forInvoice('750100042', 'F1')).toBeUndefined();
});

test('cancellation refused: unknown (6020), other AMC’s access point (6020), already cancelled (6021), invoiced (6022)', () => {
  const book = new EngagementBook('K7', clock);
  const a = engagement(book, 'F1');
  const b = engagement(book, 'F2');
  expect(book.cancel('E000', () => true)).toEqual({ ok: false, code: '6020' });
  expect(book.cancel(a.numero, (n) => n !== '0775685365')).toEqual({ ok: false, code: '6020' });
  book.cancel(a.numero, () => true);
  expect(book.cancel(a.numero, () => true)).toEqual({ ok: false, code: '6021' });
  expect(book.markInvoiced(b.numero)).toBe(true);
  expect(book.get(b.numero)?.etat).toBe('FACTURE');
  expect(book.cancel(b.numero, () => true)).toEqual({ ok: false, code: '6022' });
  expect(book.markInvoiced(a.numero)).toBe(false);
});

test('the list is a frozen copy', () => {
  const book = new EngagementBook('K7', clock);
  engagement(book, 'F1');
  const list = book.list();
  expect(Object.isFrozen(list)).toBe(true);
  expect(Object.isFrozen(list[0])).toBe(true);
});

test('beyond its limit the book forgets the oldest engagements (and their invoice keys)', () => {
  const book = new EngagementBook('K7', clock, 2);
  const a = engagement(book, 'F1');
  engagement(book, 'F2');
  engagement(book, 'F3');
  expect(book.list().map((e) => e.numeroFacture)).toEqual(['F2', 'F3']);
  expect(book.get(a.numero)).toBeUndefined();
  expect(book.forInvoice('750100042', 'F1')).toBeUndefined();
});
