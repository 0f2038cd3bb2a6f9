/**
 * Building the results the RocClient puts on msg.roc: a KO of its own (validation, transport,
 * open circuit, AMC outside ROC) and the mapping of a decoded AMC answer (OK or the AMC's KO).
 * The shape and key order of these objects are part of the flows' contract: keep them stable.
 */
import { performance } from 'node:perf_hooks';
import type {
  AnnuaireResult,
  ClcResult,
  Consigne,
  Couverture,
  DelResult,
  IdbResult,
  LigneResultat,
  Montants,
  OnlineService,
  RocMessage,
  RocService,
  ServiceResult,
  SimResult,
} from '../model/dossier';
import { enrich, messageFor } from './catalogue';

export type ResultFor<S extends RocService> = S extends 'annuaire'
  ? AnnuaireResult
  : S extends 'idb'
    ? IdbResult
    : S extends 'sim'
      ? SimResult
      : S extends 'clc'
        ? ClcResult
        : DelResult;

export type AnyResult = AnnuaireResult | IdbResult | SimResult | ClcResult | DelResult;

type Obj = Record<string, unknown>;

/** The client's clock and request id generator. */
export interface ResultClock {
  /** Ms since the epoch (the result's `at`). */
  now: () => number;
  /** Request id when none was sent. */
  randomId: () => string;
}

interface KoBase {
  service: RocService;
  /** performance.now() when the call started (the result's `latencyMs`). */
  t0: number;
  /** Transport / SOAP / circuit failure (true) or the dossier's or AMC's own KO (false). */
  technical: boolean;
  /** Plain-language cause, naming the service and the AMC. */
  reason: string;
  /** Id of the request sent (default: a new id, nothing was sent). */
  requestId?: string;
  /** Requests sent (default 0). */
  attempts?: number;
  /** URL asked, when known. */
  endpoint?: string;
}

/** Options of a KO: its one catalogue `code`, or its `messages`. */
export type KoOptions = KoBase & ({ code: string; messages?: never } | { messages: RocMessage[]; code?: never });

/** A KO result of the client's own making, shaped for its service. */
export function koResult(o: KoOptions, clock: ResultClock): AnyResult {
  const { service } = o;
  const base: ServiceResult = {
    service,
    status: 'KO',
    technical: o.technical,
    reason: o.reason,
    messages: o.messages ?? [messageFor(o.code!)],
    requestId: o.requestId || clock.randomId(),
    latencyMs: performance.now() - o.t0,
    attempts: o.attempts ?? 0,
    at: new Date(clock.now()).toISOString(),
  };
  if (o.endpoint) base.endpoint = o.endpoint;
  switch (service) {
    case 'annuaire':
      return { ...base, service, fromCache: false, stale: false };
    case 'idb':
      return { ...base, service, consignes: [] };
    case 'sim':
    case 'clc':
      return { ...base, service, lignes: [], consignes: [] };
    case 'del':
      return { ...base, service };
  }
}

/** The reason of a dossier refused by validation: its one message, or a count and the list. */
export function invalidReason(messages: RocMessage[]): string {
  return messages.length === 1
    ? messages[0].libelle
    : `${messages.length} données à corriger : ${messages.map((m) => m.libelle).join(' ; ')}`;
}

export interface AnswerOptions {
  service: OnlineService;
  /** The decoded SOAP answer. */
  decoded: Obj;
  t0: number;
  requestId: string;
  attempts: number;
  endpoint: string;
}

/** The result of a decoded AMC answer (OK, or the AMC's own KO with its enriched messages). */
export function answerResult(o: AnswerOptions, clock: ResultClock): AnyResult {
  const { service, decoded: r } = o;
  const messages = ((r.messages as RocMessage[] | undefined) ?? []).map((m) => enrich(m));
  const ok = r.statut === 'OK';
  const base: ServiceResult = {
    service,
    status: ok ? 'OK' : 'KO',
    technical: false,
    messages,
    requestId: o.requestId,
    responseId: (r.enTete as Obj).responseId as string | undefined,
    endpoint: o.endpoint,
    latencyMs: performance.now() - o.t0,
    attempts: o.attempts,
    at: new Date(clock.now()).toISOString(),
  };
  if (!ok) base.reason = messages[0]?.libelle ?? "réponse KO de l'organisme complémentaire, sans message";
  const consignes = (r.consignes as Consigne[] | undefined) ?? [];
  switch (service) {
    case 'idb': {
      const res: IdbResult = { ...base, service: 'idb', consignes };
      const c = r.couverture as Partial<Couverture> | undefined;
      if (c) res.couverture = { numeroContrat: c.numeroContrat, periodes: c.periodes ?? [], domaines: c.domaines ?? [] };
      if (r.dateValidite) res.dateValidite = r.dateValidite as string;
      return res;
    }
    case 'sim':
    case 'clc': {
      const lignes = ((r.lignes as LigneResultat[] | undefined) ?? []).map((l) => ({
        numero: l.numero,
        code: l.code,
        montantAmc: l.montantAmc,
        montantPatient: l.montantPatient,
      }));
      const res: SimResult | ClcResult = { ...base, service, lignes, consignes } as SimResult | ClcResult;
      if (r.montants) res.montants = r.montants as Montants;
      if (service === 'clc' && r.numeroEngagement) {
        (res as ClcResult).engagement = {
          numero: r.numeroEngagement as string,
          ...(r.dateValiditeEngagement ? { dateValidite: r.dateValiditeEngagement as string } : {}),
        };
      }
      return res;
    }
    case 'del': {
      const res: DelResult = { ...base, service: 'del' };
      if (r.numeroEngagement) res.engagement = r.numeroEngagement as string;
      return res;
    }
  }
}
