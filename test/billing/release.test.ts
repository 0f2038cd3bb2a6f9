/** The release check (lib/billing/release.ts): each condition of issue 10, each reason. */
import { releaseCheck, nirKey, dreFile } from '../../lib/billing/release';
import { readDreEs, writeDreEs } from '../../lib/billing/dre-es';
import { AMC_CENTS, AMO_CENTS, engagedDossier } from '../support/billing';

const WAIT = { waitForAmoPayment: true };
const NOWAIT = { waitForAmoPayment: false };
const today = '2026-12-01';

it('NIR key: 97 − NIR mod 97, Corsica included', () => {
  expect(nirKey('1850775123456')).toBe(String(97 - Number(1850775123456n % 97n)).padStart(2, '0'));
  expect(nirKey('1852A75123456')).toBe(String(97 - Number(1851975123456n % 97n)).padStart(2, '0'));
});

it('releases an engaged invoice whose AMO payment is recorded; the DRE-ES invoice adds up and reads back', () => {
  const d = engagedDossier('250100421');
  const v = releaseCheck(d, { state: 'pending', amoPaidAt: '2026-11-28', amoCents: AMO_CENTS }, WAIT, { today });
  expect(v).toMatchObject({ state: 'ready', amc: '0000123456', finess: '750100125', amcCents: AMC_CENTS, engagement: 'ENG250100421' });
  if (v.state !== 'ready') return;
  expect(v.invoice.lines.map((l) => [l.family, l.amcCents])).toEqual([
    ['GHS', 58_695],
    ['FJ', 8000],
    ['TM', 2400],
  ]);
  const bytes = writeDreEs(dreFile('750100125', v.amc, 3, today, [{ finess: v.finess, invoice: v.invoice }]).file);
  const back = readDreEs(bytes);
  expect(back.ok && back.value.totals.amcCents).toBe(AMC_CENTS);
});

it('waits for the AMO payment when the site says so, not otherwise', () => {
  const d = engagedDossier('250100421');
  expect(releaseCheck(d, undefined, WAIT, { today })).toMatchObject({ state: 'pending', code: 'AMO_UNPAID' });
  expect(releaseCheck(d, undefined, NOWAIT, { today })).toMatchObject({ state: 'ready' });
  expect(releaseCheck(d, { state: 'pending', amoPaidAt: '2026-11-28', amoCents: 100 }, WAIT, { today })).toMatchObject({
    state: 'refused',
    code: 'AMO_MISMATCH',
  });
});

it('refuses or holds each case with its reason, without patient data', () => {
  const cases: Array<[ReturnType<typeof engagedDossier>, string, string, object?]> = [
    [engagedDossier('1', { noShare: true }), 'refused', 'NO_AMC_SHARE'],
    [engagedDossier('2', { engaged: false }), 'pending', 'NO_ENGAGEMENT'],
    [engagedDossier('3', { engagedTotal: 700 }), 'refused', 'AMOUNT_MISMATCH'],
    [engagedDossier('4', { etat: 'FACTURE_AMC' }), 'refused', 'ALREADY_BILLED'],
    [engagedDossier('5', { etat: 'ANNULE' }), 'refused', 'CANCELLED'],
    [engagedDossier('6', { etat: 'DROITS_KO', engaged: false }), 'refused', 'NO_AMC_SHARE'],
    [{ ...engagedDossier('7'), factureEnAttente: engagedDossier('7').facture }, 'pending', 'INVOICE_AMENDED'],
    [engagedDossier('8', { numero: 'FAC-2026-000000731' }), 'refused', 'INCOMPLETE'],
  ];
  for (const [d, state, code] of cases) {
    const v = releaseCheck(d, undefined, NOWAIT, { today });
    expect([d.key, v.state, v.state !== 'ready' && v.code]).toEqual([d.key, state, code]);
    if (v.state !== 'ready') expect(v.reason).not.toMatch(/2850759350123|LEFEVRE|1985/);
  }
  // a claim that differs from the engaged amount
  expect(releaseCheck(engagedDossier('9'), undefined, NOWAIT, { today, claimAmcCents: AMC_CENTS + 1 })).toMatchObject({
    state: 'refused',
    code: 'AMOUNT_MISMATCH',
  });
  expect(releaseCheck(engagedDossier('9'), undefined, NOWAIT, { today, claimAmcCents: AMC_CENTS }).state).toBe('ready');
  // already in a file
  expect(releaseCheck(engagedDossier('10'), { state: 'sent' }, NOWAIT, { today })).toMatchObject({
    state: 'refused',
    code: 'ALREADY_BILLED',
  });
});

it('the CLC answer’s amounts are kept on the engagement (outcomeOf → recordExchange)', () => {
  const { recordExchange } = jest.requireActual('../../lib/dossier/dossier') as typeof import('../../lib/dossier/dossier');
  const { outcomeOf } = jest.requireActual('../../lib/dossier/engine') as typeof import('../../lib/dossier/engine');
  const base = engagedDossier('250100499', { engaged: false });
  const now = new Date('2026-11-24T16:00:00Z');
  const lignes = [
    { numero: 1, code: 'GHS5091', montantAmc: 586.95, montantPatient: 0 },
    { numero: 2, code: 'FJ', montantAmc: 80, montantPatient: 0 },
    { numero: 3, code: 'PJ18', montantAmc: 24, montantPatient: 0 },
  ];
  const outcome = outcomeOf(
    {
      clc: {
        status: 'OK',
        technical: false,
        requestId: 'R1',
        latencyMs: 80,
        messages: [],
        engagement: { numero: 'ENG1' },
        montants: { totalFacture: 3038.77, totalAmo: 2347.82, totalAmc: 690.95, resteACharge: 0 },
        lignes,
      },
    },
    { service: 'clc', requestId: 'R1' },
    now,
  )!;
  const r = recordExchange(base, outcome, now);
  expect(r.event).toBe('CLC_OK');
  expect(r.dossier.engagements[0]).toMatchObject({ numero: 'ENG1', montantAmc: 690.95, lignes });
  const v = releaseCheck({ ...r.dossier, etat: 'ENGAGE' }, undefined, NOWAIT, { today });
  expect(v).toMatchObject({ state: 'ready', amcCents: AMC_CENTS });
});
