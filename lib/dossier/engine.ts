/**
 * The dossier engine: what the `roc-dossier` node runs for each message, service answer and due
 * re-check. It loads the venue's record from a store, merges what came in, lets the decision table
 * say what ROC must do (step()), turns the actions into service requests with their request ids
 * (recorded in the dossier before they leave, so a repeated or replayed message cannot ask twice),
 * and saves the record before anything is sent.
 *
 * One venue at a time: the calls for one key run one after the other (a promise chain per key);
 * different venues never wait for each other. Pure TypeScript: the store and the clock are
 * injected (the journal in the product, a map in the tests).
 */
import type { Admission } from '../model/admission';
import type { AmcTarget, AssureAmo, Beneficiaire, Facture, OnlineService, RocMessage, Venue } from '../model/dossier';
import { type Action, type SiteSettings, DEFAULT_SITE_SETTINGS, step } from './decision';
import {
  type DelMotif,
  type DossierRecord,
  type ServiceOutcome,
  dossierKey,
  liveEngagements,
  markRequested,
  mergeAdmission,
  receiveInvoice,
  recordExchange,
} from './dossier';
import { type Clock, type RecheckSettings, DEFAULT_RECHECK, isIdbRenewalDue, isRecheckDue, systemClock } from './schedule';
import type { DossierEvent } from './states';

/** Where the engine keeps the records (the SQLite journal in the product). */
export interface DossierStorePort {
  loadDossier(key: string): Promise<DossierRecord | undefined>;
  /** Rejects (code CONFLICT) when `expectedMajLe` is given and the stored record changed since. */
  saveDossier(record: DossierRecord, expectedMajLe?: string): Promise<void>;
}

/**
 * What a service request needs that the record does not hold in its ROC fields: the dossier parts
 * of the last GAP message (AMC target, beneficiary, AMO, venue) and the admission the answers to
 * the GAP echo (IPP, NDA, venue number). Kept in the record (`contexte`).
 */
export interface DossierContexte {
  amc?: AmcTarget;
  beneficiaire?: Beneficiaire;
  assureAmo?: AssureAmo;
  venue?: Venue;
  admission?: Admission;
}

export type ContextRecord = DossierRecord & { contexte?: DossierContexte };

/** One online-service call the engine asks for (recorded in `enCours` before it leaves). */
export interface ServiceRequest {
  service: OnlineService;
  requestId: string;
  /** DEL: the engagement to cancel and why. */
  engagement?: { numero: string; motif: DelMotif };
  /** CLC: the invoice asked for. */
  factureNumero?: string;
  /** A re-check or a re-ask after a restart (same request id). */
  repeat?: boolean;
}

export interface EngineResult {
  key: string;
  dossier: ContextRecord;
  created: boolean;
  event?: DossierEvent;
  actions: Action[];
  requests: ServiceRequest[];
  /** Something to tell the GAP (the service whose result to answer with, when known). */
  answer?: { motif: string; engagement?: string };
  /** Manual handling asked (operator-readable, no patient data). */
  manual: string[];
  /** The state refused the event: nothing was changed. */
  refused?: string;
}

export interface EngineOptions {
  site?: SiteSettings;
  recheck?: RecheckSettings;
  clock?: Clock;
  /** New request ids (IdRequete); default: random, 32 hex characters. */
  newRequestId?: () => string;
  /** An in-flight request older than this is taken as lost (crash) and asked again, same id. */
  inFlightTimeoutMs?: number;
  /** Renew IDB this many hours before the validity date ends. */
  renewalLeadHours?: number;
}

export class DossierError extends Error {
  constructor(
    message: string,
    readonly code: 'NO_KEY' | 'UNKNOWN_VENUE' | 'BAD_RESULT' | 'NOT_FOUND' | 'NOT_ASKABLE',
  ) {
    super(message);
    this.name = 'DossierError';
  }
}

/** Default: 2 minutes (well past the service timeouts and their retry). */
export const DEFAULT_IN_FLIGHT_TIMEOUT_MS = 120_000;

