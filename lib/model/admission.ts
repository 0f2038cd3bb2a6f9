/**
 * The admission model shared by the HL7 (PAM-FR) and HPRIM readers: what a GAP tells the bridge
 * about a patient's stay, whatever the wire format. `Admission` goes on `msg.roc.admission`: a
 * plain, JSON-serialisable object (no class instances, no raw bytes). Field comments name the
 * PAM-FR source; the HPRIM readers fill the same fields from their equivalents (lib/hprim/README.md).
 *
 * This folder imports nothing from lib/hl7 or lib/hprim: both depend on it, never the reverse.
 */
import type { Charset } from './charset';
import type { IsoDate, IsoDateTime } from './dossier';
import type { AdmissionInvoice } from './invoice';

/**
 * What the bridge does with an admission event (INVOICE: a DFT^P03 invoice from the GAP, for CLC;
 * AMO_PAYMENT: a BAR^P05 AMO payment notice, docs/amo-payments.md, for roc-dre-es).
 */
export type RocMeaning = 'IDB' | 'DEL' | 'CLC' | 'UPDATE' | 'IDENTITY' | 'IGNORE' | 'INVOICE' | 'AMO_PAYMENT';

/**
 * Codes of admission issues: HL7 table 0357, the language of GAP acknowledgements (the HPRIM
 * readers report their admission warnings with the same codes). Texts: lib/hl7/profile.ts TABLE_0357.
 */
export type IssueCode = '0' | '100' | '101' | '102' | '103' | '200' | '201' | '202' | '203' | '204' | '205' | '206' | '207';

/** Width of a normalised numéro AMC. */
export const NUMERO_AMC_LENGTH = 10;

/**
 * A numéro AMC as sent (blanks, dots and dashes tolerated) → 10 digits, zero-padded; undefined
 * when it is not numeric or longer than 10 digits.
 */
export function normaliseNumeroAmc(raw: string): string | undefined {
  const digits = raw.replace(/[\s.-]/g, '');
  return /^\d+$/.test(digits) && digits.length <= NUMERO_AMC_LENGTH ? digits.padStart(NUMERO_AMC_LENGTH, '0') : undefined;
}

/**
 * Where something is in a message, 1-based: an HL7 segment, or an HPRIM Santé record type. Written
 * in HL7 answers as ERR-2 (ERL): `segment^sequence^field^repetition^component^subcomponent`.
 */
