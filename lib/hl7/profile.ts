/**
 * PAM-FR profile choices, as DATA, in one place ([profile] in the README: profile data is data).
 *
 * Everything a site or a newer PAM-FR edition could change lives here: the ROC meaning of each
 * trigger event, the required fields per meaning, the PV1-2 → venue type mapping, the name type
 * codes, the FINESS and INS markers, the ZBE actions, the MSH-18 charset names and HL7 table 0357.
 * The mapping code (pamfr.ts, ack.ts, charset.ts) reads these tables and never hard-codes them;
 * every table can also be overridden per listener through the options of `parseAdmission`.
 */

import type { IssueCode, RocMeaning } from '../model/admission';
import type { Charset } from '../model/charset';

/** What the bridge does with an ADT event (shared with HPRIM: lib/model/admission.ts). */
export type { RocMeaning };

/**
 * Trigger event (MSH-9.2) → ROC meaning. Anything not listed is `IGNORE` (acknowledged AA, no action).
 * A08 is forbidden by PAM-FR but legacy GAPs still send it: accepted as an update, like Z99.
 */
export const EVENT_MEANINGS: Readonly<Record<string, RocMeaning>> = {
  A05: 'IDB', // pré-admission
  A01: 'IDB', // admission hospitalisée
  A04: 'IDB', // admission externe / urgences
  A11: 'DEL', // annulation d'admission
  A38: 'DEL', // annulation de pré-admission
  A13: 'DEL', // annulation de sortie
  A03: 'CLC', // sortie
  Z99: 'UPDATE', // mise à jour PAM-FR
  A08: 'UPDATE', // mise à jour (hérité, interdit par PAM-FR, accepté)
  A31: 'IDENTITY', // mise à jour d'identité
  A47: 'IDENTITY', // changement d'identifiant
  A40: 'IDENTITY', // fusion
};

/** Message types (MSH-9.1) the PAM-FR mapper accepts; anything else is answered 200 (AR). */
export const SUPPORTED_MESSAGE_TYPES: readonly string[] = ['ADT', 'DFT', 'BAR'];

/**
 * DFT trigger event (MSH-9.2) → ROC meaning (docs/dft-intake.md). EVENT_MEANINGS stays ADT-only.
 * A DFT trigger not listed here (P11…) is refused AR 200 at MSH-9.2 rather than acknowledged AA
 * and dropped: an invoice the bridge silently ignores would never reach CLC.
 */
export const DFT_EVENT_MEANINGS: Readonly<Record<string, RocMeaning>> = {
  P03: 'INVOICE', // post detail financial transaction: the GAP's invoice
};

/**
 * BAR trigger event (MSH-9.2) → ROC meaning (docs/amo-payments.md): the AMO payment notice, whose
 * ZFA fields are lib/billing/amo.ts AMO_PAYMENT_HL7. Another BAR trigger (P01, P06…) is refused
 * AR 200 at MSH-9.2, as for DFT.
 */
export const BAR_EVENT_MEANINGS: Readonly<Record<string, RocMeaning>> = {
  P05: 'AMO_PAYMENT', // update account: the AMO paid its share of the invoice ZFA-1
};

/**
 * Our DFT^P03 invoice profile (docs/dft-intake.md): the segment names and the ZFA field numbers.
 * The line fields (FT1 and ZFT) are `FT1_FIELDS` of lib/dossier/invoice.ts, the single place both
 * the checks and this reader take them from.
 */
export const DFT_PROFILE = {
  /** Invoice header (our Z-segment, once, after PV1/IN1). */
  header: 'ZFA',
  /** One per billed line. */
  line: 'FT1',
  /** The line's AMO part, right after its FT1. */
  lineAmo: 'ZFT',
  /** ZFA fields: invoice number (required), date, then the four totals (all or none). */
  zfa: { numero: 1, dateFacture: 2, total: 3, amo: 4, amc: 5, patient: 6 },
  /** FT1-1 set id: the line number, 1, 2, 3… in order. */
  ft1SetId: 1,
  /** FT1-2 transaction id (optional). */
  ft1TransactionId: 2,
  /** FT1-6 transaction type and the only value accepted (CG = charge). */
  ft1Type: 6,
  ft1TypeCharge: 'CG',
  /** ZFT-1: the set id of the FT1 it follows. */
  zftSetId: 1,
} as const;

/**
 * Required fields per ROC meaning. `A|B|C` means "A, or else B, or else C": the first one present
 * is used and, when none is, the error 101 is reported at A. The same chains say where the entry
 * and discharge dates are taken from (see DATE_SOURCES).
 *
 * Decision (documented in lib/hl7/README.md): a venue event needs a venue key — PV1-19 (numéro de
 * venue) or, failing it, PID-18 (NDA). With neither, the error is 101 at PV1-19; with the NDA
 * only, a warning (severity W) at PV1-19 and the NDA becomes the ordering key.
 */
