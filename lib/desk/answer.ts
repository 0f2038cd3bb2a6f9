/**
 * The answer the desk page shows: a verdict (OK / KO / LECTURE / SAISIE / TECHNIQUE) with a title,
 * a reason in the clerk's words and what to do, then the AMC, the attestation, the rights and the
 * quote; plus the whole dossier (`roc`) for integrators. The tables below are the desk's wording:
 * change them here, the page only lays them out.
 *
 * Texts for the clerk: French, typographic apostrophes (’), a plain space before « : » and « ; »
 * as on the rest of the page, durations in seconds; never a bridge setting name or a millisecond
 * count (the technical detail stays in `roc.<service>.reason` for the support).
 */
import type { ActionGap, RocMessage, ServiceResult } from '../model/dossier';

export type Verdict = 'OK' | 'KO' | 'LECTURE' | 'SAISIE' | 'TECHNIQUE';
export type Etape = 'attestation' | 'patient' | 'annuaire' | 'idb';

export interface Guichet {
  verdict: Verdict;
  titre: string;
  motif?: string;
  conseil?: string;
  code?: string;
  etape: Etape;
  /** How the attestation came: `texte` (hand scanner) or `image` (photo). */
  source?: string;
  /** Time from the request to the answer, in ms (the page shows it in seconds). */
  dureeMs?: number;
}

/** What to do, by the action the error catalogue gives the AMC's message. */
export const CONSEIL: Readonly<Record<'FACTURER_PATIENT' | 'CORRIGER' | 'TRAITEMENT_MANUEL' | 'REESSAYER', string>> = Object.freeze({
  FACTURER_PATIENT: 'Pas de tiers payant complémentaire : la part complémentaire sera facturée au patient.',
  CORRIGER: 'Vérifiez l’identité saisie et l’attestation avec le patient, puis scannez à nouveau.',
  TRAITEMENT_MANUEL: 'Contrôle manuel : vérifiez l’attestation papier avec le patient.',
  REESSAYER: 'L’admission n’est pas bloquée : enregistrez-la, la vérification des droits sera refaite plus tard.',
});

/** Titles of a KO (the AMC's decision), by action; the annuaire's own titles by code. */
export const TITRE_KO: Readonly<Partial<Record<ActionGap, string>>> = Object.freeze({
  FACTURER_PATIENT: 'Droits non ouverts',
  CORRIGER: 'Données à corriger',
  TRAITEMENT_MANUEL: 'Contrôle manuel requis',
});
export const TITRE_KO_DEFAUT = 'Droits non confirmés';
export const TITRE_ANNUAIRE = Object.freeze({ horsRoc: 'AMC hors ROC', introuvable: 'AMC introuvable' });

/** Fixed verdicts (title, reason, advice). */
export const VERDICTS = Object.freeze({
  lecture: { titre: 'Attestation non lue', motif: 'Lecture impossible.' },
  saisie: {
    titre: 'Patient à compléter',
    motif: (manque: readonly string[]) => `Attestation lue. Pour interroger l’AMC, indiquez ${manque.join(' ; ')}.`,
  },
  ok: { titre: 'Droits ouverts', motif: 'L’AMC prend en charge la part complémentaire pour ce séjour (tiers payant).' },
  technique: { annuaire: 'Annuaire des AMC injoignable', service: 'AMC injoignable' },
  incidentAmc: { titre: 'Incident chez l’AMC' },
  sansReponse: { titre: 'Pas de réponse des droits', motif: 'La vérification des droits n’a pas abouti.' },
  devisVide: 'Rien à chiffrer : indiquez le tarif du séjour (GHS) ou un nombre de nuits.',
});

