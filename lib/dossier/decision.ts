/**
 * What ROC must do about an event, AS DATA: the decision table (event × state [× condition] →
 * actions). decide() reads the dossier in the state the event ARRIVED in (before transition()),
 * with what the event brought already merged in (mergeAdmission, receiveInvoice, recordExchange).
 *
 * The table names action kinds; decide() fills in what each needs (engagement numbers, invoice,
 * request id to reuse) and drops an action the dossier cannot support: no CLC without rights OK
 * and an invoice, no DEL for an engagement already cancelled or whose DEL is awaited, no IDB
 * while one is awaited. An event the state refuses gives NOTHING with the refusal's reason.
 */
import type { OnlineService } from '../model/dossier';
import { type DelMotif, type DossierRecord, liveEngagements } from './dossier';
import { type Clock, type RecheckSettings, nextRecheck, systemClock } from './schedule';
import { type DossierEvent, type DossierState, STATES, findTransition, refusalReason, transition } from './states';

export interface SiteSettings {
  /** Ask SIM on a pre-admission (A05) once the rights are OK, so the patient learns the remaining charge. */
  simOnPreAdmission: boolean;
}

export const DEFAULT_SITE_SETTINGS: SiteSettings = { simOnPreAdmission: false };

export type ActionKind =
  'ASK_IDB' | 'ASK_SIM' | 'ASK_CLC' | 'ASK_DEL' | 'DEL_THEN_CLC' | 'SCHEDULE_RECHECK' | 'FLAG_MANUAL' | 'ANSWER_GAP' | 'NOTHING';

export type Action =
  | { kind: 'ASK_IDB' }
  | { kind: 'ASK_SIM' }
  /** requestId set: a re-check, ask with the SAME request id and invoice. */
  | { kind: 'ASK_CLC'; factureNumero: string; requestId?: string }
  | { kind: 'ASK_DEL'; engagement: string; motif: DelMotif; requestId?: string }
  /** Amended invoice: DEL of `engagement`, and only once it is OK, CLC of the new invoice. */
  | { kind: 'DEL_THEN_CLC'; engagement: string; factureNumero: string }
  | { kind: 'SCHEDULE_RECHECK'; service: OnlineService; requestId?: string }
  | { kind: 'FLAG_MANUAL'; motif: string }
  | { kind: 'ANSWER_GAP'; motif: string; engagement?: string }
  | { kind: 'NOTHING'; motif: string };

/** Named conditions a row may require (implemented in CONDITIONS below). */
export type Condition =
  | 'factureConnue'
  | 'preAdmissionAvecSim'
  | 'engagementVivant'
  | 'factureEnAttente'
  | 'idbJamaisDemande'
  | 'clcJamaisDemande'
  | 'reverificationIdb'
  | 'reverificationClc'
  | 'reverificationDel';

export interface DecisionRow {
  event: DossierEvent;
  /** States the row applies to ('*' = any state the event is allowed in). */
  states: readonly DossierState[] | '*';
  when?: Condition;
  actions: readonly ActionKind[];
  /** French, for the operator and the README. */
  note: string;
}

const BILLED: readonly DossierState[] = ['FACTURE_AMC', 'PAYE', 'PAYE_PARTIEL', 'REJETE'];
const OPEN_NOT_ENGAGED: readonly DossierState[] = [
  'ADMIS',
  'DROITS_OK',
  'DROITS_KO',
  'A_REVERIFIER',
  'DEVIS',
  'FACTURE_RECUE',
  'CALCUL_REFUSE',
  'SANS_AMC',
];