export interface IssueLocation {
  segment: string;
  /** Occurrence of the segment in the message (1 = first PID…). */
  sequence?: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

/** A validation problem, with what the listener needs to NACK precisely. */
export interface AdmissionIssue {
  /** HL7 table 0357 code. */
  code: IssueCode;
  /** E = error (the message is refused), W = warning (accepted, reported). */
  severity: 'E' | 'W';
  location?: IssueLocation;
  /** French, for the GAP user (ERR-8). Never contains patient data. */
  message: string;
}

/** An HD (hierarchic designator): `namespace&universalId&universalIdType`. */
export interface AssigningAuthority {
  namespace?: string;
  universalId?: string;
  universalIdType?: string;
}

/** A CX identifier from PID-3, PID-18, PV1-19… */
export interface Identifier {
  value: string;
  /** Identifier type code (CX.5): PI, INS, NH, AN, VN… */
  type?: string;
  authority?: AssigningAuthority;
  /** FINESS read from the authority when its type is M (juridique) or N (géographique). */
  finess?: { numero: string; kind: 'juridique' | 'geographique' };
  /** CX.7 effective date. */
  since?: IsoDate;
}

export interface InsIdentifier extends Identifier {
  /** OID of the INS assigning authority. */
  oid?: string;
  /** INS-NIR or INS-NIA, from the OID. */
  nature?: 'INS-NIR' | 'INS-NIA';
}

export interface AdmissionPatient {
  /** IPP: PID-3 of type PI. */
  ipp?: Identifier;
  /** INS, only when PID-32 = VALI; NIR-based preferred over NIA-based. */
  ins?: InsIdentifier;
  /** Billing NIR: PID-3 of type NH, as given (13 or 15 characters). */
  nir?: Identifier;
  /** PID-32 identity reliability code (VALI, QUAL, PROV…). */
  identityStatus?: string;
  /** Every PID-3 repetition, in order. */
  identifiers: Identifier[];
  /** MRG-1 prior identifiers (A40 merge, A47 identifier change). */
  previousIdentifiers?: Identifier[];
  /** Name to use: the usual name (type D), else the birth name. */
  nom?: string;
  prenom?: string;
  /** Birth name (type L). */
  nomNaissance?: string;
  /** First given name of the birth identity (L component 2). */
  premierPrenom?: string;
  /** List of given names (L component 3). */
  prenoms?: string;
  dateNaissance?: IsoDate;
  /** PID-8 as sent (M, F, U, O…). */
  sexe?: string;
  /** PID-25 birth order. */
  rangNaissance?: number;
}

export interface AdmissionUf {
  code?: string;
  libelle?: string;
}

export interface AdmissionVenue {
  /** PID-18 NDA (numéro de dossier administratif). */
  nda?: Identifier;
  /** PV1-19 venue number. */
  numeroVenue?: Identifier;
  /** PV1-2 patient class as sent. */
  patientClass?: string;
  /** ROC venue type mapped from PV1-2 (profile PATIENT_CLASS_TO_VENUE). */
  type?: string;
  /** PV1-44 (ISO date-time, precision as sent). */
  admitDateTime?: IsoDateTime;
  /** PV1-45. */
  dischargeDateTime?: IsoDateTime;
  /** Where admitDateTime came from when not PV1-44 (profile DATE_SOURCES): PV2-8, ZBE-2, EVN-6. */
  admitDateSource?: string;
  /** Where dischargeDateTime came from when not PV1-45: ZBE-2, EVN-6. */
  dischargeDateSource?: string;
  /** PV2-8 expected admit date (pre-admissions). */
  expectedAdmitDateTime?: IsoDateTime;
  /** PV1-3: point of care / room / bed and the facility (PL.4). */
  location?: { pointOfCare?: string; room?: string; bed?: string; facility?: AssigningAuthority };
  /** UF of medical responsibility: ZBE-7, else PV1-3.1. */
  ufMedicale?: AdmissionUf;
  /** UF of care responsibility: ZBE-8. */
  ufSoins?: AdmissionUf;
}

export interface AdmissionMovement {
  /** ZBE-1.1 movement id. */
  id?: string;
  /** ZBE-2 movement date. */
  dateTime?: IsoDateTime;
  /** ZBE-4 INSERT / UPDATE / CANCEL. */
  action?: string;
  /** ZBE-5 historic movement flag (Y/N). */
  historic?: boolean;
  /** ZBE-6 original trigger event (for UPDATE/CANCEL). */
  originalEvent?: string;
  /** ZBE-9 nature of the movement (S, H, M, L, D, SM…). */
  nature?: string;
  /** True when the published "shifted ZBE" defect was detected and corrected. */
  shifted?: boolean;
}

export interface CoverageRate {
  /** MOP.1: P (percentage) or M (money). */
  indicator?: string;
  quantity?: number;
  currency?: string;
}

/** One IN1 (+ IN2 + IN3…) group. */
export interface Coverage {
  /** IN1-1. */
  setId?: number;
  /** IN1-2.1: AMO, AMC… */
  kind?: string;
  /** IN1-3.1 as sent. */
  numeroAmcBrut?: string;
  /** IN1-3 normalised to 10 digits (zero-padded); absent when not numeric. */
  numeroAmc?: string;
  /** IN1-4.1. */
  organisme?: string;
  /** IN1-12 / IN1-13. */
  debutDroits?: IsoDate;
  finDroits?: IsoDate;
  /** IN1-36 policy number. */
  numeroContrat?: string;
  /** IN1-49.1 numéro d'adhérent, leading zeros kept. */
  numeroAdherent?: string;
  /** IN2-28 covered extras (FRJ, PRI…). */
  extras: string[];
  /** IN3-5 rates. */
  taux: CoverageRate[];
  /** From the site mapping (CoverageMapping), when configured. */
  typeConvention?: string;
  csr?: string;
}

export interface Admission {
  /** MSH-9.1, e.g. ADT. */
  messageType: string;
  /** MSH-9.2 trigger event, e.g. A01. */
  event: string;
  /** MSH-9.3 message structure, when sent. */
  structure?: string;
  meaning: RocMeaning;
  /** MSH-10. */
  controlId: string;
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  /** MSH-7. */
  messageDateTime?: IsoDateTime;
  /** MSH-12.1. */
  version?: string;
  /** The charset the frame was decoded with. */
  charset?: Charset;
  /** EVN-6 (event occurred), else EVN-2. */
  eventDateTime?: IsoDateTime;
  patient: AdmissionPatient;
  venue?: AdmissionVenue;
  movement?: AdmissionMovement;
  coverages: Coverage[];
  /** FINESS found in the assigning authorities (M = juridique, N = géographique). */
  finess: { juridique?: string; geographique?: string };
  /** Per patient/venue ordering key: PV1-19, else NDA, else IPP. */
  orderingKey?: string;
  orderingKeySource?: 'PV1-19' | 'PID-18' | 'PID-3';
  /** Accepted-with-remarks issues (severity W). */
  warnings: AdmissionIssue[];
  /** DFT^P03 only (meaning INVOICE): the invoice (ZFA, FT1 + ZFT lines), set when it is valid. */
  facture?: AdmissionInvoice;
  /**
   * BAR^P05 only (meaning AMO_PAYMENT): the AMO payment notice (lib/billing/amo.ts AMO_PAYMENT_HL7),
   * set when it is valid. The same shape as lib/billing/amo.ts AmoPayment.
   */
  amoPayment?: AdmissionAmoPayment;
}

/** An AMO payment notice read from a BAR^P05 (amounts in cents). */
export interface AdmissionAmoPayment {
  /** Dossier key: FINESS géographique/V/venue. */
  key: string;
  /** ZFA-1. */
  factureNumero: string;
  /** ZFA-4, in cents. */
  amoCents: number;
  /** ZFA-7, YYYY-MM-DD. */
  paidAt: string;
}
