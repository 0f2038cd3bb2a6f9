/**
 * The rejected invoices' work queue and the rules that bill a rejected invoice again
 * (lib/billing/rejected.ts): an item while the dossier waits for the operator or the GAP, none once
 * it moved on (corrected under another number, resent, corrected under the same number); what
 * comes next per action; why a resend is refused. The invoices of a refused file (lot-refused: the
 * file refused before it left, or its lot refused by a negative ARL) wait in the same queue and may
 * be sent again.
 */
import { isCorrected, originOf, rejectedItem, resendRefusal } from '../../lib/billing/rejected';
import type { DossierRecord } from '../../lib/dossier/dossier';
import type { InvoiceBilling } from '../../lib/store/journal';
import { AMC, AMC_CENTS, FINESS, PATIENT, engagedDossier } from '../support/billing';

const KEY = `${FINESS}/V/900000001`;
const rejectedDossier = (o: Partial<DossierRecord> = {}): DossierRecord => ({ ...engagedDossier('900000001'), etat: 'REJETE', ...o });
const inv = (action: string, o: Partial<InvoiceBilling> = {}): InvoiceBilling => ({
  key: KEY,
  number: 'F900000001',
  state: 'rejected',
  amc: AMC,
  engagement: 'ENG900000001',
  amcCents: AMC_CENTS,
  fileNumber: 3,
  settledAt: '2026-12-05',
  rejection: { code: 'R0XX', label: 'motif', action },
  updatedAt: '2026-12-05T10:00:00.000Z',
  ...o,
});

describe('the work queue', () => {
  it('an item per rejected invoice its dossier still waits on, with what comes next; no patient data', () => {
    const item = rejectedItem(inv('RENVOYER'), rejectedDossier());
    expect(item).toMatchObject({ cle: KEY, factureNumero: 'F900000001', amc: AMC, fileNumber: 3, suite: 'RENVOI_POSSIBLE' });
    expect(JSON.stringify(item)).not.toContain(PATIENT.nir);
    expect(JSON.stringify(item)).not.toContain(PATIENT.nom);
    expect(rejectedItem(inv('TRAITEMENT_MANUEL'), rejectedDossier())!.suite).toBe('RENVOI_POSSIBLE');
    expect(rejectedItem(inv('CORRIGER'), rejectedDossier())!.suite).toBe('CORRECTION_ATTENDUE');
    expect(rejectedItem(inv('FACTURER_PATIENT'), rejectedDossier())!.suite).toBe('FACTURER_PATIENT');
    const d = rejectedDossier();
    expect(rejectedItem(inv('CORRIGER'), { ...d, factureEnAttente: { ...d.facture!, numero: 'F900000009' } })!.suite).toBe(
      'CORRECTION_EN_COURS',
    );
  });

  it('none once the dossier moved on: corrected under another number, engaged again, or not rejected', () => {
    const d = rejectedDossier();
    expect(rejectedItem(inv('CORRIGER'), { ...d, facture: { ...d.facture!, numero: 'F900000009' } })).toBeUndefined();
    expect(rejectedItem(inv('CORRIGER'), { ...d, etat: 'FACTURE_RECUE' })).toBeUndefined();
    expect(rejectedItem(inv('CORRIGER'), undefined)).toBeUndefined();
    expect(rejectedItem(inv('CORRIGER', { state: 'paid' }), d)).toBeUndefined();
  });
});

describe('billing a rejected invoice again', () => {
  it('corrected under the same number: only when the dossier is engaged again with another engagement', () => {
    const d = engagedDossier('900000001');
    expect(isCorrected(d, inv('CORRIGER'))).toBe(false); // the same engagement: not corrected
    const again = {
      ...d,
      engagements: [
        { ...d.engagements[0], statut: 'ANNULE' as const },
        { ...d.engagements[0], numero: 'ENG-NEW' },
      ],
    };
    expect(isCorrected(again, inv('CORRIGER'))).toBe(true);
    expect(isCorrected({ ...again, etat: 'FACTURE_RECUE' }, inv('CORRIGER'))).toBe(false);
  });

  it('a resend goes only for RENVOYER or TRAITEMENT_MANUEL, a rejected dossier, no correction under way, the billed engagement live', () => {
    expect(resendRefusal(rejectedDossier(), inv('RENVOYER'))).toBeUndefined();
    expect(resendRefusal(rejectedDossier(), inv('TRAITEMENT_MANUEL'))).toBeUndefined();
    expect(resendRefusal(rejectedDossier(), inv('CORRIGER'))).toMatch(/R0XX.*CORRIGER.*corrigée/);
    expect(resendRefusal(rejectedDossier(), inv('FACTURER_PATIENT'))).toMatch(/FACTURER_PATIENT/);
    expect(resendRefusal({ ...rejectedDossier(), etat: 'ENGAGE' }, inv('RENVOYER'))).toMatch(/ENGAGE/);
    const d = rejectedDossier();
    expect(resendRefusal({ ...d, enCours: { del: { requestId: 'R', at: '2026-12-05T10:00:00Z' } } }, inv('RENVOYER'))).toMatch(/en cours/);
    expect(resendRefusal(d, inv('RENVOYER', { engagement: 'ENG-OTHER' }))).toMatch(/engagement/);
  });
});

