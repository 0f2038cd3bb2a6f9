/**
 * The AMC miroir's seed: AMCs, operators, contracts and beneficiaries (simulator/seed/amc-seed.json),
 * checked on load and indexed once so that every request is a few map lookups.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROFILE } from '../lib/sel/profile';
import { NIR_PATTERN, nirKey as computeNirKey } from '../lib/model/nir';
import { RULE_MODES, toCents, type Rule } from './engine';

export const DEFAULT_SEED_PATH = path.join(__dirname, 'seed', 'amc-seed.json');

export const HOSTILE_MODES = [
  'entities',
  'huge',
  'wrong-namespace',
  'soap11',
  'html-500',
  'reset',
  'truncated',
  'fault',
  'not-xml',
] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number];

export type Incident = 'PANNE' | 'SUSPENDU' | 'LENT';

// ---- seed file shapes ------------------------------------------------------------------------

export interface SeedRoute {
  /** Critère secondaire de routage this route applies to; absent = any CSR (default route). */
  csr?: string;
  /** Operator serving the AMC on this route; absent = the AMC's own access point. */
  operateur?: string;
}

export interface SeedAmc {
  id: string;
  numeroAmc: string;
  nom: string;
  enRoc: boolean;
  typesConvention: string[];
  routes: SeedRoute[];
  exigeNumeroAdherent?: boolean;
  testOnly?: boolean;
  hostile?: HostileMode;
}

export interface SeedPeriode {
  debut: string;
  fin?: string;
}

export interface SeedRule {
  mode: string;
  taux?: number;
  incluantAmo?: boolean;
  montantJour?: number;
  plafondJour?: number;
}

export interface SeedContrat {
  id: string;
  numeroContrat: string;
  libelle?: string;
  periodes: SeedPeriode[];
  domaines: string[];
  consignes?: { code: string; libelle: string }[];
  regles: Record<string, SeedRule>;
}

export interface SeedBeneficiaire {
  id: string;
  scenario: string;
  nir: string;
  cleNir: string;
  nom: string;
  prenom: string;
  dateNaissance: string;
  rangNaissance: number;
  numeroAdherent?: string;
  amc: { numeroAmc: string; typeConvention?: string; csr?: string };
  contrat: string;
  attestation: { debutValidite: string; finValidite: string };
  /** false: the NIR is NOT registered at the AMC (answers 6001). Default true. */
  enregistre?: boolean;
  /** Rank of this AMC among the beneficiary's guarantees; > 1 answers 6006. Default 1. */
  rangGarantie?: number;
  /** The AMC asks for the paper attestation to be checked (6008). */
  controlePapier?: boolean;
  /** PANNE: technical KO 0999; SUSPENDU: hangs hangMs; LENT: answers after slowMs. */
  incident?: Incident;
}

export interface Seed {
  version: string;
  parametres: {
    dureeValiditeAnnuaireSecondes: number;
    validiteIdbJours: number;
    validiteEngagementJours: number;
    domaineParTypeVenue: Record<string, string>;
  };
  operateurs: { id: string; nom: string }[];
  amcs: SeedAmc[];
  unknownNumbers?: string[];
  contrats: SeedContrat[];
  scenarios?: Record<string, string>;
  beneficiaires: SeedBeneficiaire[];
}

// ---- indexed form ----------------------------------------------------------------------------

export interface Contract {
  id: string;
  numeroContrat: string;
  periodes: SeedPeriode[];
  domaines: string[];
  consignes: { code: string; libelle: string }[];
  rules: Record<string, Rule>;
  /** The Couverture element, ready to encode. */
  couverture: { numeroContrat: string; periodes: SeedPeriode[]; domaines: string[] };
}

export interface AccessPoint {
  /** URL segment: /sel/<id>/idb … */
  id: string;
  nom: string;
  kind: 'operateur' | 'amc';
  hostile?: HostileMode;
}

export interface Amc extends SeedAmc {
  /** Access point ids that serve this AMC (any route). */
  accessPoints: Set<string>;
}

export interface SeedIndex {
  seed: Seed;
  amcs: Map<string, Amc>;
  accessPoints: Map<string, AccessPoint>;
  contracts: Map<string, Contract>;
  /** numeroAmc → NIR → registered beneficiaries (several per NIR: ayants droit, twins). */
  beneficiaries: Map<string, Map<string, SeedBeneficiaire[]>>;
  unknownNumbers: Set<string>;
}

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const NIR_RE = NIR_PATTERN;

/** The NIR key (lib/model/nir.ts); a seed NIR that is not 13 characters is a seed error. */
export function nirKey(nir: string): string {
  const key = computeNirKey(nir);
  if (key === undefined) throw new SeedError('NIR must be 13 characters (digits, 2A/2B allowed)');
  return key;
}

