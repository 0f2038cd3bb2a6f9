/**
 * The answer to the GAP: msg.roc (the admission read from the GAP's message plus the ROC results)
 * → an HL7 v2.5 `ADT^Z80^ADT_A01` message with a ZRC "résultat ROC" segment. The layout is data
 * (answer-profile.ts). Pure: no sockets, no Node-RED.
 *
 * Strict output: standard delimiters `|^~\&`, CR segment ends, every value escaped, trailing
 * empty fields dropped, encoded in the destination's charset (MSH-18 says which).
 */
import type { Admission, AssigningAuthority, Identifier } from './types';
import type { Hl7Charset } from './profile';
import type { ClcResult, DelResult, IdbResult, RocDossier, ServiceResult, SimResult } from '../model/dossier';
import { encode, msh18For } from './charset';
import { escapeValue } from './er7';
import { hl7Timestamp } from './ack';
import {
  ANSWER_CONTROL_ID_PREFIX,
  ANSWER_COUNTRY,
  ANSWER_DEFAULT_CHARSET,
  ANSWER_IDENTIFIER_TYPES,
  ANSWER_MESSAGE_TYPE,
  ANSWER_PROCESSING_ID,
  ANSWER_SENDING_APPLICATION,
  ANSWER_SERVICES,
  ANSWER_VERSION,
  BILLING_ANSWER,
  DEFAULT_PATIENT_CLASS,
  PATIENT_NAME_ECHO,
  SERVICE_FOR_MEANING,
  ZRC_CODING_SYSTEM,
  ZRC_CURRENCY,
  ZRC_FIELDS,
  ZRC_SEGMENT,
  type AnswerFacts,
  type AnswerService,
  type BillingAnswerState,
  type ResultService,
  type ZrcField,
} from './answer-profile';

export * from './answer-profile';

export interface AnswerOptions {
  /** Which result to answer; default: from the admission's meaning, else the latest result. */
  service?: AnswerService;
  charset?: Hl7Charset;
  /** MSH-3 (default ROC_BRIDGE). */
  sendingApplication?: string;
  /** MSH-4 (default: the original MSH-6, the facility the GAP addressed). */
  sendingFacility?: string;
  /** MSH-5 / MSH-6 (default: the original sender, MSH-3 / MSH-4 of the admission). */
  receivingApplication?: string;
  receivingFacility?: string;
  /** MSH-10 (default: a new one from newAnswerControlId()). */
  controlId?: string;
  now?: Date;
}

export interface Answer {
  /** MSH-10: the GAP's ACK must carry it in MSA-2. */
  controlId: string;
  service: AnswerService;
  status: 'OK' | 'KO';
  technical: boolean;
  /** Per-venue ordering key, as the inbound side writes it: `PV1-19:<venue>`, else `PID-18:<NDA>`, else `PID-3:<IPP>`. */
  orderingKey: string;
  /** ER7 text, CR segment ends. */
  text: string;
  /** The text in `charset` (frame it with mllp.frame). */
  bytes: Buffer;
  charset: Hl7Charset;
  /** The flat facts the ZRC was written from. */
  facts: AnswerFacts;
}

/** Thrown when msg.roc cannot be answered; the message names the cause, never patient data. */
export class AnswerError extends Error {
  constructor(
    message: string,
    readonly code: 'NO_DOSSIER' | 'NO_RESULT' | 'NO_IDENTIFIER' | 'BAD_OPTION',
  ) {
    super(message);
    this.name = 'AnswerError';
  }
}

let counter = Math.floor(Math.random() * 36 ** 4);
/** A new MSH-10: ≤ 20 characters, time-ordered, unique per process and across restarts. */
export function newAnswerControlId(now: Date = new Date()): string {
  counter = (counter + 1) % 36 ** 4;
  return `${ANSWER_CONTROL_ID_PREFIX}${now.getTime().toString(36).toUpperCase()}${counter.toString(36).toUpperCase().padStart(4, '0')}`;
}

/**
 * A billing return (msg.roc.billing from roc-rsp: one invoice settled by the AMC), the part an
 * answer reads. Amounts in cents; `settledAt` the day of the return; `engagement` and `amcCents`
 * (the AMC share billed) when the caller knows them (roc-mllp-out reads them from the journal).
 */
export interface BillingReturn {
  state: BillingAnswerState;
  key?: string;
  factureNumero: string;
  amc?: string;
  paidCents?: number;
  differenceCents?: number;
  amcCents?: number;
  engagement?: string;
  paymentReference?: string;
  settledAt?: string;
  reason?: { code?: string; label?: string; action?: string };
}

type Dossier = RocDossier & { admission?: Admission; billing?: unknown };

