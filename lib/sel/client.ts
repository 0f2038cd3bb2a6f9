/**
 * RocClient: the ROC online services (annuaire, IDB, SIM, CLC, DEL) for one establishment.
 *
 * Contract: every method resolves, never rejects. A failure is a result with `status: 'KO'`:
 * - `technical: true` for transport failures, timeouts, unreadable answers, SOAP Faults and an
 *   open circuit (catalogue codes BR-TIMEOUT, BR-UNREACHABLE, BR-TLS, BR-HTTP, BR-BAD-ANSWER,
 *   BR-SOAP-FAULT, BR-CIRCUIT-OPEN) with a `reason` naming the cause, the service and the AMC;
 * - `technical: false` for the AMC's own KO (its messages, enriched from the catalogue), for an
 *   AMC unknown to / outside ROC (BR-AMC-UNKNOWN / BR-NOT-ROC) and for a dossier that fails
 *   validation (BR-MISSING / BR-INVALID, no network call at all).
 *
 * One keep-alive agent pair (SoapTransport), one annuaire cache and one circuit breaker (per AMC,
 * plus one for the directory) per client. IDB and SIM (read-only) are retried once after a
 * technical failure; CLC and DEL never are (their idempotency rests on the request id and the
 * invoice reference, and a blind retry could double an engagement or a cancellation).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  AmcTarget,
  AnnuaireResult,
  ClcResult,
  DelResult,
  Facture,
  IdbResult,
  OnlineService,
  RocDossier,
  RocMessage,
  RocService,
  SimResult,
} from '../model/dossier';
import { enrich, messageFor } from './catalogue';
import { CircuitBreaker, type BreakerOptions } from './breaker';
import { AnnuaireCache, cacheKey, type AnnuaireAnswer } from './cache';
import { codec as defaultCodec, type Codec } from './codec';
import { PROFILE } from './profile';
import { answerResult, invalidReason, koResult, type AnyResult, type KoOptions, type ResultClock, type ResultFor } from './result';
import { SoapError } from './soap';
import { SoapTransport, TransportError, type AgentOptions, type TlsMaterial } from './transport';
import { amcTarget, engagementToCancel, validateDossier } from './validate';

export interface Establishment {
  finessJuridique: string;
  finessGeographique: string;
  logiciel: string;
  versionLogiciel: string;
  /** Full URL of the AMC directory service. */
  annuaireUrl: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  tls?: TlsMaterial;
  /** Response size limit (default 1 MiB). */
  maxResponseBytes?: number;
}

export interface RocClientOptions {
  /** A shared breaker, or options for the client's own (default 5 failures, 30 s open). */
  breaker?: CircuitBreaker | BreakerOptions;
  /** Annuaire TTL when the directory gives no DureeValiditeSecondes (default 1 h). */
  annuaireTtlMs?: number;
  /** A shared annuaire cache (default: the client's own, with `annuaireTtlMs`). */
  cache?: AnnuaireCache;
  /** Pause before the one retry of IDB / SIM (default 200 ms). */
  retryBackoffMs?: number;
  /** Clock in ms since the epoch (default Date.now): timestamps, cache, breaker. */
  now?: () => number;
  /** Request id generator (default crypto.randomUUID). */
  randomId?: () => string;
  /** Keep-alive agent sizing. */
  agent?: AgentOptions;
  /** Codec (default: the profile codec). */
  codec?: Codec;
}

export type { AnyResult, ResultFor } from './result';

type Obj = Record<string, unknown>;

/** A technical failure, with its catalogue code and a plain reason (without service/AMC suffix). */
interface Failure {
  code: string;
  detail: string;
  /** Retrying may help (everything but an open circuit). */
  retryable: boolean;
}

const SVC_LABEL: Record<RocService, string> = { annuaire: 'annuaire', idb: 'IDB', sim: 'SIM', clc: 'CLC', del: 'DEL' };
const RETRIED: ReadonlySet<RocService> = new Set<RocService>(['idb', 'sim']);
const DIRECTORY_KEY = 'annuaire';

const TRANSPORT_CODES: Record<TransportError['kind'], string> = {
  'timeout-connect': 'BR-TIMEOUT',
  'timeout-read': 'BR-TIMEOUT',
  tls: 'BR-TLS',
  refused: 'BR-UNREACHABLE',
  reset: 'BR-UNREACHABLE',
  unreachable: 'BR-UNREACHABLE',
  http: 'BR-HTTP',
  'too-large': 'BR-BAD-ANSWER',
  'bad-url': 'BR-BAD-ANSWER',
};