function randomId(): string {
  let s = '';
  for (let i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

export class DossierEngine {
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly site: SiteSettings;
  private readonly recheck: RecheckSettings;
  readonly clock: Clock;
  private readonly newId: () => string;
  readonly inFlightTimeoutMs: number;
  private readonly leadHours: number;

  constructor(
    private readonly store: DossierStorePort,
    o: EngineOptions = {},
  ) {
    this.site = o.site ?? DEFAULT_SITE_SETTINGS;
    this.recheck = o.recheck ?? DEFAULT_RECHECK;
    this.clock = o.clock ?? systemClock;
    this.newId = o.newRequestId ?? randomId;
    this.inFlightTimeoutMs = o.inFlightTimeoutMs ?? DEFAULT_IN_FLIGHT_TIMEOUT_MS;
    this.leadHours = o.renewalLeadHours ?? 0;
  }

  /** Runs `fn` after every earlier call for the same key (never across keys). */
  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  /** Venues with work in progress in this engine (for the status). */
  get busyKeys(): number {
    return this.chains.size;
  }

  /** The record key of an admission (FINESS géographique + PV1-19, else + NDA). */
  static keyOf(admission: Admission): string {
    const k = dossierKey(admission);
    if (!k) throw new DossierError('ni numéro de venue (PV1-19) ni NDA (PID-18) : dossier introuvable', 'NO_KEY');
    return k.key;
  }

  /**
   * A GAP message (ADT, or DFT^P03 with `facture`): merge it, then decide. An invoice for a venue
   * the engine has no record of is refused (UNKNOWN_VENUE) unless `createForInvoice`.
   */
  onMessage(
    admission: Admission,
    contexte: DossierContexte,
    facture?: Facture,
    o: { createForInvoice?: boolean } = {},
  ): Promise<EngineResult> {
    const key = DossierEngine.keyOf(admission);
    return this.serial(key, async () => {
      const prior = (await this.store.loadDossier(key)) as ContextRecord | undefined;
      if (facture && !prior && !o.createForInvoice) {
        throw new DossierError(`facture pour une venue inconnue du pont (${key.split('/').slice(1).join(' ')})`, 'UNKNOWN_VENUE');
      }
      const now = this.clock.now();
      const m = mergeAdmission(prior, admission, now);
      let d: ContextRecord = { ...m.dossier, contexte: mergeContexte(prior?.contexte, contexte) };
      let event = m.event;
      if (facture) {
        const inv = receiveInvoice(d, facture, now);
        d = inv.dossier as ContextRecord;
        event = inv.event;
      }
      return this.stepAndSave(key, prior, d, event, m.created);
    });
  }

  /** An invoice for a known dossier (POST /roc/invoice). */
  onInvoice(key: string, facture: Facture): Promise<EngineResult> {
    return this.serial(key, async () => {
      const prior = (await this.store.loadDossier(key)) as ContextRecord | undefined;
      if (!prior) throw new DossierError('facture pour une venue inconnue du pont', 'UNKNOWN_VENUE');
      const inv = receiveInvoice(prior, facture, this.clock.now());
      return this.stepAndSave(key, prior, inv.dossier, inv.event, false);
    });
  }

  /** A service answer (msg.roc.<service>) for a request the engine asked. */
  onResult(key: string, outcome: ServiceOutcome): Promise<EngineResult> {
    return this.serial(key, async () => {
      const prior = (await this.store.loadDossier(key)) as ContextRecord | undefined;
      if (!prior) throw new DossierError('résultat pour un dossier inconnu', 'NOT_FOUND');
      const r = recordExchange(prior, outcome, this.clock.now());
      return this.stepAndSave(key, prior, r.dossier, r.event, false);
    });
  }

  /**
   * The clock's turn for one dossier: a due re-check, an IDB renewal, or requests lost in flight
   * (asked again with their request id). Nothing due → no request.
   */
  onDue(key: string): Promise<EngineResult> {
    return this.serial(key, async () => {
      const prior = (await this.store.loadDossier(key)) as ContextRecord | undefined;
      if (!prior) throw new DossierError('dossier introuvable', 'NOT_FOUND');
      if (isRecheckDue(prior, this.clock)) return this.stepAndSave(key, prior, prior, 'REVERIFICATION_DUE', false);
      const lost = this.lostRequests(prior);
      if (lost.length) {
        const now = this.clock.now().toISOString();
        const enCours = { ...prior.enCours };
        for (const r of lost) enCours[r.service] = { requestId: r.requestId, at: now, perduLe: this.lostAfter() };
        const d: ContextRecord = { ...prior, enCours, majLe: now };
        await this.store.saveDossier(d, prior.majLe);
        return { key, dossier: d, created: false, actions: [], requests: lost, manual: [] };
      }
      if (
        prior.enCours.idb === undefined &&
        isIdbRenewalDue(prior, this.clock, this.leadHours) &&
        !['ANNULE', 'A_TRAITER_MANUELLEMENT'].includes(prior.etat)
      )
        return this.stepAndSave(key, prior, prior, 'RENOUVELLEMENT_IDB_DUE', false);
      return { key, dossier: prior, created: false, actions: [], requests: [], manual: [] };
    });
  }

  /**
   * An operator's "resend from this service exchange" (message browser): the dossier asks
   * `service` again. A request still awaited (in `enCours`: lost, or slow) goes again with its
   * request id, so the AMC answers it once; otherwise a new request id. Refused (NOT_ASKABLE)
   * when there is nothing to ask: CLC without an invoice, or while an engagement for it lives
   * (a second engagement would be taken; cancel it first), DEL with no DEL awaited (a new
   * cancellation is the GAP's to ask), or a dossier cancelled or in manual handling for IDB/SIM.
   */
  askAgain(key: string, service: OnlineService): Promise<EngineResult> {
    return this.serial(key, async () => {
      const prior = (await this.store.loadDossier(key)) as ContextRecord | undefined;
      if (!prior) throw new DossierError('dossier introuvable', 'NOT_FOUND');
      const now = this.clock.now();
      const pending = prior.enCours[service];
      let request: ServiceRequest;
      if (pending) {
        request = { service, requestId: pending.requestId, repeat: true };
        if (service === 'del') {
          const eng = prior.engagements.find((x) => x.statut === 'VIVANT' && x.delDemande?.requestId === pending.requestId);
          if (!eng) throw new DossierError('DEL en attente sans engagement vivant : rien à annuler', 'NOT_ASKABLE');
          request.engagement = { numero: eng.numero, motif: eng.motifDel ?? 'ANNULATION' };
        }
        if (service === 'clc') request.factureNumero = prior.facture?.numero;
      } else {
        if (service === 'del') throw new DossierError('aucune annulation (DEL) en attente : rien à redemander', 'NOT_ASKABLE');
        if (service === 'clc') {
          if (!prior.facture) throw new DossierError('pas de facture : CLC ne peut pas être demandé', 'NOT_ASKABLE');
          if (prior.droits !== 'OK') throw new DossierError('droits non ouverts (IDB) : CLC ne peut pas être demandé', 'NOT_ASKABLE');
          if (liveEngagements(prior).length)
            throw new DossierError('un engagement est vivant : l’annuler (DEL) avant de redemander CLC', 'NOT_ASKABLE');
        }
        if (prior.etat === 'ANNULE') throw new DossierError('dossier annulé : rien à redemander', 'NOT_ASKABLE');
        request = { service, requestId: this.newId() };
        if (service === 'clc') request.factureNumero = prior.facture?.numero;
      }
      const del = request.engagement ? { engagement: request.engagement.numero, motif: request.engagement.motif } : undefined;
      let d = markRequested(prior, service, request.requestId, now, del) as ContextRecord;
      d = { ...d, enCours: { ...d.enCours, [service]: { ...d.enCours[service]!, perduLe: this.lostAfter() } } };
      await this.store.saveDossier(d, prior.majLe);
      return { key, dossier: d, created: false, actions: [], requests: [request], manual: [] };
    });
  }

  /** When a request made now counts as lost. */
  private lostAfter(): string {
    return new Date(this.clock.now().getTime() + this.inFlightTimeoutMs).toISOString();
  }

  /** Requests in flight for longer than the timeout (the bridge stopped while they were out). */
  lostRequests(d: DossierRecord): ServiceRequest[] {
    const now = this.clock.now().getTime();
    const out: ServiceRequest[] = [];
    for (const [service, e] of Object.entries(d.enCours) as Array<[OnlineService, { requestId: string; at: string; perduLe?: string }]>) {
      if (!e) continue;
      const lostAt = e.perduLe ? Date.parse(e.perduLe) : Date.parse(e.at) + this.inFlightTimeoutMs;
      if (lostAt > now) continue;
      const r: ServiceRequest = { service, requestId: e.requestId, repeat: true };
      if (service === 'del') {
        const eng = d.engagements.find((x) => x.statut === 'VIVANT' && x.delDemande?.requestId === e.requestId);
        if (!eng) continue;
        r.engagement = { numero: eng.numero, motif: eng.motifDel ?? 'ANNULATION' };
      }
      if (service === 'clc') r.factureNumero = d.facture?.numero;
      out.push(r);
    }
    return out;
  }

  private async stepAndSave(
    key: string,
    prior: ContextRecord | undefined,
    merged: ContextRecord,
    event: DossierEvent,
    created: boolean,
  ): Promise<EngineResult> {
    const res = step(merged, event, { site: this.site, clock: this.clock, recheck: this.recheck });
    const now = this.clock.now();
    let d = res.dossier as ContextRecord;
    if (res.refused) {
      // The event is refused: the merged data (identity, dates, exchange) is kept, the state is not moved.
      d = { ...merged };
    }
    const requests: ServiceRequest[] = [];
    const manual: string[] = [];
    let answer: EngineResult['answer'];
    const actions = res.refused ? [] : res.actions;
    for (const a of actions) {
      switch (a.kind) {
        case 'ASK_IDB':
        case 'ASK_SIM': {
          const service = a.kind === 'ASK_IDB' ? 'idb' : 'sim';
          const requestId = this.newId();
          d = markRequested(d, service, requestId, now) as ContextRecord;
          requests.push({ service, requestId });
          break;
        }
        case 'ASK_CLC': {
          // A re-check re-asks with the same request id; an invoice asked again by the GAP as well.
          const requestId = a.requestId ?? this.newId();
          d = markRequested(d, 'clc', requestId, now) as ContextRecord;
          requests.push({ service: 'clc', requestId, factureNumero: a.factureNumero, ...(a.requestId ? { repeat: true } : {}) });
          break;
        }
        case 'ASK_DEL':
        case 'DEL_THEN_CLC': {
          const motif: DelMotif = a.kind === 'ASK_DEL' ? a.motif : 'REMPLACEMENT';
          const requestId = (a.kind === 'ASK_DEL' ? a.requestId : undefined) ?? this.newId();
          d = markRequested(d, 'del', requestId, now, { engagement: a.engagement, motif }) as ContextRecord;
          requests.push({
            service: 'del',
            requestId,
            engagement: { numero: a.engagement, motif },
            ...(a.kind === 'ASK_DEL' && a.requestId ? { repeat: true } : {}),
          });
          break;
        }
        case 'FLAG_MANUAL':
          manual.push(a.motif);
          break;
        case 'ANSWER_GAP':
          answer = { motif: a.motif, ...(a.engagement ? { engagement: a.engagement } : {}) };
          break;
        default:
          break;
      }
    }
    if (requests.length) {
      const perduLe = this.lostAfter();
      const enCours = { ...d.enCours };
      for (const r of requests) {
        const e = enCours[r.service];
        if (e) enCours[r.service] = { ...e, perduLe };
      }
      d = { ...d, enCours };
    }
    await this.store.saveDossier(d, prior?.majLe);
    return {
      key,
      dossier: d,
      created,
      event,
      actions,
      requests,
      manual,
      ...(answer ? { answer } : {}),
      ...(res.refused ? { refused: res.refused } : {}),
    };
  }
}

function mergeContexte(prev: DossierContexte | undefined, next: DossierContexte): DossierContexte {
  const out: DossierContexte = { ...(prev ?? {}) };
  for (const k of ['amc', 'beneficiaire', 'assureAmo', 'venue', 'admission'] as const) {
    const v = next[k];
    if (v && typeof v === 'object')
      (out as Record<string, unknown>)[k] = k === 'admission' ? v : { ...((prev?.[k] as object) ?? {}), ...v };
  }
  return out;
}

/** The live engagement numbers of a record (what DEL needs). */
export function engagementNumbers(d: DossierRecord): string[] {
  return liveEngagements(d).map((e) => e.numero);
}

/**
 * The outcome to record from a msg.roc after a service node. The annuaire's KO on the IDB path
 * (AMC unknown, not in ROC, directory down) stands for the IDB's own: technical or not.
 */
export function outcomeOf(
  roc: Record<string, unknown>,
  asked: { service: OnlineService; requestId: string },
  now: Date,
): ServiceOutcome | undefined {
  const r = roc[asked.service] as (Partial<ServiceOutcome> & { status?: string; engagement?: unknown }) | undefined;
  if (r && (r.status === 'OK' || r.status === 'KO')) {
    return {
      service: asked.service,
      status: r.status,
      technical: r.technical === true,
      requestId: typeof r.requestId === 'string' && r.requestId ? r.requestId : asked.requestId,
      latencyMs: typeof r.latencyMs === 'number' ? r.latencyMs : 0,
      at: typeof r.at === 'string' ? r.at : now.toISOString(),
      messages: Array.isArray(r.messages) ? (r.messages as RocMessage[]) : [],
      ...(typeof (r as { dateValidite?: unknown }).dateValidite === 'string'
        ? { dateValidite: (r as { dateValidite: string }).dateValidite }
        : {}),
      ...(r.engagement !== undefined ? { engagement: r.engagement as ServiceOutcome['engagement'] } : {}),
      ...clcAmounts(r as Record<string, unknown>),
    };
  }
  const a = roc.annuaire as { status?: string; technical?: boolean; messages?: RocMessage[]; latencyMs?: number; at?: string } | undefined;
  if (asked.service === 'idb' && a && a.status === 'KO') {
    return {
      service: 'idb',
      status: 'KO',
      technical: a.technical === true,
      requestId: asked.requestId,
      latencyMs: typeof a.latencyMs === 'number' ? a.latencyMs : 0,
      at: typeof a.at === 'string' ? a.at : now.toISOString(),
      messages: Array.isArray(a.messages) ? a.messages : [],
    };
  }
  return undefined;
}

/** A CLC answer's amounts (montants.totalAmc, lignes), kept on the engagement for billing. */
function clcAmounts(r: Record<string, unknown>): Pick<ServiceOutcome, 'montants' | 'lignes'> {
  const out: Pick<ServiceOutcome, 'montants' | 'lignes'> = {};
  const m = r.montants as { totalAmc?: unknown } | undefined;
  if (m && typeof m.totalAmc === 'number' && Number.isFinite(m.totalAmc)) out.montants = { totalAmc: m.totalAmc };
  if (Array.isArray(r.lignes)) {
    const lignes = (r.lignes as Array<Record<string, unknown>>)
      .filter((l) => l && typeof l.numero === 'number' && typeof l.montantAmc === 'number')
      .map((l) => ({
        numero: l.numero as number,
        code: typeof l.code === 'string' ? l.code : '',
        montantAmc: l.montantAmc as number,
        montantPatient: typeof l.montantPatient === 'number' ? l.montantPatient : 0,
      }));
    if (lignes.length) out.lignes = lignes;
  }
  return out;
}
