/**
 * The ROC dossier's states and the transitions allowed between them, AS DATA, in one place.
 *
 * One dossier per venue (lib/dossier/dossier.ts). An event (from the GAP, from an online service's
 * answer, from the clock, later from billing) moves the dossier along one row of TRANSITIONS; an
 * event with no row for the dossier's state is refused with a reason an operator can read
 * (French, never patient data). What the bridge must DO about an event is the decision table's
 * business (lib/dossier/decision.ts); this file only says where the dossier ends up.
 */

/** The states of a ROC dossier. Labels (French, for operators) in STATE_LABELS. */
export const STATES = [
  'SANS_AMC',
  'ADMIS',
  'DROITS_OK',
  'DROITS_KO',
  'A_REVERIFIER',
  'DEVIS',
  'FACTURE_RECUE',
  'CALCUL_REFUSE',
  'ENGAGE',
  'ANNULE',
  'FACTURE_AMC',
  'PAYE',
  'PAYE_PARTIEL',
  'REJETE',
  'A_TRAITER_MANUELLEMENT',
] as const;
export type DossierState = (typeof STATES)[number];

export const STATE_LABELS: Record<DossierState, string> = {
  SANS_AMC: 'sans couverture complémentaire',
  ADMIS: 'admis, droits AMC à vérifier',
  DROITS_OK: 'droits AMC ouverts',
  DROITS_KO: 'droits AMC fermés : part complémentaire facturée au patient',
  A_REVERIFIER: "à revérifier (l'AMC n'a pas répondu)",
  DEVIS: 'devis (simulation) remis',
  FACTURE_RECUE: 'facture reçue, calcul AMC attendu',
  CALCUL_REFUSE: "calcul refusé par l'AMC",
  ENGAGE: "engagement de l'AMC obtenu",
  ANNULE: 'séjour annulé, aucun engagement vivant',
  FACTURE_AMC: "facture envoyée à l'AMC",
  PAYE: "payé par l'AMC",
  PAYE_PARTIEL: "payé partiellement par l'AMC",
  REJETE: "facture rejetée par l'AMC",
  A_TRAITER_MANUELLEMENT: 'à traiter manuellement',
};

/** Events, whatever their source. The GAP's, the services', the clock's, billing's, the operator's. */
export const EVENTS = [
  // GAP (HL7 PAM-FR / HPRIM, DFT^P03)
  'PRE_ADMISSION', // A05
  'ADMISSION', // A01, A04
  'SORTIE', // A03
  'ANNULATION', // A11, A38
  'ANNULATION_SORTIE', // A13: the discharge is cancelled, the stay goes on
  'MISE_A_JOUR', // A08, Z99 without coverage change
  'COUVERTURE_CHANGEE', // A08/Z99 (or any movement) bringing a new numéro AMC or numéro d'adhérent
  'COUVERTURE_RETIREE', // A08/Z99 whose coverage groups no longer hold an AMC
  'FACTURE', // DFT^P03 or POST /roc/invoice, first invoice (or the same one again)
  'FACTURE_MODIFIEE', // an invoice with the same venue but other lines or amounts
  // Online services (msg.roc.<service>, see dossier.ts eventForResult)
  'IDB_OK',
  'IDB_KO',
  'IDB_TECHNIQUE',
  'SIM_OK',
  'SIM_KO',
  'SIM_TECHNIQUE',
  'CLC_OK',
  'CLC_KO',
  'CLC_TECHNIQUE',
  'DEL_OK_ANNULATION', // last live engagement cancelled because the stay was cancelled
  'DEL_OK_REMPLACEMENT', // old engagement cancelled because the invoice was amended
  'DEL_OK_RETRAIT', // last live engagement cancelled because the AMC coverage was removed
  'DEL_OK_SORTIE_ANNULEE', // last live engagement cancelled because the discharge was cancelled
  'DEL_OK_PARTIEL', // one engagement cancelled, others still live
  'DEL_KO',
  'DEL_DEJA_FACTURE', // DEL refused, engagement already invoiced (code 6022)
  'DEL_TECHNIQUE',
  // Clock
  'REVERIFICATION_DUE',
  'RENOUVELLEMENT_IDB_DUE',
  // Billing (next issue)
  'DRE_ENVOYEE',
  'RSP_PAYE',
  'RSP_PAYE_PARTIEL',
  'RSP_REJET',
  // Checks and operator
  'CONTRADICTION', // a service answer contradicts the stored state (dossier.ts recordExchange)
  'REVERIFICATIONS_EPUISEES', // the re-checks after a technical KO are over (step(), schedule.ts)
  'REPRISE_MANUELLE', // an operator releases a dossier from manual handling
  'RENVOI_FACTURE', // an operator sends a rejected (or lot-refused) invoice again, unchanged (POST /roc/billing/rejected/:key/resend)
] as const;
export type DossierEvent = (typeof EVENTS)[number];