function failureOf(err: unknown): Failure {
  if (err instanceof TransportError) return { code: TRANSPORT_CODES[err.kind], detail: err.message, retryable: true };
  if (err instanceof SoapError) {
    if (err.kind === 'fault') {
      const f = err.fault;
      return {
        code: 'BR-SOAP-FAULT',
        detail: `SOAP Fault ${f?.code ?? ''}${f?.subcode ? '/' + f.subcode : ''} : ${(f?.reason ?? '').slice(0, 200)}`,
        retryable: true,
      };
    }
    return { code: 'BR-BAD-ANSWER', detail: `réponse non conforme : ${err.message.slice(0, 200)}`, retryable: true };
  }
  return { code: 'BR-BAD-ANSWER', detail: `erreur inattendue : ${String((err as Error)?.message ?? err).slice(0, 200)}`, retryable: false };
}

function sameAmc(a: string | undefined, b: string): boolean {
  if (!a) return false;
  return a === b || a.padStart(10, '0') === b;
}

export class RocClient {
  readonly establishment: Establishment;
  readonly breaker: CircuitBreaker;
  readonly cache: AnnuaireCache;
  readonly transport: SoapTransport;
  private readonly codec: Codec;
  private readonly now: () => number;
  private readonly randomId: () => string;
  private readonly clock: ResultClock;
  private readonly retryBackoffMs: number;
  private readonly maxBytes: number;
  private readonly inflight = new Map<string, Promise<Lookup>>();
  private readonly sleeps = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private closed = false;

  constructor(establishment: Establishment, options: RocClientOptions = {}) {
    this.establishment = establishment;
    this.now = options.now ?? Date.now;
    this.randomId = options.randomId ?? randomUUID;
    this.clock = { now: this.now, randomId: this.randomId };
    this.retryBackoffMs = Math.max(0, options.retryBackoffMs ?? 200);
    this.maxBytes = establishment.maxResponseBytes ?? 1024 * 1024;
    this.codec = options.codec ?? defaultCodec;
    this.breaker = options.breaker instanceof CircuitBreaker ? options.breaker : new CircuitBreaker({ now: this.now, ...options.breaker });
    this.cache = options.cache ?? new AnnuaireCache({ ttlMs: options.annuaireTtlMs, now: this.now });
    this.transport = new SoapTransport(establishment.tls, options.agent);
  }

  annuaire(d: RocDossier): Promise<AnnuaireResult> {
    return this.call('annuaire', d);
  }
  idb(d: RocDossier): Promise<IdbResult> {
    return this.call('idb', d);
  }
  sim(d: RocDossier): Promise<SimResult> {
    return this.call('sim', d);
  }
  clc(d: RocDossier): Promise<ClcResult> {
    return this.call('clc', d);
  }
  del(d: RocDossier): Promise<DelResult> {
    return this.call('del', d);
  }

  /** Call a service for a dossier. Never rejects. */
  call<S extends RocService>(service: S, d: RocDossier): Promise<ResultFor<S>> {
    const t0 = performance.now();
    const run = service === 'annuaire' ? this.runAnnuaire(d, t0) : this.runService(service as OnlineService, d, t0);
    return (run as Promise<ResultFor<S>>).catch((err: unknown) => {
      // Bug guard: the contract is "never reject".
      const f = failureOf(err);
      return this.ko({ service, t0, technical: true, code: f.code, reason: `${f.detail} (${SVC_LABEL[service]})` }) as ResultFor<S>;
    });
  }

  /** Destroy the agents' sockets; pending retries give up; later calls answer KO at once. */
  close(): void {
    this.closed = true;
    this.transport.close();
    for (const s of this.sleeps) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleeps.clear();
  }

  // ---- annuaire --------------------------------------------------------------------------

  private async runAnnuaire(d: RocDossier, t0: number): Promise<AnnuaireResult> {
    const invalid = validateDossier('annuaire', d);
    if (invalid.length) return this.invalidResult('annuaire', t0, invalid) as AnnuaireResult;
    const target = amcTarget(d)!;
    const l = await this.lookup(target);
    return this.annuaireResult(l, t0);
  }

