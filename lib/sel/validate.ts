/**
 * Mandatory data per service, checked BEFORE any network call.
 *
 * Each missing or invalid item is one message (BR-MISSING / BR-INVALID from the catalogue) whose
 * label names the field path in the dossier (`beneficiaire.nir`, `facture.lignes[2].quantite`…)
 * and, for an invalid item, what is expected. Values are never copied into messages: the NIR,
 * names and birth date of a patient must not reach logs or events.
 *
 * Patterns, enumerations and lengths come from the profile (profile.ts), so the official schema
 * replaces them in one place.
 */
import type { AmcTarget, RocDossier, RocMessage, RocService } from '../model/dossier';
import { messageFor } from './catalogue';
import { PROFILE, type FieldSpec } from './profile';

type Obj = Record<string, unknown>;

/**
 * Bounds of the numbers, texts and dates a dossier may carry: anything beyond is refused before any
 * call, naming the field (an AMC must never be asked to engage 3.45 trillion euros).
 */
export const DOSSIER_BOUNDS = {
  /** Units of one billing line (days, nights, acts). */
  quantiteMax: 9999,
  /** Euros: unit price, AMO base, AMO amount of one line. */
  montantMax: 1_000_000,
  decimalesMax: 2,
  tauxMax: 100,
  numeroLigneMax: 9999,
  lignesMax: 500,
  /** Characters of a text field the profile gives no length for. */
  texteMax: 100,
  anneeMin: 1900,
  anneeMax: 2100,
} as const;

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DECIMAL_RE = /^-?\d+(\.\d+)?$/;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
}

/** A real calendar date in ISO form (2024-02-30 is not one). */
export function isRealDate(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = DATE_RE.exec(v);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (y < 1850 || y > 2200 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= daysInMonth(y, mo);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Days in a month of the (proleptic) Gregorian calendar, as Date.UTC counts them. */
function daysInMonth(y: number, mo: number): number {
  if (mo === 2 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0)) return 29;
  return DAYS_IN_MONTH[mo - 1];
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL_RE.test(v.trim())) return Number(v);
  return undefined;
}

const specCache = new Map<string, Map<string, FieldSpec | undefined>>();
function spec(type: string, key: string): FieldSpec | undefined {
  let byKey = specCache.get(type);
  if (!byKey) specCache.set(type, (byKey = new Map()));
  if (!byKey.has(key))
    byKey.set(
      key,
      PROFILE.types[type]?.find((f) => f.key === key),
    );
  return byKey.get(key);
}
const regexCache = new Map<string, RegExp>();
function regex(p: string): RegExp {
  let re = regexCache.get(p);
  if (!re) {
    re = new RegExp(`^(?:${p})$`);
    regexCache.set(p, re);
  }
  return re;
}

/** What a pattern of the profile means, in words (never the value). */
const PATTERN_HINTS: Record<string, string> = {
  'PatientBeneficiaire.nir': '13 caractères attendus : chiffres, 2A/2B pour la Corse, sans la clé',
  'PatientBeneficiaire.cleNir': '2 chiffres attendus',
  'Amc.numeroAmc': '1 à 10 chiffres attendus',
};

class Collector {
  readonly messages: RocMessage[] = [];
  missing(path: string): void {
    const base = messageFor('BR-MISSING');
    this.messages.push({ ...base, libelle: `${base.libelle} : ${path}` });
  }
  invalid(path: string, why: string): void {
    const base = messageFor('BR-INVALID');
    this.messages.push({ ...base, libelle: `${base.libelle} : ${path} (${why})` });
  }