/** THE decision table. First row matching event, state and condition wins. */
export const DECISIONS: readonly DecisionRow[] = [
  // --- GAP movements
  { event: 'PRE_ADMISSION', states: ['ADMIS'], actions: ['ASK_IDB'], note: 'pré-admission : vérifier les droits' },
  {
    event: 'PRE_ADMISSION',
    states: ['DROITS_OK', 'DEVIS'],
    when: 'preAdmissionAvecSim',
    actions: ['ASK_SIM'],
    note: 'pré-admission, droits ouverts : devis (réglage du site)',
  },
  { event: 'PRE_ADMISSION', states: '*', actions: ['NOTHING'], note: 'pré-admission : rien de plus à demander' },
  { event: 'ADMISSION', states: ['ADMIS'], actions: ['ASK_IDB'], note: 'admission : vérifier les droits' },
  { event: 'ADMISSION', states: '*', actions: ['NOTHING'], note: 'admission : droits déjà connus' },
  {
    event: 'SORTIE',
    states: ['ADMIS'],
    when: 'idbJamaisDemande',
    actions: ['ASK_IDB'],
    note: 'sortie d’un séjour jamais vérifié : vérifier les droits',
  },
  { event: 'SORTIE', states: '*', actions: ['NOTHING'], note: 'sortie : la facture suivra' },
  { event: 'MISE_A_JOUR', states: '*', actions: ['NOTHING'], note: 'mise à jour sans changement de couverture' },
  { event: 'ANNULATION', states: ['ENGAGE'], actions: ['ASK_DEL', 'ANSWER_GAP'], note: 'annulation : DEL de chaque engagement vivant' },
  { event: 'ANNULATION', states: BILLED, actions: ['FLAG_MANUAL', 'ANSWER_GAP'], note: 'annulation après facturation : traitement manuel' },
  { event: 'ANNULATION', states: ['ANNULE', 'A_TRAITER_MANUELLEMENT'], actions: ['NOTHING'], note: 'déjà annulé : pas de second DEL' },
  {
    event: 'ANNULATION',
    states: ['A_REVERIFIER'],
    when: 'reverificationClc',
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'annulation pendant un CLC sans réponse : vérifier auprès de l’AMC qu’aucun engagement n’existe',
  },
  {
    event: 'ANNULATION',
    states: OPEN_NOT_ENGAGED,
    actions: ['ANSWER_GAP'],
    note: 'annulation sans engagement : rien à annuler chez l’AMC',
  },
  {
    event: 'ANNULATION_SORTIE',
    states: ['ENGAGE'],
    actions: ['ASK_DEL'],
    note: 'sortie annulée : DEL de l’engagement calculé à la sortie (le séjour continue, la facture suivra)',
  },
  {
    event: 'ANNULATION_SORTIE',
    states: BILLED,
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'sortie annulée après facturation : traitement manuel',
  },
  { event: 'ANNULATION_SORTIE', states: '*', actions: ['NOTHING'], note: 'sortie annulée : le séjour continue, rien à annuler chez l’AMC' },
  {
    event: 'COUVERTURE_CHANGEE',
    states: ['ENGAGE'],
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'couverture changée après engagement : traitement manuel',
  },
  {
    event: 'COUVERTURE_CHANGEE',
    states: '*',
    actions: ['ASK_IDB'],
    note: 'nouvelle AMC ou nouveau numéro d’adhérent : vérifier les droits',
  },
  {
    event: 'COUVERTURE_RETIREE',
    states: ['ENGAGE'],
    actions: ['ASK_DEL', 'ANSWER_GAP'],
    note: 'couverture retirée : DEL de chaque engagement vivant',
  },
  { event: 'COUVERTURE_RETIREE', states: '*', actions: ['NOTHING'], note: 'couverture retirée : plus rien à demander à l’AMC' },
  // --- invoices
  { event: 'FACTURE', states: ['DROITS_OK', 'DEVIS'], actions: ['ASK_CLC'], note: 'facture, droits ouverts : calcul (CLC)' },
  {
    event: 'FACTURE',
    states: ['FACTURE_RECUE'],
    when: 'clcJamaisDemande',
    actions: ['ASK_CLC'],
    note: 'facture en attente de calcul : CLC',
  },
  { event: 'FACTURE', states: ['ENGAGE'], actions: ['ANSWER_GAP'], note: 'même facture : l’engagement déjà obtenu est renvoyé' },
  {
    event: 'FACTURE',
    states: ['ADMIS'],
    when: 'idbJamaisDemande',
    actions: ['ASK_IDB'],
    note: 'facture d’un séjour jamais vérifié : droits d’abord',
  },
  {
    event: 'FACTURE',
    states: ['DROITS_KO', 'SANS_AMC', 'CALCUL_REFUSE'],
    actions: ['ANSWER_GAP'],
    note: 'pas de part AMC : part complémentaire facturée au patient',
  },
  { event: 'FACTURE', states: '*', actions: ['NOTHING'], note: 'facture gardée : le calcul attend les droits' },
  {
    event: 'FACTURE_MODIFIEE',
    states: ['ENGAGE'],
    when: 'engagementVivant',
    actions: ['DEL_THEN_CLC'],
    note: 'facture modifiée : DEL de l’ancien engagement puis CLC',
  },
  {
    event: 'FACTURE_MODIFIEE',
    states: ['DROITS_OK', 'DEVIS', 'CALCUL_REFUSE'],
    actions: ['ASK_CLC'],
    note: 'facture modifiée avant engagement : CLC',
  },
  {
    event: 'FACTURE_MODIFIEE',
    states: ['FACTURE_RECUE'],
    when: 'factureEnAttente',
    actions: ['NOTHING'],
    note: 'facture modifiée pendant un calcul : attendre sa réponse',
  },
  { event: 'FACTURE_MODIFIEE', states: ['FACTURE_RECUE'], actions: ['ASK_CLC'], note: 'facture modifiée avant calcul : CLC' },
  {
    event: 'FACTURE_MODIFIEE',
    states: ['REJETE'],
    when: 'engagementVivant',
    actions: ['DEL_THEN_CLC'],
    note: 'facture corrigée après rejet : DEL de l’engagement rejeté puis CLC',
  },
  {
    event: 'FACTURE_MODIFIEE',
    states: BILLED,
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'facture modifiée après facturation : traitement manuel',
  },
  { event: 'FACTURE_MODIFIEE', states: ['DROITS_KO', 'SANS_AMC'], actions: ['ANSWER_GAP'], note: 'pas de part AMC' },
  { event: 'FACTURE_MODIFIEE', states: '*', actions: ['NOTHING'], note: 'facture modifiée gardée : attendre' },
  // --- IDB
  {
    event: 'IDB_OK',
    states: ['ADMIS', 'A_REVERIFIER'],
    when: 'factureConnue',
    actions: ['ASK_CLC', 'ANSWER_GAP'],
    note: 'droits ouverts, facture déjà reçue : CLC',
  },
  {
    event: 'IDB_OK',
    states: ['ADMIS', 'A_REVERIFIER'],
    when: 'preAdmissionAvecSim',
    actions: ['ASK_SIM', 'ANSWER_GAP'],
    note: 'droits ouverts en pré-admission : devis',
  },
  { event: 'IDB_OK', states: ['ADMIS', 'A_REVERIFIER'], actions: ['ANSWER_GAP'], note: 'droits ouverts : dire à la GAP' },
  { event: 'IDB_OK', states: '*', actions: ['NOTHING'], note: 'renouvellement : droits inchangés' },
  { event: 'IDB_KO', states: '*', actions: ['ANSWER_GAP'], note: 'droits fermés : dire à la GAP' },
  {
    event: 'IDB_TECHNIQUE',
    states: ['ADMIS', 'A_REVERIFIER', 'DROITS_OK', 'DEVIS'],
    actions: ['SCHEDULE_RECHECK', 'ANSWER_GAP'],
    note: 'AMC sans réponse : revérifier plus tard, sans bloquer l’admission',
  },
  { event: 'IDB_TECHNIQUE', states: '*', actions: ['NOTHING'], note: 'IDB sans réponse' },
  // --- SIM
  { event: 'SIM_OK', states: '*', actions: ['ANSWER_GAP'], note: 'devis : reste à charge dit à la GAP' },
  { event: 'SIM_KO', states: '*', actions: ['ANSWER_GAP'], note: 'simulation refusée : dit à la GAP' },
  { event: 'SIM_TECHNIQUE', states: '*', actions: ['ANSWER_GAP'], note: 'simulation sans réponse : pas de devis (non bloquant)' },
  // --- CLC
  {
    event: 'CLC_OK',
    states: '*',
    when: 'factureEnAttente',
    actions: ['ANSWER_GAP', 'DEL_THEN_CLC'],
    note: 'engagement obtenu, mais la facture a changé entre-temps : DEL puis CLC',
  },
  { event: 'CLC_OK', states: '*', actions: ['ANSWER_GAP'], note: 'engagement obtenu : numéro envoyé à la GAP' },
  {
    event: 'CLC_KO',
    states: '*',
    when: 'factureEnAttente',
    actions: ['ANSWER_GAP', 'ASK_CLC'],
    note: 'calcul refusé, une facture modifiée attendait : CLC de celle-ci',
  },
  { event: 'CLC_KO', states: '*', actions: ['ANSWER_GAP'], note: 'calcul refusé : dit à la GAP' },
  {
    event: 'CLC_TECHNIQUE',
    states: '*',
    actions: ['SCHEDULE_RECHECK', 'ANSWER_GAP'],
    note: 'CLC sans réponse : redemandé avec la même requête et la même facture',
  },
  // --- DEL
  { event: 'DEL_OK_ANNULATION', states: '*', actions: ['ANSWER_GAP'], note: 'engagements annulés : dit à la GAP' },
  { event: 'DEL_OK_REMPLACEMENT', states: '*', actions: ['ASK_CLC'], note: 'ancien engagement annulé : CLC de la nouvelle facture' },
  { event: 'DEL_OK_RETRAIT', states: '*', actions: ['ANSWER_GAP'], note: 'engagements annulés (couverture retirée)' },
  {
    event: 'DEL_OK_SORTIE_ANNULEE',
    states: '*',
    actions: ['ANSWER_GAP'],
    note: 'engagement annulé (sortie annulée) : un nouveau calcul suivra la facture de la sortie',
  },
  { event: 'DEL_OK_PARTIEL', states: '*', actions: ['NOTHING'], note: 'un engagement annulé, les autres suivent' },
  { event: 'DEL_KO', states: '*', actions: ['FLAG_MANUAL', 'ANSWER_GAP'], note: 'annulation refusée : traitement manuel' },
  {
    event: 'DEL_DEJA_FACTURE',
    states: '*',
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'déjà facturé (6022) : traitement manuel, dit à la GAP',
  },
  { event: 'DEL_TECHNIQUE', states: '*', actions: ['SCHEDULE_RECHECK'], note: 'DEL sans réponse : redemandé avec la même requête' },
  // --- clock
  { event: 'REVERIFICATION_DUE', states: '*', when: 'reverificationIdb', actions: ['ASK_IDB'], note: 'revérification : IDB' },
  {
    event: 'REVERIFICATION_DUE',
    states: '*',
    when: 'reverificationClc',
    actions: ['ASK_CLC'],
    note: 'revérification : CLC (même requête, même facture)',
  },
  {
    event: 'REVERIFICATION_DUE',
    states: '*',
    when: 'reverificationDel',
    actions: ['ASK_DEL'],
    note: 'revérification : DEL (même requête)',
  },
  { event: 'REVERIFICATION_DUE', states: '*', actions: ['NOTHING'], note: 'rien à revérifier' },
  { event: 'RENOUVELLEMENT_IDB_DUE', states: '*', actions: ['ASK_IDB'], note: 'séjour long : renouveler IDB' },
  // --- billing (next issue) and operator
  { event: 'DRE_ENVOYEE', states: '*', actions: ['NOTHING'], note: 'facturation (prochaine étape)' },
  { event: 'RSP_PAYE', states: '*', actions: ['NOTHING'], note: 'retour payé' },
  { event: 'RSP_PAYE_PARTIEL', states: '*', actions: ['NOTHING'], note: 'retour payé partiellement' },
  { event: 'RSP_REJET', states: '*', actions: ['FLAG_MANUAL'], note: 'rejet : facture à corriger' },
  { event: 'REVERIFICATIONS_EPUISEES', states: '*', actions: ['FLAG_MANUAL'], note: 'revérifications épuisées : traitement manuel' },
  {
    event: 'CONTRADICTION',
    states: '*',
    actions: ['FLAG_MANUAL', 'ANSWER_GAP'],
    note: 'réponse contradictoire : traitement manuel, rien n’est écrasé',
  },
  { event: 'REPRISE_MANUELLE', states: '*', actions: ['ASK_IDB'], note: 'reprise : vérifier les droits à nouveau' },
  {
    event: 'RENVOI_FACTURE',
    states: '*',
    actions: ['NOTHING'],
    note: 'rejet ou lot refusé à renvoyer : la même facture part dans la prochaine DRE-ES',
  },
];

