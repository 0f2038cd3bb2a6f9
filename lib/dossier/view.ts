/**
 * What the dossier endpoints show (GET /roc/dossiers/:key): the timeline of one dossier — its
 * state changes, every service exchange, its flags — with the patient's identity masked unless the
 * caller may unmask (role admin, permission roc.patient.unmask). Pure functions.
 */
import type { DossierRecord, DossierIdentite } from './dossier';
import { EVENT_LABELS, STATE_LABELS, type DossierState } from './states';

/** "MARTIN" → "M•••••"; keeps the first character and the length. */
export function maskText(v: string | undefined): string | undefined {
  if (!v) return v;
  const chars = [...v];
  return chars[0] + '•'.repeat(Math.max(1, chars.length - 1));
}

/** Identifiers keep their last 3 characters (an operator matches them to the GAP's screen). */
export function maskId(v: string | undefined): string | undefined {
  if (!v) return v;
  return v.length <= 3 ? '•••' : '•'.repeat(v.length - 3) + v.slice(-3);
}

/**
 * An ordering key as shown to a viewer: `PID-3:<IPP>` keeps the IPP's last 3 characters
 * (`PID-3:••••••321`); the venue (`PV1-19:`) and NDA (`PID-18:`) keys are shown as they are (the
 * operator releases a venue by them).
 */
export function maskOrderingKey(key: string): string;
export function maskOrderingKey(key: string | undefined): string | undefined;
export function maskOrderingKey(key: string | undefined): string | undefined {
  if (!key || !key.startsWith('PID-3:')) return key;
  return 'PID-3:' + maskId(key.slice('PID-3:'.length) || '•');
}

export function maskIdentite(i: DossierIdentite): DossierIdentite {
  const out: DossierIdentite = {};
  if (i.ipp) out.ipp = maskId(i.ipp);
  if (i.ins) out.ins = '•'.repeat(i.ins.length);
  if (i.nir) out.nir = '•'.repeat(i.nir.length);
  if (i.nom) out.nom = maskText(i.nom);
  if (i.prenom) out.prenom = maskText(i.prenom);
  if (i.nomNaissance) out.nomNaissance = maskText(i.nomNaissance);
  if (i.dateNaissance) out.dateNaissance = i.dateNaissance.slice(0, 4) + '-••-••';
  return out;
}

export interface TimelineEntry {
  at: string;
  kind: 'ETAT' | 'ECHANGE' | 'DRAPEAU';
  /** French, for the operator; no patient data. */
  texte: string;
  [k: string]: unknown;
}

export interface DossierView {
  cle: string;
  etat: DossierState;
  libelle: string;
  droits: DossierRecord['droits'];
  identite: DossierIdentite;
  masque: boolean;
  numeroAmc?: string;
  sejour: DossierRecord['sejour'];
  facture?: { numero: string; lignes: number; montant: number };
  engagements: DossierRecord['engagements'];
  enCours: DossierRecord['enCours'];
  reverification?: DossierRecord['reverification'];
  idbValidite?: string;
  drapeaux: DossierRecord['drapeaux'];
  chronologie: TimelineEntry[];
  creeLe: string;
  majLe: string;
}

export function dossierView(d: DossierRecord, o: { unmask?: boolean } = {}): DossierView {
  const sejour = { ...d.sejour };
  if (!o.unmask && sejour.nda) sejour.nda = maskId(sejour.nda);
  const chronologie: TimelineEntry[] = [
    ...d.historique.map((h) => ({
      at: h.at,
      kind: 'ETAT' as const,
      texte:
        h.from === h.to
          ? `${EVENT_LABELS[h.event]} (${STATE_LABELS[h.to]})`
          : `${EVENT_LABELS[h.event]} : ${STATE_LABELS[h.from]} → ${STATE_LABELS[h.to]}`,
      evenement: h.event,
      de: h.from,
      vers: h.to,
    })),
    ...d.echanges.map((x) => ({
      kind: 'ECHANGE' as const,
      texte: `${x.service.toUpperCase()} ${x.technical && x.status === 'KO' ? 'KO technique' : x.status}${x.code ? ` (${x.code})` : ''}${x.engagement ? ` · engagement ${x.engagement}` : ''} · ${Math.round(x.latencyMs)} ms${x.contradiction ? ` · contradiction : ${x.contradiction}` : ''}`,
      ...x,
    })),
    ...d.drapeaux.map((f) => ({ at: f.at, kind: 'DRAPEAU' as const, texte: f.motif, code: f.code })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const view: DossierView = {
    cle: d.key,
    etat: d.etat,
    libelle: STATE_LABELS[d.etat],
    droits: d.droits,
    identite: o.unmask ? d.identite : maskIdentite(d.identite),
    masque: !o.unmask,
    sejour,
    engagements: d.engagements,
    enCours: d.enCours,
    drapeaux: d.drapeaux,
    chronologie,
    creeLe: d.creeLe,
    majLe: d.majLe,
  };
  if (d.couverture?.numeroAmc) view.numeroAmc = d.couverture.numeroAmc;
  if (d.facture)
    view.facture = {
      numero: d.facture.numero,
      lignes: d.facture.lignes.length,
      montant: Math.round(d.facture.lignes.reduce((s, l) => s + l.quantite * l.prixUnitaire, 0) * 100) / 100,
    };
  if (d.reverification) view.reverification = d.reverification;
  if (d.idbValidite) view.idbValidite = d.idbValidite;
  return view;
}