  /** Check a string field against its profile spec (pattern, enumeration, length). */
  text(obj: Obj, type: string, key: string, path: string, required: boolean): void {
    const v = obj[key];
    if (!present(v)) {
      if (required) this.missing(path);
      return;
    }
    if (typeof v !== 'string' && typeof v !== 'number') return this.invalid(path, 'texte attendu');
    const s = String(v);
    const f = spec(type, key);
    if (!f) {
      if (s.length > DOSSIER_BOUNDS.texteMax) this.invalid(path, `${DOSSIER_BOUNDS.texteMax} caractères au plus`);
      return;
    }
    if (f.values && !f.values.includes(s)) return this.invalid(path, `valeurs admises : ${f.values.join(', ')}`);
    if (f.pattern && !regex(f.pattern).test(s)) return this.invalid(path, PATTERN_HINTS[`${type}.${key}`] ?? 'format non conforme');
    if (s.length > (f.maxLength ?? DOSSIER_BOUNDS.texteMax))
      return this.invalid(path, `${f.maxLength ?? DOSSIER_BOUNDS.texteMax} caractères au plus`);
  }

  /** `path` names the field in messages; `parent` + '.' + key when `path` is omitted. */
  date(obj: Obj, key: string, path: string | undefined, required: boolean, parent = ''): string | undefined {
    const v = obj[key];
    if (!present(v)) {
      if (required) this.missing(path ?? `${parent}.${key}`);
      return undefined;
    }
    if (!isRealDate(v)) {
      this.invalid(path ?? `${parent}.${key}`, 'date réelle au format AAAA-MM-JJ attendue');
      return undefined;
    }
    const year = Number(v.slice(0, 4));
    if (year < DOSSIER_BOUNDS.anneeMin || year > DOSSIER_BOUNDS.anneeMax) {
      this.invalid(path ?? `${parent}.${key}`, `date entre ${DOSSIER_BOUNDS.anneeMin} et ${DOSSIER_BOUNDS.anneeMax} attendue`);
      return undefined;
    }
    return v;
  }

  /**
   * A number of a billing line: above `min` (or at least, when not `strict`), at most `max`, with at
   * most `decimals` decimals. The path `parent`.`key` is only built for a message.
   */
  number(
    obj: Obj,
    key: string,
    parent: string,
    min: number,
    strict: boolean,
    required = true,
    max = Infinity,
    what = 'nombre',
    unit = '',
    decimals: number = DOSSIER_BOUNDS.decimalesMax,
  ): void {
    const v = obj[key];
    if (!present(v)) {
      if (required) this.missing(`${parent}.${key}`);
      return;
    }
    const n = toNumber(v);
    if (n === undefined) return this.invalid(`${parent}.${key}`, 'nombre attendu');
    if (strict ? n <= min : n < min)
      return this.invalid(`${parent}.${key}`, strict ? `nombre > ${min} attendu` : `nombre ≥ ${min} attendu`);
    if (n > max) return this.invalid(`${parent}.${key}`, `${what} ≤ ${max}${unit} attendu`);
    const scaled = n * 10 ** decimals;
    if (Math.abs(scaled - Math.round(scaled)) > 1e-6) this.invalid(`${parent}.${key}`, `${decimals} décimales au plus`);
  }

  object(d: Obj, key: string, path: string): Obj | undefined {
    const v = d[key];
    if (!present(v)) {
      this.missing(path);
      return undefined;
    }
    if (!isObj(v)) {
      this.invalid(path, 'objet attendu');
      return undefined;
    }
    return v;
  }
}

/** The AMC a dossier targets: `amc`, else the attestation's (first type de convention). */
export function amcTarget(d: RocDossier): AmcTarget | undefined {
  const amc = isObj(d?.amc) ? (d.amc as unknown as Obj) : undefined;
  if (amc && present(amc.numeroAmc)) {
    return {
      numeroAmc: normaliseNumeroAmc(String(amc.numeroAmc)),
      typeConvention: present(amc.typeConvention) ? String(amc.typeConvention).trim() : undefined,
      csr: present(amc.csr) ? String(amc.csr).trim() : undefined,
    };
  }
  const att = isObj(d?.attestation) ? (d.attestation as Obj) : undefined;
  if (att && present(att.numeroAmc)) {
    const types = Array.isArray(att.typesConvention) ? att.typesConvention : [];
    return {
      numeroAmc: normaliseNumeroAmc(String(att.numeroAmc)),
      typeConvention: present(types[0]) ? String(types[0]).trim() : undefined,
      csr: present(att.csr) ? String(att.csr).trim() : undefined,
    };
  }
  return undefined;
}

