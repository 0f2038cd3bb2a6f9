/**
 * The dossier record the bridge keeps per venue, from admission to engagement, cancellation and
 * billing. Key: FINESS géographique + venue number (PV1-19), else + NDA (PID-18).
 *
 * Plain JSON (what the journal's putDossier stores). Every function here returns a NEW record and
 * leaves its input alone. Contradictions between a service's answer and what the record holds are
 * flagged (`drapeaux`) and turned into the CONTRADICTION event: never silently overwritten.
 */
import type { Admission, Coverage } from '../model/admission';
import type { Facture, IsoDate, IsoDateTime, OnlineService, RocMessage } from '../model/dossier';
import { type DossierEvent, type DossierState, type StateChange } from './states';

export interface DossierIdentite {
  ipp?: string;
  ins?: string;
  nir?: string;
  nom?: string;
  prenom?: string;
  nomNaissance?: string;
  dateNaissance?: IsoDate;
  rangNaissance?: number;
}

export interface DossierCouverture {
  numeroAmc: string;
  numeroAdherent?: string;
  typeConvention?: string;
  csr?: string;
  numeroContrat?: string;
  debutDroits?: IsoDate;
  finDroits?: IsoDate;
}

export interface DossierSejour {
  type?: string;
  dateEntree?: IsoDate;
  dateSortie?: IsoDate;
  /** Expected entry (pre-admission). */
  dateEntreePrevue?: IsoDate;
  nda?: string;
  numeroVenue?: string;
  preAdmission?: boolean;
}

/** One service exchange, as the timeline shows it. */
export interface Exchange {
  service: OnlineService;
  requestId: string;
  status: 'OK' | 'KO';
  technical: boolean;
  /** First message code (e.g. 6022, 0999), when any. */
  code?: string;
  latencyMs: number;
  engagement?: string;
  at: IsoDateTime;
  /** Set when this answer contradicted the stored state. */
  contradiction?: string;
}

export interface Engagement {
  numero: string;
  factureNumero: string;
  requestId: string;
  at: IsoDateTime;
  statut: 'VIVANT' | 'ANNULE';
  /** A DEL was asked and its answer is awaited: never ask a second one. */
  delDemande?: { at: IsoDateTime; requestId?: string };
  /** Why the DEL was asked. */
  motifDel?: DelMotif;
  /** CLC: the AMC share engaged, in euros (montants.totalAmc), and per invoice line (billing checks the DRE-ES against it). */
  montantAmc?: number;
  lignes?: Array<{ numero: number; code: string; montantAmc: number; montantPatient: number }>;
}

export type DelMotif = 'ANNULATION' | 'REMPLACEMENT' | 'RETRAIT' | 'SORTIE_ANNULEE';

export type FlagCode =
  | 'REVERIFICATIONS_EPUISEES'
  | 'CONTRADICTION'
  | 'DEJA_FACTURE'
  | 'DEL_REFUSE'
  | 'COUVERTURE_CHANGEE_APRES_ENGAGEMENT'
  | 'FACTURATION_COMMENCEE'
  | 'DROITS_MODIFIES';

export interface Flag {
  code: FlagCode;
  /** French, for the operator, no patient data. */
  motif: string;
  at: IsoDateTime;
}

export interface Reverification {
  service: OnlineService;
  /** CLC and DEL are asked again with the SAME request id (the AMC deduplicates). */
  requestId?: string;
  /** Attempts already made (1 after the first technical KO). */
  tentatives: number;
  prochaine?: IsoDateTime;
}

export interface DossierRecord {
  key: string;
  keySource: 'PV1-19' | 'PID-18';
  finessGeographique?: string;
  etat: DossierState;
  /** Last IDB outcome: CLC is never asked unless OK. */
  droits: 'INCONNUS' | 'OK' | 'KO';
  identite: DossierIdentite;
  couverture?: DossierCouverture;
  sejour: DossierSejour;
  /** The invoice CLC was (or will be) asked for. */
  facture?: Facture;
  /** An amended invoice waiting for the old engagement's DEL (or for rights). */
  factureEnAttente?: Facture;
  engagements: Engagement[];
  echanges: Exchange[];
  /** Services asked whose answer is awaited (request id): never ask twice at once. */
  enCours: Partial<
    Record<
      OnlineService,
      { requestId: string; at: IsoDateTime; /** After this the answer counts as lost (asked again, same id). */ perduLe?: IsoDateTime }
    >
  >;
  drapeaux: Flag[];
  reverification?: Reverification;
  /** IDB answer's validity date: renew IDB after it while the stay is open. */
  idbValidite?: IsoDate;
  historique: StateChange[];
  creeLe: IsoDateTime;
  majLe: IsoDateTime;
}