/** msg.roc.billing when it is an invoice the AMC settled (paid, partially paid, rejected). */
export function billingReturnOf(roc: unknown): BillingReturn | undefined {
  const b = (roc as { billing?: unknown } | undefined)?.billing as Partial<BillingReturn> | undefined;
  if (!b || typeof b !== 'object') return undefined;
  if (typeof b.state !== 'string' || !Object.prototype.hasOwnProperty.call(BILLING_ANSWER.states, b.state)) return undefined;
  if (typeof b.factureNumero !== 'string' || !b.factureNumero) return undefined;
  return b as BillingReturn;
}

const e = (v: string | undefined): string => (v ? escapeValue(v) : '');

function hd(a: AssigningAuthority | undefined): string {
  if (!a) return '';
  const parts = [a.namespace, a.universalId, a.universalIdType].map((p) => e(p));
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts.join('&');
}

/** CX: id^^^authority^type. */
function cx(id: Identifier | undefined, fallback: string | undefined, type: string): string {
  const value = id?.value ?? fallback;
  if (!value) return '';
  return `${e(value)}^^^${hd(id?.authority)}^${type}`;
}

function isoToDt(d: string | undefined): string | undefined {
  if (!d) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(d);
  return m ? `${m[1]}${m[2]}${m[3]}` : undefined;
}

function isoToDtm(d: string | undefined): string | undefined {
  if (!d) return undefined;
  const t = Date.parse(d);
  return Number.isFinite(t) ? hl7Timestamp(new Date(t)) : undefined;
}

function money(n: number | undefined): string | undefined {
  return typeof n === 'number' && Number.isFinite(n) ? (Math.round(n * 100) / 100).toFixed(2) : undefined;
}

function isResult(v: unknown): v is ServiceResult {
  return !!v && typeof v === 'object' && ((v as ServiceResult).status === 'OK' || (v as ServiceResult).status === 'KO');
}

/**
 * The service answered: the option, else the one roc-dossier names (`dossier.reponse`), else the
 * admission's meaning, else the latest result.
 */
export function chooseService(roc: Dossier, wanted?: AnswerService): AnswerService {
  if (wanted === 'rsp') {
    if (!billingReturnOf(roc))
      throw new AnswerError('pas de retour de facturation réglé dans msg.roc.billing : rien à répondre au GAP', 'NO_RESULT');
    return 'rsp';
  }
  if (wanted) {
    if (!ANSWER_SERVICES.includes(wanted))
      throw new AnswerError(`service inconnu « ${String(wanted)} » (attendu : ${[...ANSWER_SERVICES, 'rsp'].join(', ')})`, 'BAD_OPTION');
    if (!isResult(roc[wanted]))
      throw new AnswerError(`pas de résultat ${wanted.toUpperCase()} dans msg.roc.${wanted} : rien à répondre au GAP`, 'NO_RESULT');
    return wanted;
  }
  // roc-dossier says which result its answer is about (msg.roc.dossier.reponse)
  const hinted = (roc as { dossier?: { reponse?: unknown } }).dossier?.reponse;
  if (ANSWER_SERVICES.includes(hinted as ResultService) && isResult(roc[hinted as ResultService])) return hinted as ResultService;
  // a billing return (roc-rsp) is the news of its message
  if (billingReturnOf(roc)) return 'rsp';
  const byMeaning = roc.admission?.meaning ? SERVICE_FOR_MEANING[roc.admission.meaning] : undefined;
  if (byMeaning && isResult(roc[byMeaning])) return byMeaning;
  let best: ResultService | undefined;
  let bestAt = -Infinity;
  for (const s of ANSWER_SERVICES) {
    const r = roc[s];
    if (!isResult(r)) continue;
    const at = Date.parse(r.at ?? '');
    const t = Number.isFinite(at) ? at : 0;
    if (t >= bestAt) {
      best = s;
      bestAt = t;
    }
  }
  if (!best)
    throw new AnswerError(`aucun résultat ROC (msg.roc.${ANSWER_SERVICES.join(' / msg.roc.')}) : rien à répondre au GAP`, 'NO_RESULT');
  return best;
}

function cents(c: number | undefined): string | undefined {
  return typeof c === 'number' && Number.isSafeInteger(c) ? (c / 100).toFixed(2) : undefined;
}

/**
 * The facts the ZRC can carry: text, or lists of text. A number a flow wrote into msg.roc (a change
 * node setting `responseId` to 12345) is written as its text, 0 as no value (a placeholder); an
 * empty value, or anything else where text was expected (an object, a boolean), is left out rather
 * than failing the answer.
 */