export function padAmc(numero: string): string {
  return numero.trim().padStart(10, '0');
}

function fail(where: string, what: string): never {
  throw new SeedError(`seed: ${where}: ${what}`);
}

function rule(where: string, r: SeedRule): Rule {
  if (!RULE_MODES.includes(r.mode as Rule['mode'])) fail(where, `unknown rule mode "${r.mode}" (expected ${RULE_MODES.join(', ')})`);
  const num = (v: number | undefined, name: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(where, `${r.mode} needs a non-negative number "${name}"`);
    return v;
  };
  switch (r.mode) {
    case 'TM':
      return { mode: 'TM', taux: num(r.taux, 'taux') };
    case 'BASE':
      return { mode: 'BASE', taux: num(r.taux, 'taux'), incluantAmo: !!r.incluantAmo };
    case 'FORFAIT':
      return { mode: 'FORFAIT', montantJourCents: toCents(num(r.montantJour, 'montantJour')) };
    case 'PLAFOND_JOUR':
      return { mode: 'PLAFOND_JOUR', plafondJourCents: toCents(num(r.plafondJour, 'plafondJour')) };
    default:
      return { mode: 'NON_COUVERT' };
  }
}

function readSeed(input: string | object | undefined): Seed {
  if (input === undefined) input = DEFAULT_SEED_PATH;
  if (typeof input === 'string') {
    let text: string;
    try {
      text = fs.readFileSync(input, 'utf8');
    } catch (err) {
      throw new SeedError(`seed: cannot read ${input}: ${(err as Error).message}`);
    }
    try {
      return JSON.parse(text) as Seed;
    } catch (err) {
      throw new SeedError(`seed: ${input} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return input as Seed;
}

/** Load (file path, object, or the bundled seed), check and index a seed. Throws SeedError. */
export function loadSeed(input?: string | object): SeedIndex {
  const seed = readSeed(input);
  if (!seed || typeof seed !== 'object') fail('root', 'not an object');
  for (const k of ['amcs', 'contrats', 'beneficiaires'] as const) {
    if (!Array.isArray(seed[k])) fail(k, 'missing list');
  }
  const p = seed.parametres;
  if (!p || typeof p.domaineParTypeVenue !== 'object') fail('parametres', 'missing domaineParTypeVenue');

  const prestations = PROFILE.codeLists.prestation as readonly string[];
  const domaines = PROFILE.codeLists.domaine as readonly string[];

  const accessPoints = new Map<string, AccessPoint>();
  for (const o of seed.operateurs ?? []) {
    if (!/^[a-z0-9-]+$/.test(o.id)) fail(`operateur ${o.id}`, 'id must be lower-case letters, digits and dashes');
    accessPoints.set(o.id, { id: o.id, nom: o.nom, kind: 'operateur' });
  }

  const amcs = new Map<string, Amc>();
  for (const a of seed.amcs) {
    const where = `amc ${a.id}`;
    if (!/^[a-z0-9-]+$/.test(a.id)) fail(where, 'id must be lower-case letters, digits and dashes');
    if (!/^\d{10}$/.test(a.numeroAmc)) fail(where, `numeroAmc "${a.numeroAmc}" must be 10 digits`);
    if (amcs.has(a.numeroAmc)) fail(where, `numeroAmc ${a.numeroAmc} used twice`);
    if (a.hostile && !HOSTILE_MODES.includes(a.hostile)) fail(where, `unknown hostile mode "${a.hostile}"`);
    if (a.hostile && !a.testOnly) fail(where, 'a hostile AMC must be flagged testOnly');
    const aps = new Set<string>();
    for (const r of a.routes ?? []) {
      if (r.operateur) {
        if (!accessPoints.has(r.operateur) || accessPoints.get(r.operateur)?.kind !== 'operateur') {
          fail(where, `route to unknown operator "${r.operateur}"`);
        }
        aps.add(r.operateur);
      } else {
        if (accessPoints.has(a.id) && accessPoints.get(a.id)?.kind === 'operateur') fail(where, 'id clashes with an operator id');
        accessPoints.set(a.id, { id: a.id, nom: a.nom, kind: 'amc', hostile: a.hostile });
        aps.add(a.id);
      }
    }
    if (a.enRoc && aps.size === 0) fail(where, 'enRoc without any route');
    amcs.set(a.numeroAmc, { ...a, typesConvention: a.typesConvention ?? [], routes: a.routes ?? [], accessPoints: aps });
  }

  const unknownNumbers = new Set((seed.unknownNumbers ?? []).map(padAmc));
  for (const n of unknownNumbers) if (amcs.has(n)) fail('unknownNumbers', `${n} is in the directory`);

  const contracts = new Map<string, Contract>();
  for (const c of seed.contrats) {
    const where = `contrat ${c.id}`;
    if (!Array.isArray(c.periodes) || c.periodes.length === 0) fail(where, 'no periode');
    for (const per of c.periodes) {
      if (!DATE_RE.test(per.debut) || (per.fin !== undefined && !DATE_RE.test(per.fin))) fail(where, 'periode dates must be YYYY-MM-DD');
    }
    for (const d of c.domaines) if (!domaines.includes(d)) fail(where, `unknown domaine "${d}"`);
    const rules: Record<string, Rule> = {};
    for (const [code, r] of Object.entries(c.regles ?? {})) {
      if (!prestations.includes(code)) fail(where, `rule for unknown prestation code "${code}" (profile: ${prestations.join(', ')})`);
      rules[code] = rule(`${where} rule ${code}`, r);
    }
    contracts.set(c.id, {
      id: c.id,
      numeroContrat: c.numeroContrat,
      periodes: c.periodes,
      domaines: c.domaines,
      consignes: c.consignes ?? [],
      rules,
      couverture: { numeroContrat: c.numeroContrat, periodes: c.periodes, domaines: c.domaines },
    });
  }

  const beneficiaries = new Map<string, Map<string, SeedBeneficiaire[]>>();
  const ids = new Set<string>();
  for (const b of seed.beneficiaires) {
    const where = `beneficiaire ${b.id}`;
    if (ids.has(b.id)) fail(where, 'id used twice');
    ids.add(b.id);
    if (!NIR_RE.test(b.nir)) fail(where, 'NIR must be 13 characters (sex digit, 2A/2B allowed)');
    if (nirKey(b.nir) !== b.cleNir) fail(where, `cleNir ${b.cleNir} does not match the NIR (expected ${nirKey(b.nir)})`);
    if (!DATE_RE.test(b.dateNaissance)) fail(where, 'dateNaissance must be YYYY-MM-DD');
    if (!amcs.has(b.amc?.numeroAmc)) fail(where, `unknown AMC ${b.amc?.numeroAmc}`);
    if (!contracts.has(b.contrat)) fail(where, `unknown contrat ${b.contrat}`);
    if (!b.attestation || !DATE_RE.test(b.attestation.debutValidite) || !DATE_RE.test(b.attestation.finValidite)) {
      fail(where, 'attestation debutValidite/finValidite must be YYYY-MM-DD');
    }
    if (b.enregistre === false) continue;
    let byNir = beneficiaries.get(b.amc.numeroAmc);
    if (!byNir) beneficiaries.set(b.amc.numeroAmc, (byNir = new Map()));
    const list = byNir.get(b.nir);
    if (list) {
      if (list.some((o) => o.dateNaissance === b.dateNaissance && (o.rangNaissance ?? 1) === (b.rangNaissance ?? 1))) {
        fail(where, 'same NIR, birth date and birth rank as another beneficiary of the same AMC');
      }
      list.push(b);
    } else byNir.set(b.nir, [b]);
  }

  return { seed, amcs, accessPoints, contracts, beneficiaries, unknownNumbers };
}

// ---- annuaire ----------------------------------------------------------------------------------

export type AnnuaireLookup =
  | { found: false; code: string }
  | { found: true; amc: Amc; enRoc: false }
  | { found: true; amc: Amc; enRoc: true; accessPoint: AccessPoint; operateur?: string };

/**
 * Directory lookup by (numéro AMC, type de convention, CSR): KO 6010 for an unknown number,
 * KO 6011 when the convention type or CSR has no route; EnROC=false for an AMC outside ROC.
 */
export function lookupAnnuaire(index: SeedIndex, numeroAmc: string, typeConvention?: string, csr?: string): AnnuaireLookup {
  const amc = index.amcs.get(padAmc(numeroAmc));
  if (!amc) return { found: false, code: '6010' };
  const tc = (typeConvention ?? '').trim().toUpperCase();
  if (tc && amc.typesConvention.length > 0 && !amc.typesConvention.includes(tc)) return { found: false, code: '6011' };
  if (!amc.enRoc) return { found: true, amc, enRoc: false };
  const c = (csr ?? '').trim().toUpperCase();
  const route = amc.routes.find((r) => r.csr !== undefined && r.csr.toUpperCase() === c) ?? amc.routes.find((r) => r.csr === undefined);
  if (!route) return { found: false, code: '6011' };
  const apId = route.operateur ?? amc.id;
  const accessPoint = index.accessPoints.get(apId) as AccessPoint;
  return { found: true, amc, enRoc: true, accessPoint, operateur: route.operateur ? accessPoint.nom : undefined };
}
