/**
 * The ROC dossier: the one shape every node reads and writes on `msg.roc`.
 *
 * It grows as the dossier goes through the bridge: the input part (amc, beneficiaire, venue,
 * facture…) is written by intake nodes or by the caller; each service node adds its own result
 * (`annuaire`, `idb`, `sim`, `clc`, `del`). Nodes leave everything else on `msg` alone.
 *
 * Dates are ISO `YYYY-MM-DD` strings; amounts are euros as numbers rounded to the cent.
 */

export type IsoDate = string;
export type IsoDateTime = string;

/** The target AMC, as read from the attestation DataMatrix or the GAP's coverage group. */
export interface AmcTarget {
  /** Numéro AMC, 10 digits once normalised (zero-padded). */
  numeroAmc: string;
  /** Type de convention (2-character code such as IS, MU, SP…). */
  typeConvention?: string;
  /** Critère secondaire de routage (short free text, often empty). */
  csr?: string;
}

export interface Beneficiaire {
  /** NIR, 13 characters (digits; 2A/2B allowed for Corsica). */
  nir: string;
  /** NIR key, 2 digits. */
  cleNir?: string;
  dateNaissance: IsoDate;
  rangNaissance?: number;
  nom: string;
  prenom: string;
  nomNaissance?: string;
  /** Numéro d'adhérent at the AMC (leading zeros kept). */
  numeroAdherent?: string;
}

export interface AssureAmo {
  regime?: string;
  caisse?: string;
  centre?: string;
}

/** Type of venue [profile]: see lib/sel/profile.ts `codeLists.typeVenue`. */
export type TypeVenue = string;

export interface Venue {
  type: TypeVenue;
  dateEntree: IsoDate;
  /** Expected or real discharge date. */
  dateSortie?: IsoDate;
  /** NDA (numéro de dossier administratif). */
  numeroDossier?: string;
  /** Venue number (PV1-19). */
  numeroVenue?: string;
}

/** One billing line (SIM / CLC). Prestation codes are a [profile] code list. */
export interface Ligne {
  numero?: number;
  code: string;
  dateDebut: IsoDate;
  dateFin?: IsoDate;
  quantite: number;
  prixUnitaire: number;
  baseAmo: number;
  tauxAmo: number;
  montantAmo: number;
}

export interface Facture {
  numero: string;
  dateFacture?: IsoDate;
  lignes: Ligne[];
}

/** Attestation items (filled by the DataMatrix reader, lib/datamatrix). */
export interface Attestation {
  numeroAmc: string;
  numeroAmcBrut?: string;
  typesConvention?: string[];
  csr?: string;
  numeroAdherent?: string;
  debutValidite?: IsoDate;
  finValidite?: IsoDate;
  adressage?: string;
  raw?: string;
  [k: string]: unknown;
}

export type RocService = 'annuaire' | 'idb' | 'sim' | 'clc' | 'del';
export type OnlineService = Exclude<RocService, 'annuaire'>;
export const ONLINE_SERVICES: readonly OnlineService[] = ['idb', 'sim', 'clc', 'del'];

export type Severite = 'INFO' | 'AVERTISSEMENT' | 'ERREUR';

/** What the GAP / desk should do about a message (driven by the error group). */
export type ActionGap = 'AUCUNE' | 'REESSAYER' | 'CORRIGER' | 'FACTURER_PATIENT' | 'TRAITEMENT_MANUEL';

export interface RocMessage {
  code: string;
  groupe: string;
  severite: Severite;
  libelle: string;
  action?: ActionGap;
}

export interface Consigne {
  code: string;
  libelle: string;
}

/** Common part of every service result written on msg.roc.<service>. */
export interface ServiceResult {
  service: RocService;
  status: 'OK' | 'KO';
  /** True when the KO is technical (unreachable, timeout, bad answer…), not the AMC's decision. */
  technical: boolean;
  /** Plain-language reason when status is KO. */
  reason?: string;
  messages: RocMessage[];
  requestId: string;
  /** Response id given by the AMC, when any. */
  responseId?: string;
  endpoint?: string;
  latencyMs: number;
  attempts: number;
  at: IsoDateTime;
}

export interface Periode {
  debut: IsoDate;
  fin?: IsoDate;
}

export interface Couverture {
  numeroContrat?: string;
  periodes: Periode[];
  /** Covered domains (e.g. HOSPITALISATION, ACE, CHAMBRE_PARTICULIERE). */
  domaines: string[];
}

export interface AnnuaireResult extends ServiceResult {
  service: 'annuaire';
  amc?: { numeroAmc: string; nom?: string; operateur?: string; enRoc: boolean };
  services?: Partial<Record<OnlineService, string>>;
  fromCache: boolean;
  /** True when the answer is a last-known-good entry served during a directory outage. */
  stale: boolean;
}

export interface IdbResult extends ServiceResult {
  service: 'idb';
  couverture?: Couverture;
  consignes: Consigne[];
  /** The answer may be relied on until this date (renew IDB afterwards for long stays). */
  dateValidite?: IsoDate;
}

export interface LigneResultat {
  numero: number;
  code: string;
  montantAmc: number;
  montantPatient: number;
}

export interface Montants {
  totalFacture: number;
  totalAmo: number;
  totalAmc: number;
  resteACharge: number;
}

export interface SimResult extends ServiceResult {
  service: 'sim';
  montants?: Montants;
  lignes: LigneResultat[];
  consignes: Consigne[];
}

export interface ClcResult extends ServiceResult {
  service: 'clc';
  montants?: Montants;
  lignes: LigneResultat[];
  consignes: Consigne[];
  engagement?: { numero: string; dateValidite?: IsoDate };
}

export interface DelResult extends ServiceResult {
  service: 'del';
  engagement?: string;
}

export interface RocDossier {
  amc?: AmcTarget;
  beneficiaire?: Beneficiaire;
  assureAmo?: AssureAmo;
  attestation?: Attestation;
  venue?: Venue;
  /** Final billing lines (CLC) — also used by SIM when no `devis` is given. */
  facture?: Facture;
  /** Planned lines for a quote (SIM). */
  devis?: Facture;
  /** Engagement to cancel (DEL); defaults to `clc.engagement.numero`. */
  engagement?: { numero: string; motif?: string };
  /**
   * Request ids (IdRequete) chosen by the caller, per service (set by roc-dossier): a CLC or DEL
   * asked again carries the first request's id and the AMC deduplicates it. Else a random id.
   */
  requestIds?: Partial<Record<OnlineService, string>>;
  annuaire?: AnnuaireResult;
  idb?: IdbResult;
  sim?: SimResult;
  clc?: ClcResult;
  del?: DelResult;
  [k: string]: unknown;
}