  /** The directory's answer for a target: fresh cache, shared in-flight call, or a new call. */
  private lookup(target: AmcTarget): Promise<Lookup> {
    const key = cacheKey(target.numeroAmc, target.typeConvention, target.csr);
    const fresh = this.cache.get(key);
    if (fresh) return Promise.resolve({ key, answer: fresh, fromCache: true, stale: false, attempts: 0 });
    let p = this.inflight.get(key);
    if (!p) {
      p = this.askDirectory(key, target).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async askDirectory(key: string, target: AmcTarget): Promise<Lookup> {
    const stale = (failure: Failure, attempts: number, requestId?: string): Lookup => {
      const last = this.cache.getStale(key);
      if (last) return { key, answer: last, fromCache: true, stale: true, attempts, failure, requestId };
      return { key, fromCache: false, stale: false, attempts, failure, requestId };
    };
    if (this.closed) return stale({ code: 'BR-UNREACHABLE', detail: 'client fermé', retryable: false }, 0);
    if (!this.breaker.allow(DIRECTORY_KEY)) {
      return stale(
        {
          code: 'BR-CIRCUIT-OPEN',
          detail: `annuaire suspendu après ${this.breaker.failureThreshold} échecs techniques consécutifs`,
          retryable: false,
        },
        0,
      );
    }
    const requestId = this.randomId();
    const url = this.establishment.annuaireUrl;
    try {
      const body = this.codec.encodeRequest('annuaire', { enTete: this.enTete(requestId, target) });
      const decoded = await this.exchange('annuaire', url, body, requestId);
      this.breaker.success(DIRECTORY_KEY);
      const answer = this.toAnswer(decoded, requestId, url);
      const duree = typeof decoded.dureeValidite === 'number' ? decoded.dureeValidite : undefined;
      this.cache.set(key, answer, duree);
      return { key, answer, fromCache: false, stale: false, attempts: 1 };
    } catch (err) {
      const f = failureOf(err);
      if (f.retryable) this.breaker.failure(DIRECTORY_KEY);
      return stale(f, 1, requestId);
    }
  }

  private toAnswer(decoded: Obj, requestId: string, endpoint: string): AnnuaireAnswer {
    const messages = ((decoded.messages as RocMessage[] | undefined) ?? []).map((m) => enrich(m));
    const enTete = decoded.enTete as Obj;
    const amc = decoded.amc as { numeroAmc: string; nom?: string; operateur?: string; enRoc: boolean } | undefined;
    const services: Partial<Record<OnlineService, string>> = {};
    for (const s of (decoded.services as { service: OnlineService; url: string }[] | undefined) ?? []) services[s.service] = s.url;
    const base = { requestId, responseId: enTete.responseId as string | undefined, endpoint, at: this.now() };
    if (decoded.statut !== 'OK' || !amc) {
      const unknown = messageFor('BR-AMC-UNKNOWN');
      return { ...base, status: 'KO', amc, messages: [unknown, ...messages.filter((m) => m.code !== '0000')], reason: unknown.libelle };
    }
    if (!amc.enRoc) {
      const notRoc = messageFor('BR-NOT-ROC');
      return {
        ...base,
        status: 'KO',
        amc,
        services,
        messages: [notRoc, ...messages.filter((m) => m.code !== '0000')],
        reason: notRoc.libelle,
      };
    }
    return { ...base, status: 'OK', amc, services, messages };
  }

  private annuaireResult(l: Lookup, t0: number): AnnuaireResult {
    const a = l.answer;
    if (!a) {
      const f = l.failure!;
      return {
        ...(this.ko({
          service: 'annuaire',
          t0,
          requestId: l.requestId,
          attempts: l.attempts,
          endpoint: this.establishment.annuaireUrl,
          technical: true,
          code: f.code,
          reason: `${f.detail} (annuaire)`,
        }) as AnnuaireResult),
        fromCache: false,
        stale: false,
      };
    }
    const result: AnnuaireResult = {
      service: 'annuaire',
      status: a.status,
      technical: false,
      messages: a.messages,
      requestId: a.requestId,
      responseId: a.responseId,
      endpoint: a.endpoint,
      latencyMs: performance.now() - t0,
      attempts: l.attempts,
      at: new Date(this.now()).toISOString(),
      amc: a.amc,
      services: a.services,
      fromCache: l.fromCache,
      stale: l.stale,
    };
    if (a.reason) result.reason = a.reason;
    if (l.stale && l.failure) {
      // Served during a directory outage: say so without turning the answer into a KO.
      result.reason = `${a.reason ? a.reason + ' ; ' : ''}réponse de l'annuaire en cache (dernière connue), annuaire indisponible : ${l.failure.detail}`;
    }
    return result;
  }

  // ---- online services -------------------------------------------------------------------

  private async runService(service: OnlineService, d: RocDossier, t0: number): Promise<AnyResult> {
    const invalid = validateDossier(service, d);
    if (invalid.length) return this.invalidResult(service, t0, invalid);
    const target = amcTarget(d)!;
    const svc = SVC_LABEL[service];
    const where = `${svc}, AMC ${target.numeroAmc}`;

    // Endpoint: the dossier's annuaire result when it is for this AMC, else the directory (cache).
    let endpoint: string | undefined;
    let key: string | undefined;
    const known = d.annuaire;
    if (known && known.status === 'OK' && sameAmc(known.amc?.numeroAmc, target.numeroAmc) && known.services) {
      endpoint = known.services[service];
      if (!endpoint) return this.notOffered(service, t0, target);
      key = cacheKey(target.numeroAmc, target.typeConvention, target.csr);
    } else {
      const l = await this.lookup(target);
      if (!l.answer) {
        const f = l.failure!;
        return this.ko({
          service,
          t0,
          endpoint: this.establishment.annuaireUrl,
          technical: true,
          code: f.code,
          reason: `annuaire : ${f.detail} (${where})`,
        });
      }
      if (l.answer.status !== 'OK') {
        return this.ko({
          service,
          t0,
          technical: false,
          messages: l.answer.messages,
          reason: `${l.answer.messages[0]?.libelle ?? 'AMC inconnu'} (${where})`,
        });
      }
      endpoint = l.answer.services?.[service];
      if (!endpoint) return this.notOffered(service, t0, target);
      key = l.key;
    }

    const amcKey = target.numeroAmc;
    const maxAttempts = RETRIED.has(service) ? 2 : 1;
    let attempts = 0;
    let last: AnyResult | undefined;
    while (attempts < maxAttempts) {
      if (this.closed) {
        return (
          last ?? this.ko({ service, t0, attempts, endpoint, technical: true, code: 'BR-UNREACHABLE', reason: `client fermé (${where})` })
        );
      }
      if (!this.breaker.allow(amcKey)) {
        if (last) return last;
        return this.ko({
          service,
          t0,
          attempts,
          endpoint,
          technical: true,
          code: 'BR-CIRCUIT-OPEN',
          reason: `service suspendu pour l'AMC ${target.numeroAmc} après ${this.breaker.failureThreshold} échecs techniques consécutifs, nouvel essai dans ${Math.ceil(this.breaker.openMs / 1000)} s au plus (${svc})`,
        });
      }
      attempts++;
      // A request id given by the dossier (msg.roc.requestIds) is kept: a CLC or DEL asked again
      // after a technical KO or a restart carries the first request's id, so the AMC deduplicates.
      const requestId = givenRequestId(d, service) ?? this.randomId();
      let body: string;
      try {
        body = this.codec.encodeRequest(service, this.payload(service, d, requestId, target));
      } catch (err) {
        // Data the validator let through but the profile refuses: the dossier's fault, not the AMC's.
        this.breaker.release(amcKey); // nothing was sent: free a half-open trial, count nothing
        const msg = messageFor('BR-INVALID');
        const detail = err instanceof SoapError ? err.message : String(err);
        return this.ko({
          service,
          t0,
          requestId,
          attempts: attempts - 1,
          endpoint,
          technical: false,
          messages: [{ ...msg, libelle: `${msg.libelle} : ${detail}` }],
          reason: `${msg.libelle} : ${detail}`,
        });
      }
      try {
        const decoded = await this.exchange(service, endpoint, body, requestId);
        this.breaker.success(amcKey);
        return answerResult({ service, decoded, t0, requestId, attempts, endpoint }, this.clock);
      } catch (err) {
        const f = failureOf(err);
        this.breaker.failure(amcKey);
        if (key) this.cache.invalidateEndpoint(key, endpoint);
        const suffix = attempts > 1 ? `${where}, ${attempts} tentatives` : where;
        last = this.ko({ service, t0, requestId, attempts, endpoint, technical: true, code: f.code, reason: `${f.detail} (${suffix})` });
        if (!f.retryable || attempts >= maxAttempts) return last;
        await this.sleep(this.retryBackoffMs);
      }
    }
    return last!;
  }

  /** POST, then decode and check the echoed request id. Throws TransportError / SoapError. */
  private async exchange(service: RocService, url: string, body: string, requestId: string): Promise<Obj> {
    const op = PROFILE.operations[service];
    const res = await this.transport.post(url, body, {
      action: op.action,
      connectTimeoutMs: this.establishment.connectTimeoutMs,
      readTimeoutMs: this.establishment.readTimeoutMs,
      maxBytes: this.maxBytes,
    });
    const decoded = this.codec.decodeResponse(service, res.body, this.maxBytes); // a SOAP Fault throws here
    if (res.status >= 400) {
      throw new TransportError('http', `HTTP ${res.status} avec une réponse SOAP qui n'est pas une Fault`, res.status);
    }
    const echoed = (decoded.enTete as Obj | undefined)?.requestId;
    if (echoed !== requestId) {
      throw new SoapError(
        'unexpected',
        `la réponse porte l'identifiant de requête « ${String(echoed).slice(0, 64)} », différent de celui envoyé`,
      );
    }
    return decoded;
  }

  private payload(service: OnlineService, d: RocDossier, requestId: string, target: AmcTarget): Obj {
    const enTete = this.enTete(requestId, target);
    if (service === 'del') {
      return {
        enTete,
        numeroEngagement: engagementToCancel(d),
        numeroFacture: d.facture?.numero,
        motif: d.engagement?.motif,
      };
    }
    const att = d.attestation;
    const p: Obj = {
      enTete,
      beneficiaire: d.beneficiaire,
      assureAmo: d.assureAmo,
      attestation: att && att.numeroAmc ? att : undefined,
      venue: d.venue,
    };
    if (service === 'sim') p.facture = this.factureOut(d.devis ?? d.facture, 'SIMULATION');
    else if (service === 'clc') p.facture = this.factureOut(d.facture, undefined);
    return p;
  }

  /** Number the lines when the dossier did not (the profile requires NumeroLigne). */
  private factureOut(f: Facture | undefined, defaultNumero: string | undefined): Obj | undefined {
    if (!f) return undefined;
    const needNumbers = f.lignes.some((l) => l.numero === undefined || l.numero === null);
    if (!needNumbers && (f.numero || !defaultNumero)) return f as unknown as Obj;
    return {
      ...f,
      numero: f.numero || defaultNumero,
      lignes: needNumbers ? f.lignes.map((l, i) => (l.numero === undefined || l.numero === null ? { ...l, numero: i + 1 } : l)) : f.lignes,
    };
  }

  private enTete(requestId: string, target: AmcTarget): Obj {
    const e = this.establishment;
    return {
      requestId,
      horodatage: new Date(this.now()).toISOString(),
      versionProfil: PROFILE.version,
      finessJuridique: e.finessJuridique,
      finessGeographique: e.finessGeographique,
      logiciel: e.logiciel,
      versionLogiciel: e.versionLogiciel,
      amc: target,
    };
  }

  // ---- results ---------------------------------------------------------------------------

  private ko(o: KoOptions): AnyResult {
    return koResult(o, this.clock);
  }

  private invalidResult(service: RocService, t0: number, messages: RocMessage[]): AnyResult {
    return this.ko({ service, t0, technical: false, messages, reason: invalidReason(messages) });
  }

  private notOffered(service: OnlineService, t0: number, target: AmcTarget): AnyResult {
    const m = messageFor('BR-NOT-ROC');
    return this.ko({
      service,
      t0,
      technical: false,
      messages: [m],
      reason: `l'AMC ${target.numeroAmc} ne propose pas le service ${SVC_LABEL[service]} en ligne : ${m.libelle}`,
    });
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleeps.add(entry);
    });
  }
}

interface Lookup {
  key: string;
  answer?: AnnuaireAnswer;
  fromCache: boolean;
  stale: boolean;
  attempts: number;
  /** The technical failure, when the directory could not be asked (answer then stale, if any). */
  failure?: Failure;
  /** Id of the failed directory request, when one was sent. */
  requestId?: string;
}

/** A request id the caller chose (msg.roc.requestIds[service]): 1 to 64 letters, digits, '-' or '_'. */
export function givenRequestId(d: RocDossier, service: OnlineService): string | undefined {
  const ids = (d as { requestIds?: unknown }).requestIds;
  if (!ids || typeof ids !== 'object') return undefined;
  const v = (ids as Record<string, unknown>)[service];
  return typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : undefined;
}