/** Zero-pad an all-digit AMC number to 10 digits (other values are left for validation to refuse). */
export function normaliseNumeroAmc(n: string): string {
  const s = n.trim();
  return /^\d{1,10}$/.test(s) ? s.padStart(10, '0') : s;
}

function checkAmc(d: RocDossier, c: Collector): void {
  const fromAmc = isObj(d.amc) && present((d.amc as unknown as Obj).numeroAmc);
  const src = fromAmc ? 'amc' : isObj(d.attestation) && present((d.attestation as Obj).numeroAmc) ? 'attestation' : undefined;
  if (!src) {
    c.missing('amc.numeroAmc');
    return;
  }
  const t = amcTarget(d)!;
  c.text(t as unknown as Obj, 'Amc', 'numeroAmc', `${src}.numeroAmc`, true);
  c.text(t as unknown as Obj, 'Amc', 'typeConvention', src === 'amc' ? 'amc.typeConvention' : 'attestation.typesConvention[0]', false);
  c.text(t as unknown as Obj, 'Amc', 'csr', `${src}.csr`, false);
}

function checkBeneficiaire(d: RocDossier, c: Collector): void {
  const b = c.object(d, 'beneficiaire', 'beneficiaire');
  if (!b) return;
  c.text(b, 'PatientBeneficiaire', 'nir', 'beneficiaire.nir', true);
  c.text(b, 'PatientBeneficiaire', 'cleNir', 'beneficiaire.cleNir', false);
  c.date(b, 'dateNaissance', 'beneficiaire.dateNaissance', true);
  if (present(b.rangNaissance) && !(Number.isInteger(toNumber(b.rangNaissance)) && toNumber(b.rangNaissance)! >= 1)) {
    c.invalid('beneficiaire.rangNaissance', 'entier ≥ 1 attendu');
  }
  c.text(b, 'PatientBeneficiaire', 'nom', 'beneficiaire.nom', true);
  c.text(b, 'PatientBeneficiaire', 'prenom', 'beneficiaire.prenom', true);
}

function checkAttestation(d: RocDossier, c: Collector): void {
  // Optional in requests, but sent when present: its dates must be real dates.
  const a = isObj(d.attestation) ? (d.attestation as Obj) : undefined;
  if (!a) return;
  const debut = c.date(a, 'debutValidite', 'attestation.debutValidite', false);
  const fin = c.date(a, 'finValidite', 'attestation.finValidite', false);
  if (debut && fin && fin < debut) c.invalid('attestation.finValidite', 'postérieure ou égale à attestation.debutValidite attendue');
}

function checkVenue(d: RocDossier, c: Collector): void {
  const v = c.object(d, 'venue', 'venue');
  if (!v) return;
  if (!present(v.type)) c.missing('venue.type');
  else if (!PROFILE.codeLists.typeVenue.includes(String(v.type))) {
    c.invalid('venue.type', `valeurs admises : ${PROFILE.codeLists.typeVenue.join(', ')}`);
  }
  const entree = c.date(v, 'dateEntree', 'venue.dateEntree', true);
  const sortie = c.date(v, 'dateSortie', 'venue.dateSortie', false);
  if (entree && sortie && sortie < entree) c.invalid('venue.dateSortie', 'postérieure ou égale à venue.dateEntree attendue');
}