type Ctx = { d: DossierRecord; s: SiteSettings };

export const CONDITIONS: Record<Condition, (c: Ctx) => boolean> = {
  factureConnue: ({ d }) => !!(d.factureEnAttente ?? d.facture),
  preAdmissionAvecSim: ({ d, s }) => s.simOnPreAdmission && !!d.sejour.preAdmission,
  engagementVivant: ({ d }) => liveEngagements(d).length > 0,
  factureEnAttente: ({ d }) => !!d.factureEnAttente,
  idbJamaisDemande: ({ d }) => !d.enCours.idb && !d.echanges.some((e) => e.service === 'idb'),
  clcJamaisDemande: ({ d }) => !d.enCours.clc && !d.echanges.some((e) => e.service === 'clc'),
  reverificationIdb: ({ d }) => d.reverification?.service === 'idb',
  reverificationClc: ({ d }) => d.reverification?.service === 'clc',
  reverificationDel: ({ d }) => d.reverification?.service === 'del',
};

/** The row that applies (undefined when the event is refused in that state). */
export function findDecision(d: DossierRecord, event: DossierEvent, s: SiteSettings = DEFAULT_SITE_SETTINGS): DecisionRow | undefined {
  if (!findTransition(d.etat, event)) return undefined;
  return DECISIONS.find(
    (r) => r.event === event && (r.states === '*' || r.states.includes(d.etat)) && (!r.when || CONDITIONS[r.when]({ d, s })),
  );
}

