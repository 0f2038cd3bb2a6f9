/**
 * The message browser (GET /roc/ops/messages, GET /roc/ops/messages/:id): pure queries over the
 * Journal interface, and the masking of what a viewer sees.
 *
 * Search. The journal indexes the ordering key (`PV1-19:<venue>`, `PID-18:<NDA>`, `PID-3:<IPP>`),
 * the state and the reception time, not the patient identifiers (they are in the raw bytes only).
 * So:
 * - `venue` is an index probe (inbound_okey), paged by id;
 * - `state`, `from`/`to` use inbound_state / inbound_received, paged by id;
 * - `ipp`, `nda` and `amc` are read from the raw message (re-read with lib/hl7 `receive()`) over a
 *   **bounded scan**: at most `scanLimit` rows (default 5,000) per request, newest first, within
 *   the date range (at most 31 days; default the last 7 days). The page says how far it read
 *   (`scanned`, `next`): the caller asks again with `after=next` to read on. A hashed index column
 *   filled at intake would make these lookups O(log n) but needs the intake to hash identifiers
 *   (and a key to keep the hash from being reversed by enumerating NIR/IPP): left for later.
 *
 * Nothing here imports Node-RED.
 */
import type { InboundFilter, InboundRecord, InboundState, Journal, OutboundRecord, ServiceExchange } from '../store/journal';
import { INBOUND_STATES } from '../store/journal';
import { receive } from '../hl7/intake';
import type { Admission } from '../model/admission';
import { dossierKey, type DossierRecord } from '../dossier/dossier';
import { dossierView, maskId, maskText, type DossierView } from '../dossier/view';

export type OpsJournal = Pick<Journal, 'browse' | 'get' | 'exchanges' | 'browseOutbound' | 'getOutbound' | 'loadDossier'> &
  Partial<Pick<Journal, 'listInvoiceBilling'>>;

export interface MessageQuery {
  ipp?: string;
  nda?: string;
  venue?: string;
  amc?: string;
  states?: InboundState[];
  from?: Date;
  to?: Date;
  /** Default 50, at most 200. */
  limit: number;
  /** Ids strictly lower than this (newest first). */
  after?: number;
}

export const MAX_LIMIT = 200;
export const DEFAULT_SCAN_LIMIT = 5000;
const DAY = 86_400_000;
/** The longest date range a raw scan (ipp, nda, amc) may cover. */
export const MAX_SCAN_DAYS = 31;
export const DEFAULT_SCAN_DAYS = 7;

export class QueryError extends Error {}

const ID_RE = /^[A-Za-z0-9._\-/]{1,40}$/;

function date(v: string, end: boolean): Date {
  const m = /^(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z?)?$/.exec(v);
  if (!m) throw new QueryError('date attendue au format AAAA-MM-JJ ou AAAA-MM-JJThh:mm');
  const d = new Date(m[2] ? (v.endsWith('Z') ? v : v + 'Z') : m[1] + 'T00:00:00Z');
  if (Number.isNaN(d.getTime())) throw new QueryError('date invalide');
  // a bare end date includes its whole day
  return end && !m[2] ? new Date(d.getTime() + DAY) : d;
}