/** The record's key, or undefined when the message carries neither PV1-19 nor NDA. */
export function dossierKey(admission: Pick<Admission, 'venue' | 'finess'>): { key: string; source: 'PV1-19' | 'PID-18' } | undefined {
  const finess = admission.finess.geographique ?? admission.venue?.numeroVenue?.finess?.numero ?? '-';
  const venue = admission.venue?.numeroVenue?.value;
  if (venue) return { key: `${finess}/V/${venue}`, source: 'PV1-19' };
  const nda = admission.venue?.nda?.value;
  if (nda) return { key: `${finess}/N/${nda}`, source: 'PID-18' };
  return undefined;
}

function iso(at: Date | string): string {
  return typeof at === 'string' ? at : at.toISOString();
}

function day(dt: string | undefined): IsoDate | undefined {
  return dt ? dt.slice(0, 10) : undefined;
}

export function newDossier(key: string, keySource: 'PV1-19' | 'PID-18', at: Date | string, finessGeographique?: string): DossierRecord {
  const now = iso(at);
  return {
    key,
    keySource,
    ...(finessGeographique ? { finessGeographique } : {}),
    etat: 'SANS_AMC',
    droits: 'INCONNUS',
    identite: {},
    sejour: {},
    engagements: [],
    echanges: [],
    enCours: {},
    drapeaux: [],
    historique: [],
    creeLe: now,
    majLe: now,
  };
}

/** What a message's coverage does to the stored one. */
export type CoverageChange = 'AUCUN' | 'NOUVELLE' | 'MODIFIEE' | 'RETIREE';

