/**
 * The operations event: what a ROC node tells the event stream (MQTT, metrics) about one step of
 * the work. Versioned (`v`); a consumer ignores fields it does not know. Built from a whitelist:
 * every field has a narrow shape (codes, numbers, AMC number, an opaque dossier id), so no patient
 * identifier (NIR, name, birth date, IPP) can travel in an event — a value that does not fit its
 * shape is dropped, never published.
 *
 * Pure TypeScript: no Node-RED import.
 */
import { EVENTS as DOSSIER_EVENTS, STATES as DOSSIER_STATES } from '../dossier/states';

export const EVENT_SCHEMA_VERSION = 1 as const;

export const EVENT_KINDS = ['received', 'acknowledged', 'sent', 'answered', 'failed', 'queue', 'state'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_SERVICES = ['annuaire', 'idb', 'sim', 'clc', 'del'] as const;
export type EventService = (typeof EVENT_SERVICES)[number];

export interface RocEvent {
  /** Schema version (1). */
  v: typeof EVENT_SCHEMA_VERSION;
  /** Unique event id (UUID). */
  id: string;
  /** When (ISO 8601, UTC). */
  at: string;
  /** FINESS géographique of the site (9 characters), when known. */
  finess?: string;
  /** Node type (roc-idb, roc-mllp-in…). */
  node: string;
  /** Node id in the flow. */
  nodeId: string;
  event: EventKind;
  /** ROC service (answered, failed of a service node). */
  service?: EventService;
  outcome?: 'OK' | 'KO';
  /** A technical KO (AMC unreachable, timeout, unreadable answer), not the AMC's decision. */
  technical?: boolean;
  /** A code: the AMC's or the bridge's (BR-…), the HL7 ACK code (AA, AE, AR, CA…), an error code. */
  code?: string;
  latencyMs?: number;
  /** Numéro AMC (10 digits): the insurer, not the patient. */
  amc?: string;
  /** The dossier: an opaque id (HMAC of its key), or the venue number where the site allows it. */
  dossier?: string;
  /** The dossier's new state (event `state`). */
  state?: string;
  /** Which queue `queueDepth` measures: one of {@link EVENT_QUEUES}. */
  queue?: string;
  queueDepth?: number;
  /** Attempts so far (an answer to the GAP sent again). */
  attempts?: number;
}

/** What an emitter gives: the event without its envelope; the dossier by its key (turned into an id). */
export interface EventInput {
  node: string;
  nodeId: string;
  event: EventKind;
  finess?: unknown;
  service?: unknown;
  outcome?: unknown;
  technical?: unknown;
  code?: unknown;
  latencyMs?: unknown;
  amc?: unknown;
  /** The dossier key (`<finess>/V/<venue>` or `<finess>/N/<nda>`): never published as such. */
  dossierKey?: unknown;
  state?: unknown;
  queue?: unknown;
  queueDepth?: unknown;
  attempts?: unknown;
}

const NODE_RE = /^roc-[a-z0-9-]{1,40}$/;
const NODE_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const FINESS_RE = /^\d[0-9AB]\d{7}$/;
const CODE_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$/;

export const EVENT_QUEUES = ['held', 'inflight', 'outbound', 'error', 'recheck'] as const;

/**
 * Codes made of letters only that an event may carry: a word could be a name, so only these pass
 * (HL7 ACK codes, the dossier's events, the nodes' own codes, network error codes).
 */
export const LETTER_CODES: ReadonlySet<string> = new Set([
  'AA',
  'AE',
  'AR',
  'CA',
  'CE',
  'CR',
  'OK',
  'KO',
  'INTERNAL',
  'HELD',
  'ERROR_QUEUE',
  'REFUSED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
  'EADDRINUSE',
  'EACCES',
  ...DOSSIER_EVENTS,
]);

/**
 * A code, or undefined. Kept: a bridge code (`BR-…`), a listed letter code, or a short code with
 * a digit (AMC codes `6001`, HL7 error `204`, message type `ADT_A01`) that could not be a NIR, a
 * date or a patient number (no run of 5 digits or more, no date form). A name never passes.
 */
export function safeCode(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v).trim();
  if (!CODE_RE.test(s)) return undefined;
  if (/^BR-[A-Z]+(-[A-Z]+)*$/.test(s) || LETTER_CODES.has(s)) return s;
  if (!/\d/.test(s)) return undefined;
  if (/\d{5,}/.test(s) || /\d{1,4}[-./_:]\d{1,2}[-./_:]\d{1,4}/.test(s)) return undefined;
  return s;
}

/** A numéro AMC, zero-padded to 10 digits, or undefined. */
export function safeAmc(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v).trim();
  return /^\d{1,10}$/.test(s) ? s.padStart(10, '0') : undefined;
}

export function safeFiness(v: unknown): string | undefined {
  return typeof v === 'string' && FINESS_RE.test(v.trim()) ? v.trim() : undefined;
}

/** A count the node computed (a number, never a text that could be a date), below `max`. */
function count(v: unknown, max: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < max ? v : undefined;
}

/**
 * The event from an emitter's input: envelope added, each field kept only when it has its shape.
 * `dossier` is the id computed by the caller from the key (see DossierIds). Undefined when the
 * input is not an event (unknown kind, node or node id).
 */
export function buildEvent(input: EventInput, envelope: { id: string; at: string; dossier?: string }): RocEvent | undefined {
  if (!input || typeof input !== 'object') return undefined;
  if (!(EVENT_KINDS as readonly string[]).includes(input.event)) return undefined;
  if (typeof input.node !== 'string' || !NODE_RE.test(input.node)) return undefined;
  if (typeof input.nodeId !== 'string' || !NODE_ID_RE.test(input.nodeId)) return undefined;
  const e: RocEvent = {
    v: EVENT_SCHEMA_VERSION,
    id: envelope.id,
    at: envelope.at,
    node: input.node,
    nodeId: input.nodeId,
    event: input.event,
  };
  const finess = safeFiness(input.finess);
  if (finess) e.finess = finess;
  const service = typeof input.service === 'string' ? input.service.toLowerCase() : undefined;
  if (service && (EVENT_SERVICES as readonly string[]).includes(service)) e.service = service as EventService;
  if (input.outcome === 'OK' || input.outcome === 'KO') e.outcome = input.outcome;
  if (typeof input.technical === 'boolean') e.technical = input.technical;
  const code = safeCode(input.code);
  if (code) e.code = code;
  if (typeof input.latencyMs === 'number' && Number.isFinite(input.latencyMs) && input.latencyMs >= 0)
    e.latencyMs = Math.round(input.latencyMs * 10) / 10;
  const amc = safeAmc(input.amc);
  if (amc) e.amc = amc;
  if (envelope.dossier) e.dossier = envelope.dossier;
  if (typeof input.state === 'string' && (DOSSIER_STATES as readonly string[]).includes(input.state)) e.state = input.state;
  if (typeof input.queue === 'string' && (EVENT_QUEUES as readonly string[]).includes(input.queue)) e.queue = input.queue;
  const depth = count(input.queueDepth, 1e7);
  if (depth !== undefined) e.queueDepth = depth;
  const attempts = count(input.attempts, 1e4);
  if (attempts !== undefined) e.attempts = attempts;
  return e;
}
