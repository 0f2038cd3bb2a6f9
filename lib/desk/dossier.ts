/**
 * The desk's dossier: the patient and the stay the clerk typed (they are not in the DataMatrix),
 * checked and turned into the `msg.roc` parts the services read (`beneficiaire`, `venue`, and the
 * quote lines `devis` for SIM), priced with the site's tariffs.
 *
 * Anything missing or wrong is not an error: it is a list of what to ask the clerk (`saisie`),
 * each item a French phrase completing "indiquez …".
 */
import type { Beneficiaire, Ligne, Venue } from '../model/dossier';
import { NIR_PATTERN, nirKeyMatches, normaliseNir } from '../model/nir';
import { PROFILE } from '../sel/profile';
import type { DeskForm } from './request';

/** The site's tariffs for the quote (SIM). Defaults: the values the shipped flow always used. */
export interface DeskTariffs {
  /** Forfait journalier, € per day (prestation FJ). */
  forfaitJournalier: number;
  /** Private room, € per night (prestation CP). */
  chambreParticuliere: number;
  /** AMO rate of the stay (GHS), in %. */
  tauxAmoGhs: number;
}

export const DEFAULT_TARIFFS: Readonly<DeskTariffs> = Object.freeze({ forfaitJournalier: 20, chambreParticuliere: 75, tauxAmoGhs: 80 });

/** Bounds of each tariff setting (the node's editor and `checkTariffs` use them). */
export const TARIFF_BOUNDS: Readonly<Record<keyof DeskTariffs, { min: number; max: number; label: string }>> = Object.freeze({
  forfaitJournalier: { min: 0, max: 1000, label: 'forfait journalier (€ par jour)' },
  chambreParticuliere: { min: 0, max: 10000, label: 'chambre particulière (€ par nuit)' },
  tauxAmoGhs: { min: 0, max: 100, label: 'taux AMO du séjour (%)' },
});

/**
 * Tariffs from settings (numbers or numeric strings, empty = default). Returns the tariffs and the
 * list of settings that are out of bounds (those keep their default).
 */
export function checkTariffs(settings: Partial<Record<keyof DeskTariffs, unknown>> = {}): { tariffs: DeskTariffs; errors: string[] } {
  const tariffs: DeskTariffs = { ...DEFAULT_TARIFFS };
  const errors: string[] = [];
  for (const key of Object.keys(TARIFF_BOUNDS) as (keyof DeskTariffs)[]) {
    const raw = settings[key];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim().replace(',', '.')) : NaN;
    const b = TARIFF_BOUNDS[key];
    if (!Number.isFinite(n) || n < b.min || n > b.max) errors.push(`${b.label} : de ${b.min} à ${b.max}`);
    else tariffs[key] = n;
  }
  return { tariffs, errors };
}

/** The venue types the desk offers: the ROC profile's code list (lib/sel/profile.ts). */
export const VENUE_TYPES: readonly string[] = PROFILE.codeLists.typeVenue;

export interface DeskDossier {
  beneficiaire: Beneficiaire;
  venue: Venue;
  /** Quote lines for SIM; absent when no quote was asked or nothing is to be priced. */
  devis?: { numero: string; lignes: Ligne[] };
}

export type DossierOutcome =
  /** `devisVide`: a quote was asked with nothing to price (no GHS, no night). */
  { ok: true; dossier: DeskDossier; devisVide: boolean } | { ok: false; saisie: string[] };

export interface BuildOptions {
  tariffs?: Partial<DeskTariffs>;
  /** Quote number (SIM request): e.g. `DEVIS-` + the message id. */
  numeroDevis?: string;
}

const txt = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');