/** "Stay where you are": the event is recorded, the state does not change. */
export const SAME = 'INCHANGE' as const;

export interface Transition {
  from: readonly DossierState[];
  event: DossierEvent;
  to: DossierState | typeof SAME;
}

const ALL: readonly DossierState[] = STATES;
/** States in which the stay is still alive for ROC (nothing paid, nothing cancelled). */
const OPEN: readonly DossierState[] = [
  'ADMIS',
  'DROITS_OK',
  'DROITS_KO',
  'A_REVERIFIER',
  'DEVIS',
  'FACTURE_RECUE',
  'CALCUL_REFUSE',
  'SANS_AMC',
];
/** States holding a live engagement (a DEL may be under way). */
const ENGAGED: readonly DossierState[] = ['ENGAGE'];
/** Billing has started: the engagement can no longer be cancelled by DEL (except after a rejection). */
const BILLED: readonly DossierState[] = ['FACTURE_AMC', 'PAYE', 'PAYE_PARTIEL', 'REJETE'];
/** Live engagement a DEL may cancel: engaged, or billed and rejected by the AMC (a corrected invoice replaces it). */
const CANCELLABLE: readonly DossierState[] = ['ENGAGE', 'REJETE'];

/**
 * THE transitions. First row whose `from` holds the state and whose `event` matches wins.
 * Read it as a table: lib/dossier/README.md prints the same rows.
 */