export const REQUIRED_BY_MEANING: Readonly<Record<RocMeaning, readonly string[]>> = {
  IDB: ['PID-3', 'PV1-2', 'PV1-19|PID-18', 'PV1-44|PV2-8|ZBE-2|EVN-6'],
  CLC: ['PID-3', 'PV1-19|PID-18', 'PV1-45|ZBE-2|EVN-6'],
  DEL: ['PID-3', 'PV1-19|PID-18'],
  UPDATE: ['PID-3', 'PV1-19|PID-18'],
  IDENTITY: ['PID-3'],
  IGNORE: [],
  INVOICE: ['PID-3', 'PV1-19|PID-18'],
  // The payment names its venue by PV1-19 (the dossier key), no NDA fallback.
  AMO_PAYMENT: ['PID-3', 'PV1-19'],
};

/**
 * Where the entry and discharge dates come from, per meaning (first present wins). The published
 * ANS samples carry no PV1-44/PV1-45: on an admission (IDB) or a discharge (CLC) the movement date
 * ZBE-2 is the date of that very event, then EVN-6 (event occurred).
 */
export const DATE_SOURCES: Readonly<{
  admit: Partial<Record<RocMeaning, readonly string[]>>;
  discharge: Partial<Record<RocMeaning, readonly string[]>>;
}> = {
  admit: { IDB: ['PV1-44', 'PV2-8', 'ZBE-2', 'EVN-6'] },
  discharge: { CLC: ['PV1-45', 'ZBE-2', 'EVN-6'] },
};
/** Used for meanings not listed in DATE_SOURCES. */
export const DEFAULT_DATE_SOURCES = { admit: ['PV1-44'], discharge: ['PV1-45'] } as const;

/** HL7 table 0001 (administrative sex). */
export const SEX_VALUES: readonly string[] = ['F', 'M', 'U', 'O', 'A', 'N'];

/**
 * PV1-2 patient class → ROC venue type (lib/sel/profile.ts `codeLists.typeVenue`).
 * R (recurring patient: séances such as dialysis or chemotherapy) is billed as a hospital stay
 * (GHS séances) in France, hence HOSPITALISATION. N (not applicable) and unknown classes map to
 * nothing: the venue then has no type and the mapper warns with 103 at PV1-2.
 */
export const PATIENT_CLASS_TO_VENUE: Readonly<Record<string, string>> = {
  I: 'HOSPITALISATION',
  O: 'ACE',
  E: 'URGENCE',
  R: 'HOSPITALISATION',
};

/** PID-5 name type codes (PAM-FR 2.11 with INS): L = nom de naissance, D = nom d'usage. */
export const NAME_TYPES = {
  /** Birth (legal) name: PAM-FR 2.11 `L`; legacy feeds sometimes use `B` or `M` (maiden). */
  birth: ['L', 'B', 'M'] as readonly string[],
  /** Usual (used) name. */
  usual: ['D'] as readonly string[],
};

/** Identifier type codes in PID-3. */
export const IDENTIFIER_TYPES = { ipp: 'PI', ins: 'INS', nir: 'NH', nda: 'AN', venue: 'VN' } as const;

/** PID-32 value under which the INS may be used. */
export const INS_QUALIFIED_STATUS = 'VALI';

/** INS OIDs: NIR-based (production and test) before NIA-based (temporary) ones. */
export const INS_OIDS: Readonly<Record<string, 'INS-NIR' | 'INS-NIA'>> = {
  '1.2.250.1.213.1.4.8': 'INS-NIR',
  '1.2.250.1.213.1.4.10': 'INS-NIR', // test
  '1.2.250.1.213.1.4.9': 'INS-NIA',
  '1.2.250.1.213.1.4.11': 'INS-NIA', // test
};

/** Universal id type (HD.3) of an assigning authority carrying a FINESS. */
export const FINESS_KINDS: Readonly<Record<string, 'juridique' | 'geographique'>> = {
  M: 'juridique',
  N: 'geographique',
};

/** ZBE-4 actions. */
export const ZBE_ACTIONS: readonly string[] = ['INSERT', 'UPDATE', 'CANCEL'];

/** IN1-2 kinds of coverage group. */
export const COVERAGE_KINDS = { amo: 'AMO', amc: 'AMC' } as const;

/** Width of a normalised numéro AMC (shared with HPRIM: lib/model/admission.ts). */
export { NUMERO_AMC_LENGTH } from '../model/admission';

/**
 * MSH-18 (HL7 table 0211 plus field spellings) → Node/iconv-lite charset name. Keys are matched
 * case-insensitively after trimming; `ASCII` decodes as ISO 8859-15 (a superset) because legacy
 * feeds declare ASCII and send accented bytes.
 */
