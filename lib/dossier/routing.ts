/**
 * From an engine result to the messages the `roc-dossier` node sends, and on which output. Pure
 * data in, data out: the node only clones and sends.
 *
 * Outputs (in this order on the node): IDB (through the annuaire), SIM, CLC, DEL, answer to the
 * GAP (roc-mllp-out), answer to an HTTP caller (http response), done (back to roc-mllp-in: the GAP
 * message is processed and nothing is to be answered).
 *
 * Rules:
 * - The message keeps travelling with the first service request: the GAP message it came from is
 *   done only when its chain ends (its venue stays ordered meanwhile). Further requests (a second
 *   DEL) go out as copies without the GAP message or HTTP request attached.
 * - An answer to the GAP while a request goes on (IDB OK and CLC asked) goes out as a copy; an
 *   HTTP caller is answered once, at the end of the chain.
 * - Each message carries `roc.dossier` (key, state, event, live engagements, flags, the request;
 *   on an answer, `reponse`: the service the answer is about, which roc-mllp-out answers with).
 *   The results of the chain stay on the message (roc-mllp-in records them as the message's
 *   exchanges); a request drops only the earlier result of the service it asks. A request
 *   carries its request id in `roc.requestIds` (the AMC deduplicates a repeated CLC or DEL by it).
 */
import type { Facture, OnlineService } from '../model/dossier';
import type { DossierContexte, EngineResult, ServiceRequest } from './engine';
import { liveEngagements, type DossierRecord } from './dossier';
import { STATE_LABELS } from './states';
import { quoteFor, type QuoteTariffs } from './quote';

export const OUTPUTS = ['idb', 'sim', 'clc', 'del', 'gap', 'http', 'done'] as const;
export type Output = (typeof OUTPUTS)[number];

export interface Origin {
  /** A GAP message (msg.hl7.journalId): roc-mllp-in waits for its end. */
  gap: boolean;
  /** An HTTP request (msg.res): answered once. */
  http: boolean;
}

export interface Emission {
  output: Output;
  /** False: a copy without the GAP message id and the HTTP request. */
  keepOrigin: boolean;
  roc: Record<string, unknown>;
}

/** The summary put on msg.roc.dossier (no patient data). */
export function summary(res: EngineResult): Record<string, unknown> {
  const d = res.dossier;
  const out: Record<string, unknown> = {
    cle: res.key,
    etat: d.etat,
    libelle: STATE_LABELS[d.etat],
    droits: d.droits,
    engagements: liveEngagements(d).map((e) => e.numero),
    drapeaux: d.drapeaux.map((f) => f.code),
  };
  if (res.event) out.evenement = res.event;
  if (res.created) out.cree = true;
  if (res.refused) out.refus = res.refused;
  if (res.answer) out.motif = res.answer.motif;
  if (res.manual.length) out.traitementManuel = res.manual;
  if (d.reverification?.prochaine) out.reverification = { service: d.reverification.service, prochaine: d.reverification.prochaine };
  return out;
}

function isResult(v: unknown): boolean {
  const r = v as { status?: unknown } | undefined;
  return !!r && typeof r === 'object' && (r.status === 'OK' || r.status === 'KO');
}

/**
 * A result to answer with when the message carries none (an invoice for an engaged dossier: the
 * engagement already obtained; rights known closed): rebuilt from the dossier's last exchange.
 */
export function storedResult(d: DossierRecord, prefer: OnlineService[]): Record<string, unknown> | undefined {
  for (const service of prefer) {
    const x = [...d.echanges].reverse().find((e) => e.service === service && !e.contradiction);
    if (!x) continue;
    const r: Record<string, unknown> = {
      service,
      status: x.status,
      technical: x.technical,
      messages: x.code ? [{ code: x.code, groupe: '', severite: x.status === 'OK' ? 'INFO' : 'ERREUR', libelle: '' }] : [],
      requestId: x.requestId,
      latencyMs: 0,
      attempts: 0,
      at: x.at,
      rappel: true,
    };
    if (service === 'clc' && x.engagement) r.engagement = { numero: x.engagement };
    if (service === 'del' && x.engagement) r.engagement = x.engagement;
    if (service === 'idb' && d.idbValidite) r.dateValidite = d.idbValidite;
    return { [service]: r };
  }
  return undefined;
}