export const TRANSITIONS: readonly Transition[] = [
  // --- GAP movements
  // A movement after a cancellation keeps the dossier cancelled (a new stay gets a new venue number).
  { from: ['ANNULE'], event: 'PRE_ADMISSION', to: SAME },
  { from: ['ANNULE'], event: 'ADMISSION', to: SAME },
  { from: OPEN, event: 'PRE_ADMISSION', to: SAME },
  { from: OPEN, event: 'ADMISSION', to: SAME },
  { from: ALL, event: 'SORTIE', to: SAME },
  { from: ALL, event: 'MISE_A_JOUR', to: SAME },
  { from: OPEN, event: 'ANNULATION', to: 'ANNULE' },
  { from: ENGAGED, event: 'ANNULATION', to: SAME }, // DEL of each live engagement first
  { from: ['ANNULE'], event: 'ANNULATION', to: SAME }, // a second cancellation changes nothing
  { from: BILLED, event: 'ANNULATION', to: 'A_TRAITER_MANUELLEMENT' },
  { from: ['A_TRAITER_MANUELLEMENT'], event: 'ANNULATION', to: SAME },
  // A13: the stay goes on; an engagement computed at the discharge is cancelled (DEL), the rights stand
  { from: [...OPEN, 'ANNULE', 'A_TRAITER_MANUELLEMENT'], event: 'ANNULATION_SORTIE', to: SAME },
  { from: ENGAGED, event: 'ANNULATION_SORTIE', to: SAME }, // DEL of each live engagement first
  { from: BILLED, event: 'ANNULATION_SORTIE', to: 'A_TRAITER_MANUELLEMENT' },
  {
    from: ['SANS_AMC', 'ADMIS', 'DROITS_OK', 'DROITS_KO', 'A_REVERIFIER', 'DEVIS', 'FACTURE_RECUE', 'CALCUL_REFUSE'],
    event: 'COUVERTURE_CHANGEE',
    to: 'ADMIS',
  },
  { from: ENGAGED, event: 'COUVERTURE_CHANGEE', to: 'A_TRAITER_MANUELLEMENT' },
  {
    from: ['ADMIS', 'DROITS_OK', 'DROITS_KO', 'A_REVERIFIER', 'DEVIS', 'FACTURE_RECUE', 'CALCUL_REFUSE'],
    event: 'COUVERTURE_RETIREE',
    to: 'SANS_AMC',
  },
  { from: ['SANS_AMC'], event: 'COUVERTURE_RETIREE', to: SAME },
  { from: ENGAGED, event: 'COUVERTURE_RETIREE', to: SAME }, // DEL of each live engagement first
  // --- invoices
  { from: ['DROITS_OK', 'DEVIS'], event: 'FACTURE', to: 'FACTURE_RECUE' },
  { from: ['SANS_AMC', 'ADMIS', 'A_REVERIFIER', 'DROITS_KO', 'FACTURE_RECUE', 'CALCUL_REFUSE', 'ENGAGE'], event: 'FACTURE', to: SAME },
  { from: ['DROITS_OK', 'DEVIS', 'CALCUL_REFUSE'], event: 'FACTURE_MODIFIEE', to: 'FACTURE_RECUE' },
  { from: ['SANS_AMC', 'ADMIS', 'A_REVERIFIER', 'DROITS_KO', 'FACTURE_RECUE', 'ENGAGE'], event: 'FACTURE_MODIFIEE', to: SAME },
  // a corrected invoice after the AMC's rejection: DEL of the rejected engagement, then CLC
  { from: ['REJETE'], event: 'FACTURE_MODIFIEE', to: SAME },
  { from: ['FACTURE_AMC', 'PAYE', 'PAYE_PARTIEL'], event: 'FACTURE_MODIFIEE', to: 'A_TRAITER_MANUELLEMENT' },
  // --- IDB
  { from: ['ADMIS', 'A_REVERIFIER'], event: 'IDB_OK', to: 'DROITS_OK' },
  { from: ['DROITS_OK', 'DEVIS', 'FACTURE_RECUE'], event: 'IDB_OK', to: SAME }, // renewal, rights still open
  { from: ['ADMIS', 'A_REVERIFIER', 'DROITS_OK', 'DEVIS'], event: 'IDB_KO', to: 'DROITS_KO' },
  { from: ['ADMIS', 'A_REVERIFIER', 'DROITS_OK', 'DEVIS'], event: 'IDB_TECHNIQUE', to: 'A_REVERIFIER' },
  { from: ['FACTURE_RECUE'], event: 'IDB_TECHNIQUE', to: SAME },
  // --- SIM (a quote; never binding, never blocks)
  { from: ['DROITS_OK', 'DEVIS'], event: 'SIM_OK', to: 'DEVIS' },
  { from: ['DROITS_OK', 'DEVIS'], event: 'SIM_KO', to: SAME },
  { from: ['DROITS_OK', 'DEVIS'], event: 'SIM_TECHNIQUE', to: SAME },
  // --- CLC
  // (from CALCUL_REFUSE: the CLC of an amended invoice that waited for the refused calculation)
  { from: ['FACTURE_RECUE', 'A_REVERIFIER', 'CALCUL_REFUSE'], event: 'CLC_OK', to: 'ENGAGE' },
  { from: ['FACTURE_RECUE', 'A_REVERIFIER'], event: 'CLC_KO', to: 'CALCUL_REFUSE' },
  { from: ['CALCUL_REFUSE'], event: 'CLC_KO', to: SAME },
  { from: ['FACTURE_RECUE', 'A_REVERIFIER', 'CALCUL_REFUSE'], event: 'CLC_TECHNIQUE', to: 'A_REVERIFIER' },
  // --- DEL
  // (a DEL without answer leaves the engagement live: the dossier stays ENGAGE, re-asked on schedule)
  { from: ENGAGED, event: 'DEL_OK_ANNULATION', to: 'ANNULE' },
  { from: CANCELLABLE, event: 'DEL_OK_REMPLACEMENT', to: 'FACTURE_RECUE' },
  { from: ENGAGED, event: 'DEL_OK_RETRAIT', to: 'SANS_AMC' },
  { from: ENGAGED, event: 'DEL_OK_SORTIE_ANNULEE', to: 'DROITS_OK' },
  { from: ENGAGED, event: 'DEL_OK_PARTIEL', to: SAME },
  { from: CANCELLABLE, event: 'DEL_KO', to: 'A_TRAITER_MANUELLEMENT' },
  { from: CANCELLABLE, event: 'DEL_DEJA_FACTURE', to: 'A_TRAITER_MANUELLEMENT' },
  { from: CANCELLABLE, event: 'DEL_TECHNIQUE', to: SAME },
  // --- clock
  { from: ['A_REVERIFIER', 'ENGAGE', 'REJETE'], event: 'REVERIFICATION_DUE', to: SAME },
  { from: ['DROITS_OK', 'DEVIS'], event: 'RENOUVELLEMENT_IDB_DUE', to: SAME },
  // --- billing (next issue)
  { from: ['ENGAGE'], event: 'DRE_ENVOYEE', to: 'FACTURE_AMC' },
  { from: ['FACTURE_AMC'], event: 'RSP_PAYE', to: 'PAYE' },
  { from: ['FACTURE_AMC'], event: 'RSP_PAYE_PARTIEL', to: 'PAYE_PARTIEL' },
  { from: ['FACTURE_AMC'], event: 'RSP_REJET', to: 'REJETE' },
  // the same invoice sent again after a rejection, or after the AMC's negative ARL refused its lot
  // (operator, unchanged amounts): billed again from ENGAGE
  { from: ['REJETE', 'FACTURE_AMC'], event: 'RENVOI_FACTURE', to: 'ENGAGE' },
  // --- contradictions and the operator
  { from: STATES.filter((s) => s !== 'A_TRAITER_MANUELLEMENT'), event: 'CONTRADICTION', to: 'A_TRAITER_MANUELLEMENT' },
  { from: ['A_TRAITER_MANUELLEMENT'], event: 'CONTRADICTION', to: SAME },
  { from: ['A_REVERIFIER'], event: 'REVERIFICATIONS_EPUISEES', to: 'A_TRAITER_MANUELLEMENT' },
  { from: CANCELLABLE, event: 'REVERIFICATIONS_EPUISEES', to: SAME }, // a DEL never answered: the engagement stays live, flagged
  { from: ['A_TRAITER_MANUELLEMENT'], event: 'REPRISE_MANUELLE', to: 'ADMIS' },
];

