/**
 * HPRIM profile, stored as DATA: every field position, code list and element name the readers and
 * the acknowledgement builders use. [profile] marks a choice made without the official HPRIM
 * Santé ADM / HPRIM XML specification at hand: this file is the one place to correct it.
 *
 * Field numbering follows ASTM E1394 (on which HPRIM Santé is built): field 1 is the record type,
 * field 2 the first value after it, so in `H|~^\&|F.HPR` H-2 is the delimiter set and H-3 the file
 * name. A field is split in repetitions, then components, then subcomponents (1-based).
 */
import type { RocMeaning } from '../model/admission';
import type { Charset } from '../model/charset';

/** Delimiters when H-2 is missing or short (HPRIM Santé default: reverse of HL7 for ~ and ^). */
export const DEFAULT_DELIMITERS = { field: '|', component: '~', repetition: '^', escape: '\\', subcomponent: '&' } as const;

/** A line starting with this prefix continues the previous record (its text is appended as is). */
export const CONTINUATION_PREFIX = 'A|';

/** Record types read by the ADM reader; any other record (OBR, OBX, C…) is read and ignored. */
export const RECORD_TYPES = { header: 'H', patient: 'P', amo: 'AP', amc: 'AC', trailer: 'L' } as const;

/** Message types (H-7) this reader maps to admissions. */
export const ADM_MESSAGE_TYPES: readonly string[] = ['ADM'];

/** A field position: field number (ASTM numbering), optional component (1-based). */
export interface FieldPos {
  field: number;
  component?: number;
}

/** H record (header). */
export const H_FIELDS = {
  delimiters: { field: 2 },
  messageId: { field: 3 }, // nom du fichier / identifiant du message
  password: { field: 4 },
  sender: { field: 5 }, // identifiant~nom de l'émetteur
  senderAddress: { field: 6 },
  messageType: { field: 7 }, // ADM, ORU, ORM, FAC, REG, ERR…
  senderPhone: { field: 8 },
  characteristics: { field: 9 },
  receiver: { field: 10 }, // identifiant~nom du destinataire
  comment: { field: 11 },
  processingId: { field: 12 }, // P production, T test, D debug
  version: { field: 13 }, // H2.1~C
  dateTime: { field: 14 },
  /** [profile] Not in HPRIM Santé 2.1: some emitters append the charset after the date. */
  charset: { field: 15 },
} as const;

/** P record (patient + venue). [profile] positions after P-11 are to check against the ADM spec. */
export const P_FIELDS = {
  sequence: { field: 2 },
  ipp: { field: 3 }, // identifiant patient attribué par l'émetteur (IPP)
  nda: { field: 4 }, // numéro de dossier administratif
  numeroVenue: { field: 5 }, // [profile] troisième identifiant : numéro de venue
  nom: { field: 6, component: 1 }, // nom d'usage~prénom~…
  prenom: { field: 6, component: 2 },
  nomNaissance: { field: 7 },
  dateNaissance: { field: 8 },
  sexe: { field: 9 },
  adresse: { field: 11 }, // rue~complément~ville~région~code postal~pays
  telephone: { field: 13 },
  admitDate: { field: 24, component: 1 }, // date d'entrée~date de sortie
  dischargeDate: { field: 24, component: 2 },
  patientClass: { field: 25 }, // statut : IP, OP, ER…
  location: { field: 26 }, // UF~chambre~lit (as ASTM P-26)
  /** [profile] Movement code (type de mouvement). When empty, the meaning is inferred (EVENT_INFERENCE). */
  event: { field: 29 },
} as const;

/** AP record (couverture AMO). [profile] */
export const AP_FIELDS = {
  sequence: { field: 2 },
  nir: { field: 3, component: 1 }, // NIR de l'assuré (13)~clé
  nirKey: { field: 3, component: 2 },
  nomAssure: { field: 4, component: 1 },
  prenomAssure: { field: 4, component: 2 },
  regime: { field: 5, component: 1 }, // grand régime~caisse~centre
  caisse: { field: 5, component: 2 },
  centre: { field: 5, component: 3 },
  debutDroits: { field: 6 },
  finDroits: { field: 7 },
  qualite: { field: 8 }, // qualité du bénéficiaire
  exoneration: { field: 9 },
} as const;