function amcCoverage(coverages: readonly Coverage[]): Coverage | undefined {
  return coverages.find((c) => (c.kind ?? '').toUpperCase() === 'AMC' && c.numeroAmc);
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

export interface MergeResult {
  dossier: DossierRecord;
  created: boolean;
  coverage: CoverageChange;
  /** The event to give decide() and transition(). */
  event: DossierEvent;
}

const CANCEL_EVENTS = new Set(['A11', 'A38']);
/** A13: the discharge is cancelled, the stay goes on (its discharge date is forgotten). */
const CANCEL_DISCHARGE = 'A13';
const UPDATE_EVENTS = new Set(['A08', 'Z99']);

/**
 * Merges what an admission message brings into the venue's dossier (created from the message's
 * own data when the bridge has never seen the venue, e.g. a discharge for a stay older than the
 * bridge). Identity and stay fields are overwritten only by values the message carries.
 *
 * Coverage: a new numéro AMC or numéro d'adhérent → COUVERTURE_CHANGEE. Coverage removed only when
 * an update (A08/Z99) carries coverage groups but no AMC one: a message without any IN1 says
 * nothing about coverage.
 */
export function mergeAdmission(existing: DossierRecord | undefined, admission: Admission, at: Date | string = new Date()): MergeResult {
  const key = dossierKey(admission);
  if (!key) throw new Error('ni numéro de venue (PV1-19) ni NDA (PID-18) : dossier introuvable');
  const created = !existing;
  const base = existing ?? newDossier(key.key, key.source, at, admission.finess.geographique);
  const p = admission.patient;
  const identite: DossierIdentite = {
    ...base.identite,
    ...defined({
      ipp: p.ipp?.value,
      ins: p.ins?.value,
      nir: p.nir?.value,
      nom: p.nom,
      prenom: p.prenom,
      nomNaissance: p.nomNaissance,
      dateNaissance: p.dateNaissance,
      rangNaissance: p.rangNaissance,
    }),
  };
  const v = admission.venue;
  const preAdmission = admission.event === 'A05';
  const sejour: DossierSejour = {
    ...base.sejour,
    ...defined({
      type: v?.type,
      dateEntree: preAdmission ? undefined : day(v?.admitDateTime),
      dateEntreePrevue: day(v?.expectedAdmitDateTime) ?? (preAdmission ? day(v?.admitDateTime) : undefined),
      dateSortie: day(v?.dischargeDateTime),
      nda: v?.nda?.value,
      numeroVenue: v?.numeroVenue?.value,
    }),
  };
  if (admission.event === CANCEL_DISCHARGE) delete sejour.dateSortie;
  if (preAdmission && !base.sejour.dateEntree) sejour.preAdmission = true;
  else if (
    !preAdmission &&
    !CANCEL_EVENTS.has(admission.event) &&
    admission.event !== CANCEL_DISCHARGE &&
    !UPDATE_EVENTS.has(admission.event)
  )
    delete sejour.preAdmission;

  const amc = amcCoverage(admission.coverages);
  let couverture = base.couverture;
  let coverage: CoverageChange = 'AUCUN';
  if (amc?.numeroAmc) {
    const next: DossierCouverture = defined({
      numeroAmc: amc.numeroAmc,
      numeroAdherent: amc.numeroAdherent,
      typeConvention: amc.typeConvention,
      csr: amc.csr,
      numeroContrat: amc.numeroContrat,
      debutDroits: amc.debutDroits,
      finDroits: amc.finDroits,
    });
    if (!base.couverture) coverage = 'NOUVELLE';
    else if (
      base.couverture.numeroAmc !== next.numeroAmc ||
      (next.numeroAdherent !== undefined &&
        base.couverture.numeroAdherent !== undefined &&
        next.numeroAdherent !== base.couverture.numeroAdherent)
    )
      coverage = 'MODIFIEE';
    couverture = coverage === 'MODIFIEE' ? next : { ...base.couverture, ...next };
  } else if (base.couverture && UPDATE_EVENTS.has(admission.event) && admission.coverages.length > 0) {
    coverage = 'RETIREE';
    couverture = undefined;
  }

  let dossier: DossierRecord = { ...base, identite, sejour, majLe: iso(at) };
  if (couverture) dossier.couverture = couverture;
  else delete dossier.couverture;
  if (created && couverture) dossier = { ...dossier, etat: 'ADMIS' };

  let event: DossierEvent;
  if (CANCEL_EVENTS.has(admission.event)) event = 'ANNULATION';
  else if (admission.event === CANCEL_DISCHARGE) event = 'ANNULATION_SORTIE';
  else if (!created && coverage === 'RETIREE') event = 'COUVERTURE_RETIREE';
  else if (!created && (coverage === 'MODIFIEE' || coverage === 'NOUVELLE')) event = 'COUVERTURE_CHANGEE';
  else if (admission.event === 'A05') event = 'PRE_ADMISSION';
  else if (admission.event === 'A01' || admission.event === 'A04') event = 'ADMISSION';
  else if (admission.event === 'A03') event = 'SORTIE';
  else event = 'MISE_A_JOUR';
  if (created && coverage === 'NOUVELLE') coverage = 'AUCUN';
  return { dossier, created, coverage, event };
}

/** The subset of a msg.roc.<service> result recordExchange reads (lib/model/dossier.ts ServiceResult). */
export interface ServiceOutcome {
  service: OnlineService;
  status: 'OK' | 'KO';
  technical: boolean;
  requestId: string;
  latencyMs: number;
  at: IsoDateTime;
  messages: RocMessage[];
  /** IDB: validity of the answer. */
  dateValidite?: IsoDate;
  /** CLC: the engagement given. DEL: the engagement cancelled (a string). */
  engagement?: { numero: string; dateValidite?: IsoDate } | string;
  /** CLC: the amounts engaged (kept on the engagement for billing). */
  montants?: { totalAmc: number };
  lignes?: Array<{ numero: number; code: string; montantAmc: number; montantPatient: number }>;
}

/** Code of an AMC answer meaning "the engagement is already invoiced" (DEL refused). [profile] */
export const CODE_DEJA_FACTURE = '6022';

export interface RecordResult {
  dossier: DossierRecord;
  event: DossierEvent;
  /** Set when the answer contradicts the stored state (the dossier is flagged). */
  contradiction?: string;
}

function engagementNumber(r: ServiceOutcome): string | undefined {
  if (typeof r.engagement === 'string') return r.engagement;
  return r.engagement?.numero;
}

function flag(d: DossierRecord, code: FlagCode, motif: string, at: string): DossierRecord {
  return { ...d, drapeaux: [...d.drapeaux, { code, motif, at }] };
}

/**
 * Records a service answer (msg.roc.idb / sim / clc / del) in the dossier and tells which event it
 * is. A CLC or DEL answer that contradicts the stored state (an engagement for a cancelled stay, a
 * second engagement for the same invoice, a DEL for an engagement the dossier does not know, a
 * CLC for no invoice) is kept in the exchanges with its contradiction, the dossier is flagged, and
 * the event is CONTRADICTION: the stored engagements are not overwritten.
 */
export function recordExchange(dossier: DossierRecord, r: ServiceOutcome, at: Date | string = new Date()): RecordResult {
  const now = iso(at);
  const code = r.messages.find((m) => m.code && m.code !== '0000')?.code ?? r.messages[0]?.code;
  const numero = engagementNumber(r);
  const exchange: Exchange = defined({
    service: r.service,
    requestId: r.requestId,
    status: r.status,
    technical: r.technical,
    code,
    latencyMs: r.latencyMs,
    engagement: numero,
    at: r.at,
  });
  const enCours = { ...dossier.enCours };
  delete enCours[r.service];
  let d: DossierRecord = { ...dossier, enCours, majLe: now };
  // A real answer (OK or the AMC's own KO) ends the re-checks of that service.
  if (d.reverification?.service === r.service && !(r.technical && r.status === 'KO')) delete d.reverification;
  const contradict = (why: string): RecordResult => {
    const flagged = flag({ ...d, echanges: [...d.echanges, { ...exchange, contradiction: why }] }, 'CONTRADICTION', why, now);
    return { dossier: flagged, event: 'CONTRADICTION', contradiction: why };
  };
  const done = (event: DossierEvent, next: DossierRecord = d): RecordResult => ({
    dossier: { ...next, echanges: [...next.echanges, exchange] },
    event,
  });
  const tech = r.technical && r.status === 'KO';

  switch (r.service) {
    case 'idb': {
      if (tech) return done('IDB_TECHNIQUE');
      if (r.status === 'OK') {
        d = { ...d, droits: 'OK', ...(r.dateValidite ? { idbValidite: r.dateValidite } : {}) };
        return done('IDB_OK');
      }
      const before = d.droits;
      d = { ...d, droits: 'KO' };
      delete d.idbValidite;
      if (before === 'OK')
        d = flag(d, 'DROITS_MODIFIES', "les droits complémentaires ne sont plus ouverts : l'admission doit en être informée", now);
      return done('IDB_KO');
    }
    case 'sim':
      return done(tech ? 'SIM_TECHNIQUE' : r.status === 'OK' ? 'SIM_OK' : 'SIM_KO');
    case 'clc': {
      if (r.status === 'OK') {
        if (!numero) return contradict('CLC accepté sans numéro d’engagement');
        if (dossier.etat === 'ANNULE') return contradict(`engagement ${numero} reçu pour un séjour annulé`);
        if (!dossier.facture) return contradict(`engagement ${numero} reçu sans facture connue`);
        const same = dossier.engagements.find((e) => e.numero === numero);
        if (same) return done('CLC_OK'); // the AMC deduplicated a repeated request: same engagement
        const live = dossier.engagements.find((e) => e.statut === 'VIVANT' && e.factureNumero === dossier.facture!.numero);
        if (live)
          return contradict(`deuxième engagement ${numero} pour la facture ${dossier.facture.numero} (engagement ${live.numero} vivant)`);
        d = {
          ...d,
          engagements: [
            ...d.engagements,
            {
              numero,
              factureNumero: dossier.facture.numero,
              requestId: r.requestId,
              at: r.at,
              statut: 'VIVANT',
              ...(typeof r.montants?.totalAmc === 'number' ? { montantAmc: r.montants.totalAmc } : {}),
              ...(Array.isArray(r.lignes) && r.lignes.length ? { lignes: r.lignes.map((l) => ({ ...l })) } : {}),
            },
          ],
        };
        return done('CLC_OK');
      }
      return done(tech ? 'CLC_TECHNIQUE' : 'CLC_KO');
    }
    case 'del': {
      const asked = dossier.engagements.filter((e) => e.delDemande && e.statut === 'VIVANT');
      const target = numero ? dossier.engagements.find((e) => e.numero === numero) : asked.length === 1 ? asked[0] : undefined;
      if (r.status === 'OK') {
        if (!target)
          return contradict(numero ? `annulation d'un engagement inconnu du dossier (${numero})` : "annulation sans numéro d'engagement");
        if (target.statut === 'ANNULE') return done(liveLeft(d) ? 'DEL_OK_PARTIEL' : delEvent(target.motifDel));
        const engagements = d.engagements
          .map((e) => (e === target ? { ...e, statut: 'ANNULE' as const, delDemande: undefined } : e))
          .map(clean);
        d = { ...d, engagements };
        if (liveLeft(d)) return done('DEL_OK_PARTIEL');
        if (target.motifDel === 'REMPLACEMENT' && d.factureEnAttente) {
          d = { ...d, facture: d.factureEnAttente };
          delete d.factureEnAttente;
        }
        return done(delEvent(target.motifDel));
      }
      if (tech) return done('DEL_TECHNIQUE');
      // The AMC refused: the engagement stays live; no DEL is awaited any more.
      d = { ...d, engagements: d.engagements.map((e) => (e === target ? clean({ ...e, delDemande: undefined }) : e)) };
      if (r.messages.some((m) => m.code === CODE_DEJA_FACTURE)) {
        d = flag(
          d,
          'DEJA_FACTURE',
          `annulation refusée : l'engagement ${target?.numero ?? ''} est déjà facturé (${CODE_DEJA_FACTURE}), traitement manuel`.replace(
            '  ',
            ' ',
          ),
          now,
        );
        return done('DEL_DEJA_FACTURE');
      }
      d = flag(d, 'DEL_REFUSE', `annulation refusée par l'AMC (code ${code ?? 'inconnu'}), traitement manuel`, now);
      return done('DEL_KO');
    }
  }
}

function clean(e: Engagement): Engagement {
  const out = { ...e };
  if (out.delDemande === undefined) delete out.delDemande;
  return out;
}

function liveLeft(d: DossierRecord): boolean {
  return d.engagements.some((e) => e.statut === 'VIVANT');
}

function delEvent(motif: DelMotif | undefined): DossierEvent {
  return motif === 'REMPLACEMENT'
    ? 'DEL_OK_REMPLACEMENT'
    : motif === 'RETRAIT'
      ? 'DEL_OK_RETRAIT'
      : motif === 'SORTIE_ANNULEE'
        ? 'DEL_OK_SORTIE_ANNULEE'
        : 'DEL_OK_ANNULATION';
}

/** Live engagements (not cancelled). */
export function liveEngagements(d: DossierRecord): Engagement[] {
  return d.engagements.filter((e) => e.statut === 'VIVANT');
}

/** Marks a request as sent (its answer awaited). DEL: marks the engagement too. */
export function markRequested(
  d: DossierRecord,
  service: OnlineService,
  requestId: string,
  at: Date | string = new Date(),
  del?: { engagement: string; motif: DelMotif },
): DossierRecord {
  const now = iso(at);
  let out: DossierRecord = { ...d, enCours: { ...d.enCours, [service]: { requestId, at: now } }, majLe: now };
  if (service === 'del' && del) {
    out = {
      ...out,
      engagements: out.engagements.map((e) =>
        e.numero === del.engagement ? { ...e, delDemande: { at: now, requestId }, motifDel: del.motif } : e,
      ),
    };
  }
  return out;
}

/** How an invoice from the GAP relates to the dossier's. */
export function classifyInvoice(d: DossierRecord, facture: Facture): 'NOUVELLE' | 'IDENTIQUE' | 'MODIFIEE' {
  const current = d.factureEnAttente ?? d.facture;
  if (!current) return 'NOUVELLE';
  return JSON.stringify(current) === JSON.stringify(facture) ? 'IDENTIQUE' : 'MODIFIEE';
}

/**
 * Stores an invoice from the GAP and tells which event it is. An amended invoice is kept aside
 * (`factureEnAttente`) while an engagement is live for the current one: the DEL comes first.
 */
export function receiveInvoice(
  d: DossierRecord,
  facture: Facture,
  at: Date | string = new Date(),
): { dossier: DossierRecord; event: DossierEvent; kind: 'NOUVELLE' | 'IDENTIQUE' | 'MODIFIEE' } {
  const kind = classifyInvoice(d, facture);
  const now = iso(at);
  if (kind === 'IDENTIQUE') return { dossier: d, event: 'FACTURE', kind };
  if (kind === 'NOUVELLE') return { dossier: { ...d, facture, majLe: now }, event: 'FACTURE', kind };
  const blocked = liveEngagements(d).length > 0 || d.enCours.clc !== undefined || d.reverification?.service === 'clc';
  return {
    dossier: blocked ? { ...d, factureEnAttente: facture, majLe: now } : { ...d, facture, majLe: now },
    event: 'FACTURE_MODIFIEE',
    kind,
  };
}