describe('invoices of a refused file (lot-refused)', () => {
  /** The file refused before it left (recipient certificate expired): never sent, the dossier still ENGAGE. */
  const refusedBeforeSending = (o: Partial<InvoiceBilling> = {}) =>
    inv('TRAITEMENT_MANUEL', {
      state: 'lot-refused',
      settledAt: undefined,
      rejection: { code: 'CERT_EXPIRED', label: 'recipient certificate expired', action: 'TRAITEMENT_MANUEL' },
      ...o,
    });
  /** The lot refused by the AMC's negative ARL: sent, acknowledged negatively, the dossier FACTURE_AMC. */
  const refusedByArl = (o: Partial<InvoiceBilling> = {}) =>
    inv('CORRIGER', {
      state: 'lot-refused',
      settledAt: undefined,
      sentAt: '2026-12-04',
      acknowledgedAt: '2026-12-05',
      rejection: { code: 'A010', label: 'FINESS inconnu', action: 'CORRIGER' },
      ...o,
    });
  const engaged = (o: Partial<DossierRecord> = {}): DossierRecord => ({ ...engagedDossier('900000001'), ...o });

  it('in the work queue with where it came from, and RENVOI_POSSIBLE whatever action was recorded', () => {
    expect(rejectedItem(refusedBeforeSending(), engaged())).toMatchObject({
      cle: KEY,
      origine: 'FICHIER_REFUSE',
      factureNumero: 'F900000001',
      fileNumber: 3,
      motif: { code: 'CERT_EXPIRED', action: 'TRAITEMENT_MANUEL' },
      suite: 'RENVOI_POSSIBLE',
    });
    expect(rejectedItem(refusedByArl(), engaged({ etat: 'FACTURE_AMC' }))).toMatchObject({
      origine: 'ARL_NEGATIF',
      acknowledgedAt: '2026-12-05',
      motif: { code: 'A010', action: 'CORRIGER' },
      suite: 'RENVOI_POSSIBLE',
    });
    expect(originOf(inv('RENVOYER'))).toBe('RSP');
    expect(rejectedItem(inv('RENVOYER'), rejectedDossier())!.origine).toBe('RSP');
    // a correction under way
    const d = engaged();
    expect(rejectedItem(refusedBeforeSending(), { ...d, factureEnAttente: { ...d.facture!, numero: 'F900000009' } })!.suite).toBe(
      'CORRECTION_EN_COURS',
    );
    expect(JSON.stringify(rejectedItem(refusedBeforeSending(), d))).not.toContain(PATIENT.nir);
  });

  it('none once the dossier moved on (another invoice, cancelled, manual handling, paid…)', () => {
    const d = engaged();
    expect(rejectedItem(refusedBeforeSending(), { ...d, facture: { ...d.facture!, numero: 'F900000009' } })).toBeUndefined();
    for (const etat of ['ANNULE', 'A_TRAITER_MANUELLEMENT', 'PAYE', 'REJETE'] as const)
      expect(rejectedItem(refusedBeforeSending(), { ...d, etat })).toBeUndefined();
    expect(rejectedItem(refusedBeforeSending(), undefined)).toBeUndefined();
    // a rejected invoice whose dossier is only ENGAGE (resent meanwhile) is not in the queue either
    expect(rejectedItem(inv('RENVOYER'), d)).toBeUndefined();
  });

  it('a resend goes for a lot-refused invoice in ENGAGE or FACTURE_AMC, no correction under way, the billed engagement live', () => {
    expect(resendRefusal(engaged(), refusedBeforeSending())).toBeUndefined();
    expect(resendRefusal(engaged({ etat: 'FACTURE_AMC' }), refusedByArl())).toBeUndefined(); // CORRIGER recorded: still resendable
    expect(resendRefusal(engaged({ etat: 'A_TRAITER_MANUELLEMENT' }), refusedByArl())).toMatch(/A_TRAITER_MANUELLEMENT/);
    const d = engaged();
    expect(resendRefusal({ ...d, enCours: { clc: { requestId: 'R', at: '2026-12-05T10:00:00Z' } } }, refusedBeforeSending())).toMatch(
      /en cours/,
    );
    expect(resendRefusal(d, refusedBeforeSending({ engagement: 'ENG-OTHER' }))).toMatch(/engagement/);
    expect(resendRefusal({ ...d, facture: { ...d.facture!, numero: 'F900000009' } }, refusedBeforeSending())).toMatch(/F900000009/);
    expect(resendRefusal(d, inv('RENVOYER', { state: 'sent' }))).toMatch(/sent/);
  });

  it('corrected under the same number (a new engagement in ENGAGE): billed again', () => {
    const d = engaged();
    const again = {
      ...d,
      engagements: [
        { ...d.engagements[0], statut: 'ANNULE' as const },
        { ...d.engagements[0], numero: 'ENG-NEW' },
      ],
    };
    expect(isCorrected(d, refusedBeforeSending())).toBe(false);
    expect(isCorrected(again, refusedBeforeSending())).toBe(true);
  });
});