/** Checks and normalises the query string of GET /roc/ops/messages (throws QueryError with a French reason). */
export function parseMessageQuery(q: Record<string, unknown>, now: Date = new Date()): MessageQuery {
  const s = (k: string): string | undefined => {
    const v = q[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new QueryError(`paramètre ${k} répété ou invalide`);
    return v.trim();
  };
  const out: MessageQuery = { limit: 50 };
  for (const k of ['ipp', 'nda', 'venue'] as const) {
    const v = s(k);
    if (v === undefined) continue;
    if (!ID_RE.test(v)) throw new QueryError(`${k} : 1 à 40 caractères (lettres, chiffres, . _ - /)`);
    out[k] = v;
  }
  const amc = s('amc');
  if (amc !== undefined) {
    if (!/^\d{1,10}$/.test(amc)) throw new QueryError('amc : numéro AMC de 1 à 10 chiffres');
    out.amc = amc.padStart(10, '0');
  }
  const state = s('state');
  if (state !== undefined) {
    const states = state
      .split(',')
      .map((x) => x.trim().toUpperCase())
      .filter(Boolean);
    for (const st of states) if (!INBOUND_STATES.includes(st as InboundState)) throw new QueryError(`état inconnu : ${st.slice(0, 20)}`);
    out.states = states as InboundState[];
  }
  const from = s('from');
  const to = s('to');
  if (from !== undefined) out.from = date(from, false);
  if (to !== undefined) out.to = date(to, true);
  if (out.from && out.to && out.from >= out.to) throw new QueryError('from doit précéder to');
  const limit = s('limit');
  if (limit !== undefined) {
    if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1) throw new QueryError(`limit : 1 à ${MAX_LIMIT}`);
    out.limit = Math.min(MAX_LIMIT, Number(limit));
  }
  const after = s('after');
  if (after !== undefined) {
    if (!/^\d{1,15}$/.test(after)) throw new QueryError('after : le curseur next de la page précédente');
    out.after = Number(after);
  }
  if (needsScan(out)) {
    // a raw scan covers a bounded date range
    if (!out.to) out.to = new Date(now.getTime() + 60_000);
    if (!out.from) out.from = new Date(out.to.getTime() - DEFAULT_SCAN_DAYS * DAY);
    if (out.to.getTime() - out.from.getTime() > MAX_SCAN_DAYS * DAY) {
      throw new QueryError(`recherche par IPP, NDA ou AMC : ${MAX_SCAN_DAYS} jours au plus (from, to)`);
    }
  }
  return out;
}

function needsScan(q: Pick<MessageQuery, 'ipp' | 'nda' | 'amc'>): boolean {
  return q.ipp !== undefined || q.nda !== undefined || q.amc !== undefined;
}

/** One line of the list: the journal's index columns; the ordering key masked when it names the patient (IPP). */
export interface MessageSummary {
  id: number;
  receivedAt: string;
  channel: string;
  sender?: string;
  controlId?: string;
  event?: string;
  /** The venue number (PV1-19) or the masked NDA / IPP the message is ordered by. */
  venue?: string;
  venueSource?: 'PV1-19' | 'PID-18' | 'PID-3';
  state: InboundState;
  attempts: number;
  lastError?: string;
  resendOf?: number;
  duplicateOf?: number;
  size: number;
  purged?: true;
}

export interface MessagePage {
  items: MessageSummary[];
  /** Pass as `after` for the next page (absent: nothing more). */
  next?: number;
  /** Rows read for a raw search (ipp, nda, amc). */
  scanned?: number;
  /** True when the scan stopped at its bound before filling the page: `next` reads on. */
  partial?: boolean;
}

/** Splits an ordering key; NDA and IPP are masked unless `unmask`. */
export function venueOf(orderingKey: string | undefined, unmask = false): Pick<MessageSummary, 'venue' | 'venueSource'> {
  if (!orderingKey) return {};
  const i = orderingKey.indexOf(':');
  const source = orderingKey.slice(0, i) as MessageSummary['venueSource'];
  const value = orderingKey.slice(i + 1);
  if (source === 'PV1-19') return { venue: value, venueSource: source };
  if (source === 'PID-18' || source === 'PID-3') return { venue: unmask ? value : maskId(value), venueSource: source };
  return { venue: maskId(orderingKey) };
}

export function summaryOf(r: InboundRecord, unmask = false): MessageSummary {
  const s: MessageSummary = {
    id: r.id,
    receivedAt: r.receivedAt,
    channel: r.channel,
    state: r.state,
    attempts: r.attempts,
    size: r.size,
    ...venueOf(r.orderingKey, unmask),
  };
  const sender = [r.sendingApplication, r.sendingFacility].filter(Boolean).join('/');
  if (sender) s.sender = sender;
  if (r.controlId) s.controlId = r.controlId;
  if (r.event) s.event = r.event;
  if (r.lastError) s.lastError = r.lastError;
  if (r.resendOf) s.resendOf = r.resendOf;
  if (r.duplicateOf) s.duplicateOf = r.duplicateOf;
  if (r.purgedAt) s.purged = true;
  return s;
}