/** What an answer to the GAP says, per event (French, no patient data). */
function answerMotif(d: DossierRecord, event: DossierEvent, row: DecisionRow): { motif: string; engagement?: string } {
  const live = liveEngagements(d);
  if (event === 'CLC_OK' || event === 'FACTURE') {
    const e = live.find((x) => x.factureNumero === d.facture?.numero) ?? live[live.length - 1];
    if (e) return { motif: `engagement ${e.numero}`, engagement: e.numero };
  }
  return { motif: row.note };
}

/**
 * The actions for `event` on `d` (in the state the event arrived in). Never throws on a valid
 * dossier; unknown combinations give NOTHING with the reason.
 */
export function decide(d: DossierRecord, event: DossierEvent, s: SiteSettings = DEFAULT_SITE_SETTINGS): Action[] {
  if (!findTransition(d.etat, event)) return [{ kind: 'NOTHING', motif: refusalReason(d.etat, event) }];
  const row = findDecision(d, event, s);
  if (!row) return [{ kind: 'NOTHING', motif: 'aucune règle pour cet événement dans cet état' }];
  const out: Action[] = [];
  const delAsked = new Set<string>();
  const rightsOk = d.droits === 'OK' || event === 'IDB_OK';
  for (const kind of row.actions) {
    switch (kind) {
      case 'ASK_IDB':
        if (!d.enCours.idb) out.push({ kind });
        break;
      case 'ASK_SIM':
        if (rightsOk && !d.enCours.sim) out.push({ kind });
        break;
      case 'ASK_CLC': {
        const facture = event === 'DEL_OK_REMPLACEMENT' ? d.facture : (d.factureEnAttente ?? d.facture);
        const live = liveEngagements(d);
        if (!rightsOk || !facture || d.enCours.clc) break;
        if (live.some((e) => e.factureNumero === facture.numero) || (event !== 'DEL_OK_REMPLACEMENT' && live.length > 0)) break;
        const again = event === 'REVERIFICATION_DUE' && d.reverification?.service === 'clc' ? d.reverification.requestId : undefined;
        out.push(again ? { kind, factureNumero: facture.numero, requestId: again } : { kind, factureNumero: facture.numero });
        break;
      }
      case 'ASK_DEL': {
        const motif: DelMotif =
          event === 'COUVERTURE_RETIREE' ? 'RETRAIT' : event === 'ANNULATION_SORTIE' ? 'SORTIE_ANNULEE' : 'ANNULATION';
        for (const e of liveEngagements(d)) {
          if (delAsked.has(e.numero)) continue;
          if (event === 'REVERIFICATION_DUE') {
            // The same DEL again (same request id), only for the engagement whose DEL had no answer.
            if (!e.delDemande) continue;
            const requestId = d.reverification?.requestId ?? e.delDemande.requestId;
            out.push({ kind, engagement: e.numero, motif: e.motifDel ?? motif, ...(requestId ? { requestId } : {}) });
          } else {
            if (e.delDemande) continue; // a DEL is awaited: never a second one
            out.push({ kind, engagement: e.numero, motif });
          }
          delAsked.add(e.numero);
        }
        break;
      }
      case 'DEL_THEN_CLC': {
        const next = d.factureEnAttente;
        const old =
          liveEngagements(d).find((e) => !e.delDemande && e.factureNumero === d.facture?.numero) ??
          liveEngagements(d).find((e) => !e.delDemande);
        if (next && old && rightsOk) {
          out.push({ kind, engagement: old.numero, factureNumero: next.numero });
          delAsked.add(old.numero);
        }
        break;
      }
      case 'SCHEDULE_RECHECK': {
        const service = event.startsWith('IDB') ? 'idb' : event.startsWith('CLC') ? 'clc' : 'del';
        const last = [...d.echanges].reverse().find((e) => e.service === service);
        out.push({ kind, service, ...(service !== 'idb' && last ? { requestId: last.requestId } : {}) });
        break;
      }
      case 'FLAG_MANUAL':
        out.push({ kind, motif: row.note });
        break;
      case 'ANSWER_GAP':
        out.push({ kind, ...answerMotif(d, event, row) });
        break;
      case 'NOTHING':
        out.push({ kind, motif: row.note });
        break;
    }
  }
  return out.length ? out : [{ kind: 'NOTHING', motif: `${row.note} (déjà en cours ou impossible : rien à demander)` }];
}