/** French labels of events, for refusals and timelines. */
export const EVENT_LABELS: Record<DossierEvent, string> = {
  PRE_ADMISSION: 'pré-admission',
  ADMISSION: 'admission',
  SORTIE: 'sortie',
  ANNULATION: 'annulation du séjour',
  ANNULATION_SORTIE: 'annulation de la sortie',
  MISE_A_JOUR: 'mise à jour',
  COUVERTURE_CHANGEE: 'changement de couverture complémentaire',
  COUVERTURE_RETIREE: 'couverture complémentaire retirée',
  FACTURE: 'facture',
  FACTURE_MODIFIEE: 'facture modifiée',
  IDB_OK: 'droits ouverts (IDB)',
  IDB_KO: 'droits fermés (IDB)',
  IDB_TECHNIQUE: 'IDB sans réponse',
  SIM_OK: 'simulation obtenue',
  SIM_KO: 'simulation refusée',
  SIM_TECHNIQUE: 'simulation sans réponse',
  CLC_OK: 'engagement obtenu (CLC)',
  CLC_KO: 'calcul refusé (CLC)',
  CLC_TECHNIQUE: 'CLC sans réponse',
  DEL_OK_ANNULATION: 'engagement annulé (séjour annulé)',
  DEL_OK_REMPLACEMENT: 'engagement annulé (facture modifiée)',
  DEL_OK_RETRAIT: 'engagement annulé (couverture retirée)',
  DEL_OK_SORTIE_ANNULEE: 'engagement annulé (sortie annulée)',
  DEL_OK_PARTIEL: 'un engagement annulé, d’autres restent vivants',
  DEL_KO: 'annulation refusée (DEL)',
  DEL_DEJA_FACTURE: 'annulation refusée : engagement déjà facturé (6022)',
  DEL_TECHNIQUE: 'DEL sans réponse',
  REVERIFICATION_DUE: 'revérification prévue',
  RENOUVELLEMENT_IDB_DUE: 'renouvellement IDB prévu',
  DRE_ENVOYEE: "facture envoyée à l'AMC",
  RSP_PAYE: 'retour : payé',
  RSP_PAYE_PARTIEL: 'retour : payé partiellement',
  RSP_REJET: 'retour : rejeté',
  CONTRADICTION: 'réponse contradictoire',
  REVERIFICATIONS_EPUISEES: 'revérifications épuisées',
  REPRISE_MANUELLE: 'reprise manuelle',
  RENVOI_FACTURE: 'facture rejetée ou refusée renvoyée sans changement',
};