/** Typographic apostrophes in a text from elsewhere (error catalogue, AMC labels). */
export function typo(text: string): string;
export function typo(text: string | undefined): string | undefined;
export function typo(text: string | undefined): string | undefined {
  return text === undefined ? undefined : text.replace(/(\p{L})'(?=\p{L})/gu, '$1’');
}

/** "(2 essais en 10 s)": how long the clerk waited and how often the bridge tried; '' if instant and once. */
export function attente(r: Pick<ServiceResult, 'attempts' | 'latencyMs'>): string {
  const essais = r.attempts > 1 ? `${r.attempts} essais` : '';
  const s = typeof r.latencyMs === 'number' && r.latencyMs >= 1000 ? `${Math.round(r.latencyMs / 1000)} s` : '';
  if (essais && s) return ` (${essais} en ${s})`;
  if (essais) return ` (${essais})`;
  if (s) return ` (après ${s})`;
  return '';
}

type Obj = Record<string, unknown>;
type Result = ServiceResult & Obj;

/** The verdict for a service that did not answer OK (annuaire or IDB). */
export function verdictKo(r: Result, etape: 'annuaire' | 'idb'): Guichet {
  const m: Partial<RocMessage> = r.messages?.[0] ?? {};
  if (r.technical) {
    // The catalogue's label in plain French, and how long the clerk waited; never the bridge's
    // settings or a millisecond count (those stay in roc.<service>.reason for the support).
    const motif = typo(m.libelle ?? 'Pas de réponse exploitable') + attente(r) + '.';
    return {
      verdict: 'TECHNIQUE',
      titre: etape === 'annuaire' ? VERDICTS.technique.annuaire : VERDICTS.technique.service,
      motif,
      code: m.code,
      etape,
      conseil: CONSEIL.REESSAYER,
    };
  }
  if (m.action === 'REESSAYER') {
    // A technical incident the AMC itself reports (e.g. 0999): not a refusal of the rights.
    return {
      verdict: 'TECHNIQUE',
      titre: VERDICTS.incidentAmc.titre,
      motif: typo(r.reason),
      code: m.code,
      etape,
      conseil: CONSEIL.REESSAYER,
    };
  }
  let titre = (m.action && TITRE_KO[m.action]) || TITRE_KO_DEFAUT;
  if (etape === 'annuaire') titre = m.code === 'BR-NOT-ROC' ? TITRE_ANNUAIRE.horsRoc : TITRE_ANNUAIRE.introuvable;
  const conseil = m.action && m.action in CONSEIL ? CONSEIL[m.action as keyof typeof CONSEIL] : undefined;
  return { verdict: 'KO', titre, motif: typo(r.reason), code: m.code, etape, conseil };
}

/** What the desk nodes keep on `msg.desk` between the request and the answer. */
export interface DeskState {
  /** Date.now() when the request came in. */
  t0?: number;
  /** What the clerk must complete (the dossier was not built). */
  saisie?: string[];
  /** A quote was asked with nothing to price. */
  devisVide?: boolean;
}

export interface DeskAnswer {
  guichet: Guichet;
  amc?: { numeroAmc?: unknown; typeConvention?: unknown; csr?: unknown; nom?: unknown; operateur?: unknown };
  attestation: Obj;
  droits?: Obj;
  devis?: Obj;
  roc: Obj;
}

const asObj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

/** The verdict alone, from the dossier as the flow left it. */
export function verdict(roc: Obj, desk: DeskState): Guichet {
  const att = asObj(roc.attestation);
  const annuaire = roc.annuaire as Result | undefined;
  const idb = roc.idb as Result | undefined;
  if (att.status !== 'OK') {
    return {
      verdict: 'LECTURE',
      titre: VERDICTS.lecture.titre,
      motif: typo((att.reason as string | undefined) || VERDICTS.lecture.motif),
      code: att.code as string | undefined,
      etape: 'attestation',
    };
  }
  if (desk.saisie) return { verdict: 'SAISIE', titre: VERDICTS.saisie.titre, motif: VERDICTS.saisie.motif(desk.saisie), etape: 'patient' };
  if (annuaire && annuaire.status !== 'OK') return verdictKo(annuaire, 'annuaire');
  if (idb && idb.status !== 'OK') return verdictKo(idb, 'idb');
  if (idb) return { verdict: 'OK', titre: VERDICTS.ok.titre, motif: VERDICTS.ok.motif, etape: 'idb' };
  return {
    verdict: 'TECHNIQUE',
    titre: VERDICTS.sansReponse.titre,
    motif: VERDICTS.sansReponse.motif,
    etape: 'idb',
    conseil: CONSEIL.REESSAYER,
  };
}

/** The whole answer of POST /desk/scan. `now`: Date.now() when answering. */
export function deskAnswer(rocIn: unknown, deskIn: unknown, now: number = Date.now()): DeskAnswer {
  const roc = asObj(rocIn);
  const desk = asObj(deskIn) as DeskState;
  const att = asObj(roc.attestation);
  const g = verdict(roc, desk);
  g.source = att.source as string | undefined;
  g.dureeMs = desk.t0 ? now - desk.t0 : undefined;

  const annuaire = asObj(roc.annuaire);
  const an = asObj(annuaire.amc);
  const rocAmc = roc.amc ? asObj(roc.amc) : undefined;
  const amc = rocAmc
    ? { numeroAmc: rocAmc.numeroAmc, typeConvention: rocAmc.typeConvention, csr: rocAmc.csr, nom: an.nom, operateur: an.operateur }
    : undefined;
  const messages = (v: unknown): string[] => (Array.isArray(v) ? v.map((w) => typo(String(asObj(w).message))) : []);
  const attestation: Obj =
    att.status === 'OK'
      ? {
          debutValidite: att.debutValidite,
          finValidite: att.finValidite,
          typesConvention: att.typesConvention,
          avertissements: messages(att.warnings),
          corrections: messages(att.repairs),
        }
      : { code: att.code, motif: typo(att.reason as string | undefined) };

  let droits: Obj | undefined;
  const idb = asObj(roc.idb);
  if (idb.status === 'OK') {
    const c = asObj(idb.couverture);
    droits = {
      numeroContrat: c.numeroContrat,
      periodes: c.periodes || [],
      domaines: c.domaines || [],
      dateValidite: idb.dateValidite,
      consignes: idb.consignes || [],
    };
  }

  let devis: Obj | undefined;
  if (desk.devisVide) devis = { status: 'KO', motif: VERDICTS.devisVide };
  else if (roc.sim) {
    const s = asObj(roc.sim);
    const parNumero: Record<string, Obj> = {};
    for (const l of (Array.isArray(s.lignes) ? s.lignes : []) as Obj[]) parNumero[String(l.numero)] = l;
    const demandees = asObj(roc.devis).lignes;
    devis = {
      status: s.status,
      motif: s.status === 'OK' ? undefined : typo(s.reason as string | undefined),
      montants: s.montants,
      lignes: (Array.isArray(demandees) ? (demandees as Obj[]) : []).map((l) => ({ ...l, ...(parNumero[String(l.numero)] ?? {}) })),
      consignes: s.consignes || [],
    };
  }
  return { guichet: g, amc, attestation, droits, devis, roc };
}