export const MSH18_CHARSETS: Readonly<Record<string, Hl7Charset>> = {
  '8859/15': 'iso-8859-15',
  'ISO-8859-15': 'iso-8859-15',
  'ISO8859-15': 'iso-8859-15',
  'ISO IR203': 'iso-8859-15',
  '8859/1': 'latin1',
  'ISO-8859-1': 'latin1',
  'ISO IR100': 'latin1',
  'UNICODE UTF-8': 'utf8',
  'UTF-8': 'utf8',
  UTF8: 'utf8',
  ASCII: 'iso-8859-15',
  'WINDOWS-1252': 'windows-1252',
  CP1252: 'windows-1252',
};

/** The charsets the bridge can decode and encode (shared with HPRIM: lib/model/charset.ts). */
export type Hl7Charset = Charset;

/** The MSH-18 value written back for a charset when the original did not declare one. */
export const CHARSET_TO_MSH18: Readonly<Record<Hl7Charset, string>> = {
  'iso-8859-15': '8859/15',
  latin1: '8859/1',
  utf8: 'UNICODE UTF-8',
  'windows-1252': '8859/15',
};

/** Default charset of a listener (the French default). */
export const DEFAULT_CHARSET: Hl7Charset = 'iso-8859-15';

/** HL7 table 0357 codes used by the bridge: standard text (ERR-3.2) and a French label (ERR-8). */
export const TABLE_0357 = {
  '0': { text: 'Message accepted', fr: 'Message accepté' },
  '100': { text: 'Segment sequence error', fr: 'Erreur de séquence de segments' },
  '101': { text: 'Required field missing', fr: 'Champ obligatoire manquant' },
  '102': { text: 'Data type error', fr: 'Erreur de type de donnée' },
  '103': { text: 'Table value not found', fr: 'Valeur absente de la table' },
  '200': { text: 'Unsupported message type', fr: 'Type de message non pris en charge' },
  '201': { text: 'Unsupported event code', fr: "Code d'événement non pris en charge" },
  '202': { text: 'Unsupported processing id', fr: 'Mode de traitement non pris en charge' },
  '203': { text: 'Unsupported version id', fr: 'Version non prise en charge' },
  '204': { text: 'Unknown key identifier', fr: 'Identifiant inconnu' },
  '205': { text: 'Duplicate key identifier', fr: 'Identifiant en double' },
  '206': { text: 'Application record locked', fr: 'Enregistrement verrouillé' },
  '207': { text: 'Application internal error', fr: 'Erreur interne de l’application' },
} as const satisfies Record<IssueCode, { text: string; fr: string }>;

export type Hl7ErrorCode = keyof typeof TABLE_0357;

/** French names of the fields the mapper reads, used in error messages (never the values). */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  'MSH-1': 'séparateur de champs',
  'MSH-2': 'caractères de codage',
  'MSH-9': 'type de message',
  'MSH-10': 'identifiant du message',
  'MSH-18': 'jeu de caractères',
  'PID-3': 'identifiants du patient',
  'PID-5': 'nom du patient',
  'PID-7': 'date de naissance',
  'PID-8': 'sexe',
  'PID-18': 'numéro de dossier administratif (NDA)',
  'PID-25': 'rang de naissance',
  'PID-32': "statut de l'identité",
  'PV1-2': 'classe de patient',
  'PV1-3': 'localisation',
  'PV1-19': 'numéro de venue',
  'PV1-44': "date d'entrée",
  'PV1-45': 'date de sortie',
  'PV2-8': "date d'entrée prévue",
  'ZBE-1': 'identifiant du mouvement',
  'ZBE-2': 'date du mouvement',
  'ZBE-4': 'action sur le mouvement',
  'ZBE-5': 'indicateur de mouvement historique',
  'IN1-2': 'type de couverture',
  'IN1-3': 'numéro AMC',
  'IN1-12': 'début des droits',
  'IN1-13': 'fin des droits',
  'IN1-49': "numéro d'adhérent",
  'IN3-5': 'taux de prise en charge',
  'ZFA-1': 'numéro de facture',
  'ZFA-2': 'date de facture',
  'ZFA-3': 'total facturé',
  'ZFA-4': 'total AMO',
  'ZFA-5': 'total AMC',
  'ZFA-6': 'total patient',
  'ZFA-7': 'AMO payé le',
  'FT1-1': 'numéro de ligne',
  'FT1-4': 'date de début',
  'FT1-5': 'date de fin',
  'FT1-6': 'type de transaction',
  'FT1-7': 'code de prestation',
  'FT1-10': 'quantité',
  'FT1-11': 'montant',
  'FT1-12': 'prix unitaire',
  'ZFT-1': 'numéro de la ligne FT1',
  'ZFT-2': 'base AMO',
  'ZFT-3': 'taux AMO',
  'ZFT-4': 'montant AMO',
};