/** AC record (couverture AMC). [profile] */
export const AC_FIELDS = {
  sequence: { field: 2 },
  numeroAmc: { field: 3 },
  organisme: { field: 4 },
  numeroAdherent: { field: 5 }, // kept as sent (leading zeros)
  typeConvention: { field: 6 },
  debutDroits: { field: 7 },
  finDroits: { field: 8 },
  garanties: { field: 9 }, // repetitions: FRJ^PRI…
  csr: { field: 10 },
} as const;

/** L record (trailer). [profile] L-4 = number of P records, L-5 = number of physical lines H..L. */
export const L_FIELDS = {
  sequence: { field: 2 },
  patientCount: { field: 4 },
  lineCount: { field: 5 },
  batch: { field: 6 },
} as const;

/**
 * Required fields of an ADM P record (a missing one refuses the file, with line/record/field).
 * A venue needs P-5 or P-4 (checked in the reader like PV1-19|PID-18 in lib/hl7).
 */
export const P_REQUIRED: readonly (keyof typeof P_FIELDS)[] = ['ipp'];

/** [profile] Movement code (P-29) → ROC meaning. */
export const EVENT_MEANINGS: Readonly<Record<string, RocMeaning>> = {
  PA: 'IDB', // pré-admission
  A: 'IDB', // admission
  E: 'IDB', // entrée (synonyme)
  S: 'CLC', // sortie
  M: 'UPDATE', // modification
  AA: 'DEL', // annulation d'admission
  AS: 'DEL', // annulation de sortie
  I: 'IDENTITY', // mise à jour d'identité
};

/** Event name used on the Admission when P-29 is empty: inferred from the dates. */
export const EVENT_INFERENCE = { withDischarge: { event: 'S', meaning: 'CLC' }, admitOnly: { event: 'A', meaning: 'IDB' } } as const;

/** P-25 admission status → ROC venue type (lib/sel/profile.ts codeLists.typeVenue). */
export const PATIENT_CLASS_TO_VENUE: Readonly<Record<string, string>> = {
  IP: 'HOSPITALISATION',
  H: 'HOSPITALISATION',
  OP: 'ACE',
  C: 'ACE',
  ER: 'URGENCE',
  U: 'URGENCE',
};

/** Charset names accepted in H-15 (case-insensitive). Without one the reader sniffs UTF-8, else ISO 8859-15. */
export const CHARSET_NAMES: Readonly<Record<string, Charset>> = {
  'ISO-8859-15': 'iso-8859-15',
  'ISO8859-15': 'iso-8859-15',
  '8859/15': 'iso-8859-15',
  'ISO-8859-1': 'latin1',
  'ISO8859-1': 'latin1',
  '8859/1': 'latin1',
  'UTF-8': 'utf8',
  UTF8: 'utf8',
  'WINDOWS-1252': 'windows-1252',
  CP1252: 'windows-1252',
};
export const DEFAULT_CHARSET: Charset = 'iso-8859-15';

/** Error codes of both readers, with the French label used in messages and acknowledgements. */
export const ERROR_CODES = {
  EMPTY: 'Fichier vide',
  NO_HEADER: "Pas d'enregistrement H en tête de fichier",
  BAD_DELIMITERS: 'Délimiteurs HPRIM invalides dans le H',
  NOT_ADM: "Ce n'est pas un fichier d'admission (ADM)",
  TRUNCATED: 'Fichier tronqué',
  COUNT_MISMATCH: "Compteurs de l'enregistrement L incohérents",
  RECORD_ORDER: 'Enregistrement hors séquence',
  MISSING_FIELD: 'Champ obligatoire manquant',
  BAD_DATE: 'Date invalide',
  BAD_VALUE: 'Valeur invalide',
  UNKNOWN_CHARSET: 'Jeu de caractères inconnu',
  XML_TOO_LARGE: 'Document XML trop volumineux',
  XML_DTD: 'DOCTYPE ou entité refusés',
  XML_MALFORMED: 'XML mal formé',
  XML_NAMESPACE: 'Espace de noms HPRIM XML attendu',
  XML_NOT_EVENEMENTS: 'Document evenementsPatients attendu',
} as const;
export type HprimErrorCode = keyof typeof ERROR_CODES;