/** The message re-read from its raw bytes (undefined when purged or unreadable). */
export function admissionOf(raw: Buffer | undefined): Admission | undefined {
  if (!raw || !raw.length) return undefined;
  return receive(raw).admission;
}

function matches(a: Admission | undefined, q: MessageQuery): boolean {
  if (!a) return false;
  if (q.ipp !== undefined && a.patient.ipp?.value !== q.ipp) return false;
  if (q.nda !== undefined && a.venue?.nda?.value !== q.nda) return false;
  if (q.amc !== undefined && !a.coverages.some((c) => c.numeroAmc === q.amc)) return false;
  return true;
}

/**
 * One page of messages, newest first. `venue` is matched as `PV1-19:<venue>` (indexed); a raw
 * search reads at most `scanLimit` rows.
 */
export async function searchMessages(
  journal: Pick<Journal, 'browse' | 'get'>,
  q: MessageQuery,
  o: { scanLimit?: number; unmask?: boolean; now?: () => number } = {},
): Promise<MessagePage> {
  const base: InboundFilter = { order: 'desc' };
  if (q.states) base.states = q.states;
  if (q.venue !== undefined) base.orderingKey = `PV1-19:${q.venue}`;
  if (q.from) base.from = q.from;
  if (q.to) base.to = q.to;
  if (!needsScan(q)) {
    const rows = await journal.browse({ ...base, afterId: q.after, limit: q.limit + 1 });
    const more = rows.length > q.limit;
    const items = rows.slice(0, q.limit).map((r) => summaryOf(r, o.unmask));
    return more ? { items, next: items[items.length - 1].id } : { items };
  }
  const scanLimit = Math.max(1, o.scanLimit ?? DEFAULT_SCAN_LIMIT);
  const needles = [q.ipp, q.nda, q.amc?.replace(/^0+(?=.)/, '')]
    .filter((v): v is string => v !== undefined)
    .map((v) => Buffer.from(v, 'latin1'));
  // Ids follow the reception order: the scan walks the primary key downwards and stops below
  // `from` (handing browse the date range would make SQLite collect and sort the whole range).
  const walk: InboundFilter = { ...base };
  delete walk.from;
  delete walk.to;
  const from = q.from?.toISOString();
  const to = q.to?.toISOString();
  let cursor = q.after;
  if (cursor === undefined && q.to !== undefined && q.to.getTime() < (o.now ?? Date.now)() - 3600_000) {
    // a range that ends in the past: find its newest row once (a sort of the range), then the
    // primary key; a range ending now starts from the newest row at no cost
    const [top] = await journal.browse({ ...base, limit: 1 });
    if (!top) return { items: [], scanned: 0 };
    cursor = top.id + 1;
  }
  const items: MessageSummary[] = [];
  let scanned = 0;
  for (;;) {
    const batch = Math.min(500, scanLimit - scanned);
    const rows = await journal.browse({ ...walk, afterId: cursor, limit: batch });
    for (const r of rows) {
      scanned++;
      if (from !== undefined && r.receivedAt < from) return { items, scanned };
      cursor = r.id;
      if (to !== undefined && r.receivedAt >= to) continue;
      const full = await journal.get(r.id, { raw: true });
      // the value must be in the bytes (any charset keeps ASCII digits and letters): only then parse
      if (full?.raw && needles.every((n) => full.raw!.includes(n)) && matches(admissionOf(full.raw), q)) {
        items.push(summaryOf(r, o.unmask));
        if (items.length === q.limit) return { items, next: r.id, scanned };
      }
    }
    if (rows.length < batch) return { items, scanned };
    if (scanned >= scanLimit) return { items, next: cursor, scanned, partial: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Masking

const MASK = '•••';
/** Segments that carry the patient's identity, next of kin, guarantor or insured person. */
const IDENTITY_SEGMENTS = new Set(['PID', 'PD1', 'NK1', 'GT1', 'IN1', 'IN2', 'IN3', 'ROL', 'OBX', 'NTE', 'ZBE', 'AL1', 'DG1']);
/** Fields of IN1 that name the insurer, not the insured: kept (AMC number, plan, insurer name, coverage dates). */
const IN1_KEPT = new Set([1, 2, 3, 4, 12, 13, 15]);
/** PID-18 (NDA) shown with its last 3 characters, like the dossier view. */
const PID_NDA = 18;

/**
 * The raw message as text with the patient's identity replaced: every field of the identity
 * segments (PID, NK1, IN1…) becomes `•••` except the insurer fields of IN1, PID-18 keeps its
 * last 3 characters; MSH, EVN, PV1, FT1 and the bridge's Z segments stay as they are.
 */
export function maskRaw(text: string): string {
  const lines = text.split(/\r\n|\r|\n/);
  return lines
    .map((line) => {
      const seg = line.slice(0, 3);
      if (!IDENTITY_SEGMENTS.has(seg) || line.length <= 4) return line;
      const sep = line[3];
      const fields = line.split(sep);
      return fields
        .map((f, i) => {
          if (i === 0 || f === '') return f;
          if (seg === 'IN1' && IN1_KEPT.has(i)) return f;
          if (seg === 'PID' && (i === 1 || i === 8)) return f; // set id, sex
          if (seg === 'PID' && i === PID_NDA)
            return f
              .split('^')
              .map((c, j) => (j === 0 ? (maskId(c) ?? '') : c))
              .join('^');
          return MASK;
        })
        .join(sep);
    })
    .join('\r');
}

/** What the browser shows of the mapped admission: the patient masked (as the dossier view masks it). */
export function maskAdmission(a: Admission, unmask = false): unknown {
  if (unmask) return a;
  const p = a.patient;
  const patient: Record<string, unknown> = {};
  if (p.ipp) patient.ipp = maskId(p.ipp.value);
  if (p.ins) patient.ins = '•'.repeat(p.ins.value.length);
  if (p.nir) patient.nir = '•'.repeat(p.nir.value.length);
  if (p.nom) patient.nom = maskText(p.nom);
  if (p.prenom) patient.prenom = maskText(p.prenom);
  if (p.nomNaissance) patient.nomNaissance = maskText(p.nomNaissance);
  if (p.dateNaissance) patient.dateNaissance = p.dateNaissance.slice(0, 4) + '-••-••';
  if (p.sexe) patient.sexe = p.sexe;
  if (p.rangNaissance) patient.rangNaissance = p.rangNaissance;
  const venue = a.venue ? { ...a.venue } : undefined;
  if (venue?.nda) venue.nda = { ...venue.nda, value: maskId(venue.nda.value) ?? '' };
  const coverages = a.coverages.map((c) => {
    const m: Record<string, unknown> = { ...c };
    delete m.extras;
    if (c.numeroAdherent) m.numeroAdherent = maskId(c.numeroAdherent);
    if (c.numeroContrat) m.numeroContrat = maskId(c.numeroContrat);
    return m;
  });
  const out: Record<string, unknown> = { ...a, patient, coverages };
  if (venue) out.venue = venue;
  else delete out.venue;
  return out;
}

// ---------------------------------------------------------------------------------------------
// One message, each stage

export interface AnswerView {
  id: number;
  destination: string;
  state: OutboundRecord['state'];
  attempts: number;
  createdAt: string;
  sentAt?: string;
  ackedAt?: string;
  lastError?: string;
  /** The answer's ZRC outcome (service, status, code), read from the payload; never the PID. */
  zrc?: string;
}

export interface MessageDetail {
  message: MessageSummary;
  masque: boolean;
  /** Stage 1: the bytes received, as text, identity masked (absent once purged by retention). */
  raw?: string;
  /** Stage 2: the admission lib/hl7 maps from it (what roc-hl7-admission hands on), masked. */
  admission?: unknown;
  /** The issues the intake found (codes and places, no values). */
  issues?: Array<{ code: string; severity: string; message: string }>;
  /** Stage 3: the venue's dossier (state, every service exchange), masked like GET /roc/dossiers/:key. */
  dossier?: DossierView;
  dossierKey?: string;
  /** The service exchanges the intake recorded under the ordering key. */
  exchanges: ServiceExchange[];
  /** Stage 4: the answers queued to the GAP for this message. */
  answers: AnswerView[];
  /** Later copies of this message processed again (resend). */
  resends: number[];
  /** Stage 5: the dossier's invoices on their way to the AMC (DRE-ES file, ARL, return), when any. */
  billing?: BillingView[];
}

/** An invoice's billing as the browser shows it: numbers, states and amounts, no patient data. */
export interface BillingView {
  number: string;
  state: string;
  reason?: string;
  engagement?: string;
  amcCents?: number;
  fileNumber?: number;
  lotNumber?: number;
  sentAt?: string;
  acknowledgedAt?: string;
  settledAt?: string;
  paidCents?: number;
  rejection?: { code: string; label: string };
}

function zrcOf(payload: Buffer | undefined): string | undefined {
  if (!payload) return undefined;
  const zrc = payload
    .toString('latin1')
    .split(/\r|\n/)
    .find((l) => l.startsWith('ZRC'));
  if (!zrc) return undefined;
  // service, status, code: the first fields; bounded
  return zrc
    .split(zrc[3] ?? '|')
    .slice(1, 6)
    .join('|')
    .slice(0, 120);
}

export async function messageDetail(journal: OpsJournal, id: number, o: { unmask?: boolean } = {}): Promise<MessageDetail | undefined> {
  const rec = await journal.get(id, { raw: true });
  if (!rec) return undefined;
  const unmask = o.unmask === true;
  const detail: MessageDetail = { message: summaryOf(rec, unmask), masque: !unmask, exchanges: [], answers: [], resends: [] };
  if (rec.raw && rec.raw.length) {
    const intake = receive(rec.raw);
    const text = intake.text ?? rec.raw.toString('latin1');
    detail.raw = unmask ? text.split(/\r\n|\r|\n/).join('\r') : maskRaw(text);
    if (intake.admission) detail.admission = maskAdmission(intake.admission, unmask);
    if (intake.issues.length) detail.issues = intake.issues.map((i) => ({ code: i.code, severity: i.severity, message: i.message }));
    const key = intake.admission ? dossierKey(intake.admission)?.key : undefined;
    if (key) {
      detail.dossierKey = key;
      const d = (await journal.loadDossier(key)) as DossierRecord | undefined;
      if (d) detail.dossier = dossierView(d, { unmask });
      if (journal.listInvoiceBilling) {
        const invoices = await journal.listInvoiceBilling({ key, limit: 50 });
        if (invoices.length) {
          detail.billing = invoices.map((b) => {
            const v: BillingView = { number: b.number, state: b.state };
            for (const k of [
              'reason',
              'engagement',
              'amcCents',
              'fileNumber',
              'lotNumber',
              'sentAt',
              'acknowledgedAt',
              'settledAt',
              'paidCents',
            ] as const)
              if (b[k] !== undefined) (v as unknown as Record<string, unknown>)[k] = b[k];
            if (b.rejection) v.rejection = { code: b.rejection.code, label: b.rejection.label };
            return v;
          });
        }
      }
    }
  }
  // index outbound_inbound (schema 4): the answers of this message, whatever their destination
  for (const a of await journal.browseOutbound({ inboundId: id, limit: 100 })) {
    detail.answers.push(answerView((await journal.getOutbound(a.id, { payload: true })) ?? a));
  }
  if (rec.orderingKey) {
    detail.exchanges = (await journal.exchanges(rec.orderingKey)).slice(-200);
    const later = await journal.browse({ orderingKey: rec.orderingKey, afterId: id, limit: 1000 });
    detail.resends = later.filter((r) => r.resendOf === id).map((r) => r.id);
  }
  return detail;
}

function answerView(a: OutboundRecord): AnswerView {
  const v: AnswerView = {
    id: a.id,
    destination: a.destination,
    state: a.state,
    attempts: a.attempts,
    createdAt: a.createdAt,
  };
  if (a.sentAt) v.sentAt = a.sentAt;
  if (a.ackedAt) v.ackedAt = a.ackedAt;
  if (a.lastError) v.lastError = a.lastError;
  const zrc = zrcOf(a.payload);
  if (zrc) v.zrc = zrc;
  return v;
}