/** msg.roc completed from the dossier's context (AMC target, beneficiary, AMO, venue, admission) where it lacks them. */
export function contextFill(roc: Record<string, unknown>, ctx: DossierContexte | undefined): Record<string, unknown> {
  const out = { ...roc };
  if (!ctx) return out;
  for (const k of ['amc', 'beneficiaire', 'assureAmo', 'venue', 'admission'] as const) if (out[k] === undefined && ctx[k]) out[k] = ctx[k];
  return out;
}

function requestRoc(
  base: Record<string, unknown>,
  r: ServiceRequest,
  d: DossierRecord,
  sum: Record<string, unknown>,
  tariffs?: QuoteTariffs,
) {
  const roc = { ...base };
  // the earlier result of the service asked (a second DEL, a renewal) must not pass for its answer
  delete roc[r.service];
  if (r.service === 'idb') delete roc.annuaire;
  roc.dossier = { ...sum, requete: { service: r.service, requestId: r.requestId, ...(r.repeat ? { repetition: true } : {}) } };
  roc.requestIds = { [r.service]: r.requestId };
  if (r.service === 'clc' && d.facture) roc.facture = d.facture;
  if (r.service === 'del' && r.engagement) {
    roc.engagement = { numero: r.engagement.numero, motif: r.engagement.motif };
    const eng = d.engagements.find((e) => e.numero === r.engagement!.numero);
    const numero = eng?.factureNumero ?? d.facture?.numero;
    const f: Facture | undefined = d.facture && d.facture.numero === numero ? d.facture : numero ? { numero, lignes: [] } : undefined;
    if (f) roc.facture = f;
  }
  if (r.service === 'sim' && !roc.devis) roc.devis = quoteFor(d, tariffs);
  return roc;
}

/**
 * The emissions for one engine result. `roc` is the incoming msg.roc (a GAP message, a service
 * answer, or {} for the clock's turn), completed from the dossier's context where it lacks parts.
 */
export function plan(
  res: EngineResult,
  rocIn: Record<string, unknown>,
  origin: Origin,
  o: { tariffs?: QuoteTariffs; resultOf?: OnlineService | 'annuaire' } = {},
): Emission[] {
  const d = res.dossier;
  const sum = summary(res);
  const base = contextFill(rocIn, d.contexte);
  const out: Emission[] = [];
  res.requests.forEach((r, i) => {
    out.push({ output: r.service, keepOrigin: i === 0, roc: requestRoc(base, r, d, sum, o.tariffs) });
  });
  const chainGoesOn = res.requests.length > 0;
  // the result this step is about: the one that just came back, else the dossier's last one
  let about: OnlineService | 'annuaire' | undefined = o.resultOf && isResult(base[o.resultOf]) ? o.resultOf : undefined;
  let withResult = base;
  if (!about && res.answer) {
    const prefer: OnlineService[] =
      res.event === 'FACTURE' || res.event === 'FACTURE_MODIFIEE' ? ['clc', 'idb'] : res.event === 'ANNULATION' ? ['del'] : ['idb'];
    const stored = storedResult(d, prefer);
    if (stored) {
      withResult = { ...base, ...stored };
      about = Object.keys(stored)[0] as OnlineService;
    }
  }
  if (origin.http) {
    if (!chainGoesOn)
      out.push({ output: 'http', keepOrigin: true, roc: { ...withResult, dossier: { ...sum, ...(about ? { reponse: about } : {}) } } });
    return out;
  }
  if (res.answer && about && withResult.admission) {
    out.push({ output: 'gap', keepOrigin: !chainGoesOn, roc: { ...withResult, dossier: { ...sum, reponse: about } } });
    return out;
  }
  if (!chainGoesOn && origin.gap) out.push({ output: 'done', keepOrigin: true, roc: { ...base, dossier: sum } });
  return out;
}