/**
 * Refusals of a dropped file before (or instead of) the readers, with their French labels: the
 * file does not start like either format (`H` + a delimiter, or `<` after a BOM and blanks), or it
 * is larger than the intake's limit and is not read at all.
 */
export const FILE_REFUSALS = {
  NOT_HPRIM: "Ce n'est pas un fichier HPRIM (ni enregistrement H en tête, ni document XML)",
  FILE_TOO_LARGE: 'Fichier trop volumineux',
} as const;
export type HprimFileRefusalCode = keyof typeof FILE_REFUSALS;

/** Default size limit of a dropped file (larger ones are refused unread, FILE_TOO_LARGE). */
export const DEFAULT_MAX_FILE_BYTES = 20 * 1024 * 1024;

/**
 * The one-line text of a refused file (node errors, logs): names the file, the first error and
 * where its acknowledgement went, never patient data. `{file}`, `{reason}`, `{more}`, `{ack}` and
 * `{n}` are replaced (lib/hprim/file.ts refusalText).
 */
export const REFUSAL_TEXT = {
  line: 'HPRIM : fichier {file} refusé, {reason}{more} ; acquittement {ack}, fichier déplacé en erreur',
  more: ' (+{n} autre(s))',
  /** Reason when no error was recorded. */
  noReason: 'erreur',
  /** Acknowledgement name when none was written. */
  noAck: '-',
} as const;

/**
 * Acknowledgement file names, from the dropped file's name (what the GAP knows): HPRIM Santé
 * `<file>.ACK` (accepted) / `<file>.ERR` (refused); HPRIM XML `<file without .xml>.acq.xml`.
 */
export const ACK_FILE_NAMES = {
  santeAccepted: '{file}.ACK',
  santeRefused: '{file}.ERR',
  xml: '{stem}.acq.xml',
  /** A file refused before reading is answered in the format its name suggests: XML when it matches. */
  xmlName: /\.xml$/i,
} as const;

/** Warning codes (the file is accepted, the acknowledgement reports them). */
export const WARNING_LABELS = {
  COUNT_ABSENT: 'Compteurs du L absents',
  UNKNOWN_CLASS: 'Statut de venue inconnu',
  UNKNOWN_EVENT: 'Mouvement inconnu',
  VENUE_FROM_NDA: 'Numéro de venue absent',
  AMO_CODE: 'Code organisme AMO inattendu',
  UNKNOWN_CHARSET: 'Jeu de caractères inconnu',
  IGNORED_DEBITEUR: 'Débiteur ignoré',
} as const;
export type HprimWarningCode = keyof typeof WARNING_LABELS;

// ---- HPRIM XML ------------------------------------------------------------------------------

export const HPRIM_XML_NS = 'http://www.hprim.org/hprimXML';
export const XML_MAX_BYTES = 2 * 1024 * 1024;

/** Element names read in evenementsPatients. [profile] checked against published fragments, not the XSD. */
export const XML = {
  root: 'evenementsPatients',
  entete: 'enteteMessage',
  identifiantMessage: 'identifiantMessage',
  dateHeureProduction: 'dateHeureProduction',
  emetteur: 'emetteur',
  destinataire: 'destinataire',
  evenement: 'evenementPatient',
  venuePatient: 'venuePatient',
  mouvementPatient: 'mouvementPatient',
  debiteursVenue: 'debiteursVenue',
  ackRoot: 'acquittementsPatients',
} as const;

/** XML event element + action attribute → ROC meaning and the event name put on the Admission. */
export const XML_EVENT_MEANINGS: Readonly<Record<string, Readonly<Record<string, RocMeaning>>>> = {
  venuePatient: { création: 'IDB', creation: 'IDB', modification: 'UPDATE', suppression: 'DEL' },
  mouvementPatient: { création: 'UPDATE', creation: 'UPDATE', modification: 'UPDATE', suppression: 'UPDATE' },
  debiteursVenue: { création: 'UPDATE', creation: 'UPDATE', modification: 'UPDATE', suppression: 'UPDATE' },
};
/** venuePatient with a sortie date (and action création/modification) is a discharge (CLC). */
export const XML_DISCHARGE_IS_CLC = true;

/** natureVenueHprim @valeur → ROC venue type. */
export const XML_NATURE_VENUE: Readonly<Record<string, string>> = {
  hsp: 'HOSPITALISATION',
  cslt: 'ACE',
  ext: 'ACE',
  urg: 'URGENCE',
  sc: 'HOSPITALISATION', // séances
};