function isDate(v: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Checks the form and builds the dossier parts, or lists what the clerk must complete. */
export function buildDossier(form: DeskForm, options: BuildOptions = {}): DossierOutcome {
  const tariffs = { ...DEFAULT_TARIFFS, ...options.tariffs };
  const p = form.patient;
  const s = form.sejour;
  const dv = form.devis;
  const manque: string[] = [];

  const nir = normaliseNir(txt(p.nir));
  const cle = txt(p.cleNir).replace(/\s/g, '');
  if (!nir) manque.push('le NIR du patient');
  else if (!NIR_PATTERN.test(nir)) manque.push('un NIR de 13 caractères (celui saisi n’a pas la bonne forme)');
  else if (cle && !/^\d{2}$/.test(cle)) manque.push('une clé de NIR de 2 chiffres');
  else if (cle && !nirKeyMatches(nir, cle)) manque.push('la clé du NIR (elle ne correspond pas au numéro : vérifiez la saisie)');
  const naissance = txt(p.dateNaissance);
  if (!isDate(naissance)) manque.push('la date de naissance');
  const rangTxt = txt(p.rangNaissance) || '1';
  const rang = Number(rangTxt);
  if (!/^\d+$/.test(rangTxt) || rang < 1 || rang > 9) manque.push('le rang de naissance (1 en général, 2 pour le second jumeau…)');
  if (!txt(p.nom)) manque.push('le nom du patient');
  if (!txt(p.prenom)) manque.push('le prénom du patient');

  const type = txt(s.type) || 'HOSPITALISATION';
  if (!VENUE_TYPES.includes(type)) manque.push('le type de séjour');
  const entree = txt(s.dateEntree);
  const sortie = txt(s.dateSortie);
  if (!isDate(entree)) manque.push('la date d’entrée');
  if (sortie && !isDate(sortie)) manque.push('une date de sortie prévue valide');
  else if (sortie && isDate(entree) && sortie < entree) manque.push('une date de sortie prévue postérieure à l’entrée');

  let lignes: Ligne[] = [];
  let devisVide = false;
  if (dv.demande) {
    const jours = isDate(entree) && isDate(sortie) ? Math.round((Date.parse(sortie) - Date.parse(entree)) / 86400000) : 0;
    const nuitsTxt = txt(dv.nuits);
    const nuits = nuitsTxt === '' ? jours : Number(nuitsTxt);
    if (!Number.isInteger(nuits) || nuits < 0 || nuits > 365) manque.push('le nombre de nuits du devis (entier de 0 à 365)');
    const ghsTxt = txt(dv.ghs).replace(/\s/g, '').replace(',', '.');
    const ghs = ghsTxt === '' ? 0 : Number(ghsTxt);
    if (!Number.isFinite(ghs) || ghs < 0 || ghs > 1000000) manque.push('le tarif du séjour (GHS) en euros');
    const fin = sortie || entree;
    const line = (code: string, quantite: number, prix: number, base: number, taux: number): Ligne => ({
      code,
      dateDebut: entree,
      dateFin: fin,
      quantite,
      prixUnitaire: prix,
      baseAmo: base,
      tauxAmo: taux,
      montantAmo: Math.round(base * taux) / 100,
    });
    if (ghs > 0) lignes.push(line('GHS', 1, ghs, ghs, tariffs.tauxAmoGhs));
    if (nuits > 0) lignes.push(line('FJ', nuits, tariffs.forfaitJournalier, 0, 0));
    if (nuits > 0 && dv.chambreParticuliere) lignes.push(line('CP', nuits, tariffs.chambreParticuliere, 0, 0));
    lignes = lignes.map((l, i) => ({ numero: i + 1, ...l }));
    if (!lignes.length && !manque.length) devisVide = true;
  }
  if (manque.length) return { ok: false, saisie: manque };

  const beneficiaire: Beneficiaire = { nir, dateNaissance: naissance, rangNaissance: rang, nom: txt(p.nom), prenom: txt(p.prenom) };
  if (cle) beneficiaire.cleNir = cle;
  const venue: Venue = { type, dateEntree: entree };
  if (sortie) venue.dateSortie = sortie;
  const numeroDossier = txt(s.numeroDossier);
  if (numeroDossier) venue.numeroDossier = numeroDossier;
  const dossier: DeskDossier = { beneficiaire, venue };
  if (lignes.length) dossier.devis = { numero: options.numeroDevis ?? 'DEVIS', lignes };
  return { ok: true, dossier, devisVide };
}