function checkFacture(d: RocDossier, key: 'facture' | 'devis', c: Collector, numeroRequired: boolean): void {
  const f = c.object(d, key, key);
  if (!f) return;
  if (numeroRequired) c.text(f, 'Facture', 'numero', `${key}.numero`, true);
  c.date(f, 'dateFacture', `${key}.dateFacture`, false);
  const lignes = f.lignes;
  if (!present(lignes)) return c.missing(`${key}.lignes`);
  if (!Array.isArray(lignes)) return c.invalid(`${key}.lignes`, 'liste attendue');
  if (lignes.length === 0) return c.invalid(`${key}.lignes`, 'au moins une ligne attendue');
  if (lignes.length > DOSSIER_BOUNDS.lignesMax) return c.invalid(`${key}.lignes`, `${DOSSIER_BOUNDS.lignesMax} lignes au plus`);
  const codes = PROFILE.codeLists.prestation as readonly string[];
  lignes.forEach((l: unknown, i) => {
    const p = `${key}.lignes[${i}]`;
    if (!isObj(l)) return c.invalid(p, 'objet attendu');
    if (
      present(l.numero) &&
      !(Number.isInteger(toNumber(l.numero)) && toNumber(l.numero)! >= 1 && toNumber(l.numero)! <= DOSSIER_BOUNDS.numeroLigneMax)
    ) {
      c.invalid(`${p}.numero`, `entier de 1 à ${DOSSIER_BOUNDS.numeroLigneMax} attendu`);
    }
    if (!present(l.code)) c.missing(`${p}.code`);
    else if (!codes.includes(String(l.code))) c.invalid(`${p}.code`, `codes de prestation admis : ${codes.join(', ')}`);
    const debut = c.date(l, 'dateDebut', undefined, true, p);
    const fin = c.date(l, 'dateFin', undefined, false, p);
    if (debut && fin && fin < debut) c.invalid(`${p}.dateFin`, `postérieure ou égale à ${p}.dateDebut attendue`);
    const B = DOSSIER_BOUNDS;
    c.number(l, 'quantite', p, 0, true, true, B.quantiteMax);
    c.number(l, 'prixUnitaire', p, 0, false, true, B.montantMax, 'montant', ' €');
    c.number(l, 'baseAmo', p, 0, false, true, B.montantMax, 'montant', ' €');
    c.number(l, 'tauxAmo', p, 0, false, true, B.tauxMax, 'taux', ' %');
    c.number(l, 'montantAmo', p, 0, false, true, B.montantMax, 'montant', ' €');
  });
}

/** The engagement number DEL cancels: `engagement.numero`, else the CLC's. */
export function engagementToCancel(d: RocDossier): string | undefined {
  const e = isObj(d.engagement) ? (d.engagement as unknown as Obj) : undefined;
  if (e && present(e.numero)) return String(e.numero).trim();
  const clc = isObj(d.clc) ? (d.clc as unknown as Obj) : undefined;
  const ce = clc && isObj(clc.engagement) ? (clc.engagement as Obj) : undefined;
  if (ce && present(ce.numero)) return String(ce.numero).trim();
  return undefined;
}

/**
 * Every missing or invalid item the service needs, as catalogue messages (empty: the dossier may
 * be sent). Never throws, whatever the dossier holds.
 */
export function validateDossier(service: RocService, dossier: RocDossier): RocMessage[] {
  const c = new Collector();
  if (!isObj(dossier)) {
    c.invalid('msg.roc', 'objet dossier attendu');
    return c.messages;
  }
  checkAmc(dossier, c);
  switch (service) {
    case 'annuaire':
      break;
    case 'idb':
      checkBeneficiaire(dossier, c);
      checkAttestation(dossier, c);
      checkVenue(dossier, c);
      break;
    case 'sim':
      checkBeneficiaire(dossier, c);
      checkAttestation(dossier, c);
      checkVenue(dossier, c);
      if (present(dossier.devis)) checkFacture(dossier, 'devis', c, false);
      else if (present(dossier.facture)) checkFacture(dossier, 'facture', c, false);
      else c.missing('devis (ou facture)');
      break;
    case 'clc':
      checkBeneficiaire(dossier, c);
      checkAttestation(dossier, c);
      checkVenue(dossier, c);
      checkFacture(dossier, 'facture', c, true);
      break;
    case 'del': {
      const numero = engagementToCancel(dossier);
      if (!numero) c.missing('engagement.numero');
      else if (numero.length > DOSSIER_BOUNDS.texteMax) c.invalid('engagement.numero', `${DOSSIER_BOUNDS.texteMax} caractères au plus`);
      break;
    }
    default:
      c.invalid('service', `service inconnu (annuaire, idb, sim, clc ou del attendu)`);
  }
  return c.messages;
}