/** Where coverage is read in a debiteur. [profile] AMC element names to check against the XSD. */
export const XML_DEBITEUR = {
  debiteur: 'debiteur',
  assurance: 'assurance',
  /** AMO part of an assurance. */
  obligatoire: 'obligatoire',
  grandRegime: 'grandRegime',
  caisse: 'caisseAffiliation',
  centre: 'centrePaiement',
  /** AMC part of an assurance. [profile] */
  complementaire: 'complementaire',
  numeroAmc: 'numeroOrganisme',
  numeroAdherent: 'numeroAdherent',
  typeConvention: 'typeConvention',
  dates: 'dates',
  debut: 'dateDebutDroit',
  fin: 'dateFinDroit',
  assure: 'assure',
  immatriculation: 'immatriculation',
} as const;

// ---- acknowledgements -----------------------------------------------------------------------

/** acquittementsPatients statut values. */
export const ACK_STATUS = { ok: 'OK', erreur: 'erreur', avertissement: 'avertissement' } as const;
/** Version written on acquittementsPatients. [profile] */
export const ACK_XML_VERSION = '1.05';

/**
 * [profile] HPRIM Santé acknowledgement file: H (type ACK when accepted, ERR when refused), one ERR
 * record per observation, then L. ERR fields (ASTM numbering):
 * ERR-2 sequence, ERR-3 acknowledged message (H-3 of the original), ERR-4 status (OK / ERREUR /
 * AVERTISSEMENT), ERR-5 code, ERR-6 libellé, ERR-7 place: ligne~enregistrement~champ.
 */
export const SANTE_ACK = {
  typeAccepted: 'ACK',
  typeRefused: 'ERR',
  errRecord: 'ERR',
  version: 'H2.2~C',
  status: { ok: 'OK', error: 'ERREUR', warning: 'AVERTISSEMENT' },
} as const;

/** HPRIM XML @action → movement.action on the Admission (same words as ZBE-4). */
export const XML_ACTIONS: Readonly<Record<string, string>> = {
  création: 'INSERT',
  creation: 'INSERT',
  modification: 'UPDATE',
  suppression: 'CANCEL',
};

/** Element names inside patient / venue / mouvement. [profile] to check against the XSD. */
export const XML_PATIENT = {
  identifiant: 'identifiant',
  emetteur: 'emetteur',
  valeur: 'valeur',
  personnePhysique: 'personnePhysique',
  sexe: '@_sexe',
  nomUsuel: 'nomUsuel',
  nomNaissance: 'nomNaissance',
  prenoms: 'prenoms',
  prenom: 'prenom',
  dateNaissance: 'dateNaissance',
  date: 'date',
  heure: 'heure',
} as const;
export const XML_VENUE = {
  identifiant: 'identifiant',
  /** [profile] NDA element. */
  nda: 'numeroDossier',
  nature: 'natureVenueHprim',
  entree: 'entree',
  sortie: 'sortie',
  dateHeure: 'dateHeureOptionnelle',
} as const;
export const XML_MOUVEMENT = {
  mouvement: 'mouvement',
  identifiant: 'identifiant',
  dateHeure: 'dateHeureEvenement',
  ufMedicale: 'uniteFonctionnelleResponsable',
  ufSoins: 'uniteFonctionnelleSoins',
  code: 'code',
  libelle: 'libelle',
} as const;

/** Elements always read as lists. */
export const XML_LIST_ELEMENTS: readonly string[] = ['evenementPatient', 'agent', 'prenom', 'debiteur', 'mouvement', 'observation'];

/** acquittementsPatients element names. [profile] to check against the HPRIM XML acquittement XSD. */
export const ACK_XML = {
  root: 'acquittementsPatients',
  entete: 'enteteMessageAcquittement',
  statutAttr: 'statut',
  identifiantMessage: 'identifiantMessage',
  dateHeureProduction: 'dateHeureProduction',
  emetteur: 'emetteur',
  destinataire: 'destinataire',
  identifiantMessageAcquitte: 'identifiantMessageAcquitte',
  observations: 'observations',
  observation: 'observation',
  code: 'code',
  libelle: 'libelle',
  commentaire: 'commentaire',
} as const;