function tidy(f: AnswerFacts): AnswerFacts {
  const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : Number.isFinite(v) && v !== 0 ? String(v) : undefined);
  const facts = f as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(facts)) {
    const t = Array.isArray(v) ? v.map(text).filter((x) => x) : text(v);
    if (!t?.length) delete facts[k];
    else facts[k] = t;
  }
  return f;
}

/** The flat facts of a billing return (BILLING_ANSWER). */
export function billingFacts(roc: Dossier, b: BillingReturn): AnswerFacts {
  const rule = BILLING_ANSWER.states[b.state];
  const f: AnswerFacts = {
    service: BILLING_ANSWER.service,
    status: rule.status,
    technical: 'N',
    etatFacture: rule.etat,
    numeroFacture: b.factureNumero,
    numeroAmc: b.amc ?? roc.amc?.numeroAmc,
    numeroEngagement: b.engagement,
    montantAmc: cents(b.amcCents ?? (b.paidCents ?? 0) + (b.differenceCents ?? 0)),
    montantPaye: cents(b.paidCents ?? 0),
    referencePaiement: b.paymentReference,
    dateResultat: b.settledAt,
    actionGap: rule.action,
  };
  if (b.state === 'rejected') {
    if (b.reason?.code) f.codeKo = b.reason.code;
    if (b.reason?.label) f.libelleKo = b.reason.label;
    if (b.reason?.action) f.actionGap = b.reason.action;
    f.motifKo = b.reason?.label;
  } else if (b.state === 'partially-paid' && b.differenceCents) {
    f.motifKo = `payé partiellement : écart de ${cents(b.differenceCents)} EUR`;
  }
  return tidy(f);
}

/** The flat facts of one result (and the dossier around it). */
export function answerFacts(roc: Dossier, service: AnswerService): AnswerFacts {
  if (service === 'rsp') {
    const b = billingReturnOf(roc);
    if (!b) throw new AnswerError('pas de retour de facturation réglé dans msg.roc.billing', 'NO_RESULT');
    return billingFacts(roc, b);
  }
  const r = roc[service] as ServiceResult;
  const f: AnswerFacts = {
    service: service.toUpperCase(),
    status: r.status,
    technical: r.technical ? 'Y' : 'N',
    requestId: r.requestId || undefined,
    responseId: r.responseId,
    dateResultat: r.at,
  };
  const amc = roc.amc?.numeroAmc ?? roc.admission?.coverages?.find((c) => c.kind === 'AMC' && c.numeroAmc)?.numeroAmc;
  if (amc) f.numeroAmc = amc;
  if (r.status === 'KO') {
    const m = r.messages?.find((x) => x.severite === 'ERREUR') ?? r.messages?.[0];
    if (m) {
      f.codeKo = m.code;
      f.libelleKo = m.libelle;
      if (m.action) f.actionGap = m.action;
    }
    f.motifKo = r.reason ?? m?.libelle;
    if (!f.actionGap && r.technical) f.actionGap = 'REESSAYER';
  } else {
    f.actionGap = 'AUCUNE';
  }
  if (service === 'idb') {
    const idb = r as IdbResult;
    const c = idb.couverture;
    if (c) {
      const periodes = c.periodes ?? [];
      f.debutDroits = periodes[0]?.debut;
      f.finDroits = periodes[periodes.length - 1]?.fin;
      f.numeroContrat = c.numeroContrat;
      if (c.domaines?.length) f.domaines = c.domaines;
    }
    f.dateValidite = idb.dateValidite;
  }
  if (service === 'clc' || service === 'sim') {
    const x = r as ClcResult | SimResult;
    if (x.montants) {
      f.montantFacture = money(x.montants.totalFacture);
      f.montantAmo = money(x.montants.totalAmo);
      f.montantAmc = money(x.montants.totalAmc);
      f.montantPatient = money(x.montants.resteACharge);
    }
    if (service === 'clc' && (x as ClcResult).engagement) {
      f.numeroEngagement = (x as ClcResult).engagement!.numero;
      f.dateValiditeEngagement = (x as ClcResult).engagement!.dateValidite;
    }
  }
  if (service === 'del') {
    f.engagementAnnule = (r as DelResult).engagement ?? roc.engagement?.numero;
  }
  return tidy(f);
}

/** At most `max` characters (a layout without maxLength: the whole text; every fact is a text, see tidy). */
function cut(v: string, max: number | undefined): string {
  return v.slice(0, max);
}