/** The row that applies, or undefined when the event is not allowed in that state. */
export function findTransition(state: DossierState, event: DossierEvent): Transition | undefined {
  return TRANSITIONS.find((t) => t.event === event && t.from.includes(state));
}

/** Where the event takes a dossier in `state`, or undefined when it is not allowed. */
export function nextState(state: DossierState, event: DossierEvent): DossierState | undefined {
  const t = findTransition(state, event);
  if (!t) return undefined;
  return t.to === SAME ? state : t.to;
}

/** Why an event is refused in a state: French, for an operator, no patient data. */
export function refusalReason(state: DossierState, event: DossierEvent): string {
  const allowedIn = TRANSITIONS.filter((t) => t.event === event).flatMap((t) => t.from);
  const where = [...new Set(allowedIn)].map((s) => STATE_LABELS[s]);
  return (
    `« ${EVENT_LABELS[event]} » refusé : le dossier est « ${STATE_LABELS[state]} »` +
    (where.length ? ` ; cet événement n'est admis que si le dossier est ${where.map((w) => `« ${w} »`).join(', ')}` : '')
  );
}

export function isState(x: unknown): x is DossierState {
  return typeof x === 'string' && (STATES as readonly string[]).includes(x);
}

export function isEvent(x: unknown): x is DossierEvent {
  return typeof x === 'string' && (EVENTS as readonly string[]).includes(x);
}

/** One line of a dossier's timeline: which event moved it from where to where. */
export interface StateChange {
  at: string;
  event: DossierEvent;
  from: DossierState;
  to: DossierState;
}

/** What transition() needs of a dossier (lib/dossier/dossier.ts DossierRecord has it). */
export interface HasState {
  etat: DossierState;
  historique: StateChange[];
}

export type TransitionResult<D extends HasState> = { ok: true; dossier: D } | { ok: false; dossier: D; reason: string };

/**
 * Applies one event: a new dossier (the input is never modified) in the row's state, with the
 * change added to its timeline; or a refusal with the operator's reason and the dossier unchanged.
 */
export function transition<D extends HasState>(dossier: D, event: DossierEvent, at: Date | string = new Date()): TransitionResult<D> {
  const to = nextState(dossier.etat, event);
  if (to === undefined) return { ok: false, dossier, reason: refusalReason(dossier.etat, event) };
  const when = typeof at === 'string' ? at : at.toISOString();
  return { ok: true, dossier: { ...dossier, etat: to, historique: [...dossier.historique, { at: when, event, from: dossier.etat, to }] } };
}