/** Every (state, event) pair, for tests and the README. */
export function grid(): Array<{ state: DossierState; event: DossierEvent }> {
  return STATES.flatMap((state) =>
    DECISIONS.map((r) => r.event)
      .filter((e, i, a) => a.indexOf(e) === i)
      .map((event) => ({ state, event })),
  );
}

export interface StepOptions {
  site?: SiteSettings;
  clock?: Clock;
  recheck?: RecheckSettings;
}

export interface StepResult {
  dossier: DossierRecord;
  actions: Action[];
  /** Set when the state refused the event (the dossier is unchanged). */
  refused?: string;
}

/**
 * decide() then transition(), with the bookkeeping the actions imply, so that a replayed or
 * repeated event cannot ask twice: each DEL asked marks its engagement (a second cancellation
 * finds it marked), a re-check gets its next date (or, when the re-checks are over, the dossier
 * is flagged for manual handling), a cancelled dossier has no re-check left.
 */
export function step(d: DossierRecord, event: DossierEvent, o: StepOptions = {}): StepResult {
  const clock = o.clock ?? systemClock;
  const now = clock.now().toISOString();
  const actions = decide(d, event, o.site ?? DEFAULT_SITE_SETTINGS);
  const t = transition(d, event, now);
  if (!t.ok) return { dossier: d, actions, refused: t.reason };
  let out: DossierRecord = { ...t.dossier, majLe: now };
  for (const a of actions) {
    if (a.kind === 'ASK_DEL' || a.kind === 'DEL_THEN_CLC') {
      const motif: DelMotif = a.kind === 'ASK_DEL' ? a.motif : 'REMPLACEMENT';
      out = {
        ...out,
        engagements: out.engagements.map((e) =>
          e.numero === a.engagement ? { ...e, delDemande: e.delDemande ?? { at: now }, motifDel: motif } : e,
        ),
      };
    } else if (a.kind === 'ASK_CLC' && out.factureEnAttente?.numero === a.factureNumero && liveEngagements(out).length === 0) {
      // The amended invoice waited for the previous calculation: it becomes THE invoice now.
      out = { ...out, facture: out.factureEnAttente };
      delete out.factureEnAttente;
    } else if (a.kind === 'SCHEDULE_RECHECK') {
      const prev = out.reverification?.service === a.service ? out.reverification.tentatives : 0;
      const firstFailure = [...out.echanges].find((e) => e.service === a.service && e.technical)?.at;
      const next = nextRecheck(
        prev + 1,
        clock,
        { dateSortie: out.sejour.dateSortie, firstFailure: firstFailure ? new Date(firstFailure) : undefined, spreadKey: out.key },
        o.recheck,
      );
      if (next) {
        out = {
          ...out,
          reverification: {
            service: a.service,
            tentatives: prev + 1,
            prochaine: next.toISOString(),
            ...(a.requestId ? { requestId: a.requestId } : {}),
          },
        };
      } else {
        const motif = `revérifications ${a.service.toUpperCase()} épuisées : traitement manuel`;
        const rest = { ...out };
        delete rest.reverification;
        out = { ...rest, drapeaux: [...rest.drapeaux, { code: 'REVERIFICATIONS_EPUISEES', motif, at: now }] };
        // nothing will ask again: the dossier goes to manual handling (an operator sees it there)
        const t = transition(out, 'REVERIFICATIONS_EPUISEES', now);
        if (t.ok) out = t.dossier;
        actions.push({ kind: 'FLAG_MANUAL', motif });
      }
    }
  }
  if (out.etat === 'ANNULE' || out.etat === 'A_TRAITER_MANUELLEMENT') delete out.reverification;
  return { dossier: out, actions };
}