function zrcValue(spec: ZrcField, facts: AnswerFacts): string {
  const raw = facts[spec.key];
  if (raw === undefined) return '';
  const one = (v: string): string => {
    switch (spec.type) {
      case 'DT':
        return isoToDt(v) ?? '';
      case 'DTM':
        return isoToDtm(v) ?? '';
      case 'MO':
        return `${e(v)}^${ZRC_CURRENCY}`;
      case 'CWE': {
        const text = spec.textKey ? (facts[spec.textKey] as string | undefined) : undefined;
        return `${e(cut(v, spec.maxLength))}^${e(cut(text ?? '', spec.maxLength))}^${ZRC_CODING_SYSTEM}`;
      }
      default:
        return e(cut(v, spec.maxLength));
    }
  };
  if (Array.isArray(raw)) return (spec.repeated ? raw : raw.slice(0, 1)).map(one).join('~');
  return one(raw);
}

function segment(fields: string[]): string {
  const f = [...fields];
  while (f[f.length - 1] === '') f.pop(); // f[0], the segment name, is never empty
  return f.join('|');
}

/** Build the answer for msg.roc. Throws AnswerError when there is nothing (or no one) to answer. */
export function buildAnswer(roc: unknown, options: AnswerOptions = {}): Answer {
  if (!roc || typeof roc !== 'object' || Array.isArray(roc))
    throw new AnswerError('msg.roc doit contenir le dossier ROC (objet)', 'NO_DOSSIER');
  const d = roc as Dossier;
  const service = chooseService(d, options.service);
  const facts = answerFacts(d, service);
  const result: Pick<ServiceResult, 'status' | 'technical'> & { at?: string } =
    service === 'rsp' ? { status: facts.status as 'OK' | 'KO', technical: false, at: facts.dateResultat } : (d[service] as ServiceResult);
  const a = d.admission;
  const ipp = a?.patient?.ipp;
  const nda = a?.venue?.nda;
  const venue = a?.venue?.numeroVenue;
  const ndaValue = nda?.value ?? d.venue?.numeroDossier;
  const venueValue = venue?.value ?? d.venue?.numeroVenue;
  if (!ipp?.value && !ndaValue && !venueValue) {
    throw new AnswerError(
      'ni IPP (admission.patient.ipp), ni NDA, ni numéro de venue : le GAP ne pourrait pas rattacher la réponse',
      'NO_IDENTIFIER',
    );
  }
  const orderingKey = a?.orderingKey ?? (venueValue ? `PV1-19:${venueValue}` : ndaValue ? `PID-18:${ndaValue}` : `PID-3:${ipp!.value}`);
  const now = options.now ?? new Date();
  const controlId = options.controlId ?? newAnswerControlId(now);
  const charset = options.charset ?? ANSWER_DEFAULT_CHARSET;
  const { type, event, structure } = ANSWER_MESSAGE_TYPE;

  const msh = segment([
    'MSH',
    '^~\\&',
    e(options.sendingApplication ?? ANSWER_SENDING_APPLICATION),
    e(options.sendingFacility ?? a?.receivingFacility),
    e(options.receivingApplication ?? a?.sendingApplication),
    e(options.receivingFacility ?? a?.sendingFacility),
    hl7Timestamp(now),
    '',
    `${type}^${event}^${structure}`,
    e(controlId),
    ANSWER_PROCESSING_ID,
    ANSWER_VERSION,
    '',
    '',
    '',
    '',
    ANSWER_COUNTRY,
    msh18For(charset),
  ]);
  const evn = segment(['EVN', '', hl7Timestamp(now), '', '', '', isoToDtm(result.at) ?? '']);
  const pid: string[] = ['PID', '1', '', cx(ipp, undefined, ANSWER_IDENTIFIER_TYPES.ipp), '', ''];
  if (PATIENT_NAME_ECHO.enabled && a?.patient?.nom) {
    pid[5] = `${e(a.patient.nom)}^${e(a.patient.prenom)}^^^^^${PATIENT_NAME_ECHO.nameType}`;
  }
  while (pid.length < 18) pid.push('');
  pid.push(cx(nda, ndaValue, ANSWER_IDENTIFIER_TYPES.nda)); // PID-18
  const pv1: string[] = ['PV1', '1', e(a?.venue?.patientClass) || DEFAULT_PATIENT_CLASS];
  while (pv1.length < 19) pv1.push('');
  pv1.push(cx(venue, venueValue, ANSWER_IDENTIFIER_TYPES.venue)); // PV1-19
  const zrc: string[] = [ZRC_SEGMENT];
  for (const spec of ZRC_FIELDS) {
    while (zrc.length <= spec.field) zrc.push('');
    zrc[spec.field] = zrcValue(spec, facts);
  }
  const text = [msh, evn, segment(pid), segment(pv1), segment(zrc)].join('\r') + '\r';
  return {
    controlId,
    service,
    status: result.status,
    technical: !!result.technical,
    orderingKey,
    text,
    bytes: encode(text, charset),
    charset,
    facts,
  };
}
