/**
 * HPRIM acknowledgements: `acquittementsPatients` (HPRIM XML) and an HPRIM Santé acknowledgement
 * / ERR file. Both name the acknowledged message and list observations (code, libellé, place);
 * observation texts are the readers' messages, which never carry patient data. Layouts: profile.ts
 * ACK_XML and SANTE_ACK ([profile]).
 */
import * as iconv from 'iconv-lite';
import type { Charset } from '../model/charset';
import { ACK_STATUS, ACK_XML, ACK_XML_VERSION, DEFAULT_DELIMITERS, HPRIM_XML_NS, SANTE_ACK } from './profile';
import type { HprimIssue, HprimReadResult } from './types';

export type AckStatut = (typeof ACK_STATUS)[keyof typeof ACK_STATUS];

export interface AckObservation {
  code: string;
  libelle: string;
  /** Where: "ligne 3, enregistrement P, champ 24" or an element path. */
  location?: string;
  /** Default: error. */
  severity?: 'error' | 'warning';
}

export interface AckInput {
  /** identifiantMessage / H-3 of the message acknowledged. */
  acknowledgedId: string;
  statut: AckStatut;
  observations?: AckObservation[];
  /** Our application code (default ROCBRIDGE). */
  emetteur?: string;
  /** The sender of the acknowledged message. */
  destinataire?: string;
  /** Identifier of the acknowledgement itself (default ACK-<acknowledgedId>). */
  identifiantMessage?: string;
  now?: Date;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function localIso(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function hprimDate(d: Date): string {
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

/** The place of an issue, in words. */
export function locationOf(i: HprimIssue): string | undefined {
  const parts: string[] = [];
  if (i.line !== undefined) parts.push(`ligne ${i.line}`);
  if (i.record) parts.push(i.record.includes('/') || i.record.includes('[') ? `élément ${i.record}` : `enregistrement ${i.record}`);
  if (i.field !== undefined) parts.push(`champ ${i.field}`);
  return parts.length ? parts.join(', ') : undefined;
}

/** Observations and statut for a reader result. */
export function observationsFor(result: HprimReadResult): { statut: AckStatut; observations: AckObservation[] } {
  const obs: AckObservation[] = [
    ...result.errors.map((e) => ({ code: e.code, libelle: e.message, location: locationOf(e), severity: 'error' as const })),
    ...result.warnings.map((w) => ({ code: w.code, libelle: w.message, location: locationOf(w), severity: 'warning' as const })),
  ];
  const statut = !result.ok ? ACK_STATUS.erreur : result.warnings.length ? ACK_STATUS.avertissement : ACK_STATUS.ok;
  return { statut, observations: obs };
}

function agent(code: string): string {
  return `<agents><agent categorie="application"><code>${esc(code)}</code></agent></agents>`;
}

/** Build an acquittementsPatients document (UTF-8). */
export function buildAcquittementsPatients(input: AckInput): string {
  const A = ACK_XML;
  const now = input.now ?? new Date();
  const id = input.identifiantMessage ?? `ACK-${input.acknowledgedId}`;
  let x = '<?xml version="1.0" encoding="UTF-8"?>';
  x += `<${A.root} xmlns="${HPRIM_XML_NS}" version="${ACK_XML_VERSION}">`;
  x += `<${A.entete} ${A.statutAttr}="${esc(input.statut)}">`;
  x += `<${A.identifiantMessage}>${esc(id)}</${A.identifiantMessage}>`;
  x += `<${A.dateHeureProduction}>${localIso(now)}</${A.dateHeureProduction}>`;
  x += `<${A.emetteur}>${agent(input.emetteur ?? 'ROCBRIDGE')}</${A.emetteur}>`;
  if (input.destinataire) x += `<${A.destinataire}>${agent(input.destinataire)}</${A.destinataire}>`;
  x += `<${A.identifiantMessageAcquitte}>${esc(input.acknowledgedId)}</${A.identifiantMessageAcquitte}>`;
  x += `</${A.entete}>`;
  const obs = input.observations ?? [];
  if (obs.length) {
    x += `<${A.observations}>`;
    for (const o of obs) {
      x += `<${A.observation} ${A.statutAttr}="${o.severity === 'warning' ? ACK_STATUS.avertissement : ACK_STATUS.erreur}">`;
      x += `<${A.code}>${esc(o.code)}</${A.code}><${A.libelle}>${esc(o.libelle)}</${A.libelle}>`;
      if (o.location) x += `<${A.commentaire}>${esc(o.location)}</${A.commentaire}>`;
      x += `</${A.observation}>`;
    }
    x += `</${A.observations}>`;
  }
  return x + `</${A.root}>`;
}

/** acquittementsPatients answering a readHprimXml() result. */
export function ackXmlFor(result: HprimReadResult, options: { emetteur?: string; now?: Date } = {}): string {
  const { statut, observations } = observationsFor(result);
  return buildAcquittementsPatients({
    acknowledgedId: result.messageId ?? '',
    statut,
    observations,
    emetteur: options.emetteur,
    destinataire: result.sender,
    now: options.now,
  });
}

/** Escape a value for an HPRIM Santé field written with the default delimiters. */
export function escapeHprim(s: string): string {
  const d = DEFAULT_DELIMITERS;
  const map: Record<string, string> = { [d.escape]: 'E', [d.field]: 'F', [d.component]: 'S', [d.repetition]: 'R', [d.subcomponent]: 'T' };
  return s.replace(/[\\|~^&\r\n]/g, (c) => (c === '\r' || c === '\n' ? ' ' : `${d.escape}${map[c]}${d.escape}`));
}

export interface SanteAckInput extends AckInput {
  /** Observations carry line/record/field here (written as ligne~enregistrement~champ). */
  issues?: HprimIssue[];
  /** Output charset (default ISO 8859-15, the HPRIM Santé habit). */
  charset?: Charset;
}

export interface SanteAck {
  text: string;
  bytes: Buffer;
  /** Suggested file name: <acknowledged id>.ERR when refused, .ACK otherwise. */
  fileName: string;
}

/**
 * HPRIM Santé acknowledgement file ([profile] SANTE_ACK): H (type ACK or ERR), one ERR record per
 * observation (one `OK` record when there is none), L with the counts. CR line ends.
 */
export function buildSanteAck(input: SanteAckInput): SanteAck {
  const now = input.now ?? new Date();
  const refused = input.statut === ACK_STATUS.erreur;
  const type = refused ? SANTE_ACK.typeRefused : SANTE_ACK.typeAccepted;
  const d = DEFAULT_DELIMITERS;
  const id = input.identifiantMessage ?? `${input.acknowledgedId}.${type}`;
  const h = [
    'H',
    `${d.component}${d.repetition}${d.escape}${d.subcomponent}`,
    escapeHprim(id),
    '',
    escapeHprim(input.emetteur ?? 'ROCBRIDGE'),
    '',
    type,
    '',
    '',
    escapeHprim(input.destinataire ?? ''),
    '',
    'P',
    SANTE_ACK.version,
    hprimDate(now),
  ];
  const lines = [h.join(d.field)];
  const acked = escapeHprim(input.acknowledgedId);
  const issues = input.issues ?? [];
  if (issues.length === 0 && !(input.observations ?? []).length) {
    lines.push([SANTE_ACK.errRecord, '1', acked, SANTE_ACK.status.ok, '0', 'Fichier accepté', ''].join(d.field));
  }
  issues.forEach((i, k) => {
    const status = i.severity === 'warning' ? SANTE_ACK.status.warning : SANTE_ACK.status.error;
    const place = [i.line ?? '', escapeHprim(i.record ?? ''), i.field ?? ''].join(d.component).replace(/~+$/, '');
    lines.push([SANTE_ACK.errRecord, String(k + 1), acked, status, escapeHprim(i.code), escapeHprim(i.message), place].join(d.field));
  });
  (input.observations ?? []).forEach((o, k) => {
    const status = o.severity === 'warning' ? SANTE_ACK.status.warning : SANTE_ACK.status.error;
    lines.push(
      [
        SANTE_ACK.errRecord,
        String(issues.length + k + 1),
        acked,
        status,
        escapeHprim(o.code),
        escapeHprim(o.libelle),
        escapeHprim(o.location ?? ''),
      ].join(d.field),
    );
  });
  lines.push(['L', '1', '', '0', String(lines.length + 1)].join(d.field));
  const text = lines.join('\r') + '\r';
  const charset = input.charset ?? 'iso-8859-15';
  return { text, bytes: iconv.encode(text, charset), fileName: `${input.acknowledgedId || 'inconnu'}.${type}` };
}

/** HPRIM Santé acknowledgement answering a readHprimSante() result. */
export function santeAckFor(result: HprimReadResult, options: { emetteur?: string; now?: Date; charset?: Charset } = {}): SanteAck {
  const { statut } = observationsFor(result);
  const issues = [
    ...result.errors.map((e) => ({ ...e, severity: 'error' as const })),
    ...result.warnings.map((w) => ({ ...w, severity: 'warning' as const })),
  ];
  return buildSanteAck({
    acknowledgedId: result.messageId ?? '',
    statut,
    issues,
    emetteur: options.emetteur,
    destinataire: result.sender,
    now: options.now,
    charset: options.charset ?? (result.charset === 'utf8' ? 'utf8' : 'iso-8859-15'),
  });
}
