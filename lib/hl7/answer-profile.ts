/**
 * The answer the bridge sends back to the GAP with the ROC results, as DATA ([profile] in the README: profile
 * data is data). answer.ts reads these tables and never hard-codes a segment layout.
 *
 * ## The message
 *
 * HL7 v2.5, PAM-FR style, a Z trigger event on ADT (PAM-FR reserves Z events for national and
 * local extensions, like Z99):
 *
 * ```
 * MSH|^~\&|ROC_BRIDGE|<facility>|<GAP app = original MSH-3>|<GAP facility = original MSH-4>|<now>||ADT^Z80^ADT_A01|<new id>|P|2.5^FRA^2.11|||||FRA|<charset>
 * EVN||<now>||||<result time>
 * PID|1||<IPP CX>^PI||<usual name, when known>|||||||||||||<NDA CX>^AN
 * PV1|1|<PV1-2 as sent, else N>|||||||||||||||||<venue number CX>^VN
 * ZRC|<service>|<OK/KO>|<Y/N technical>|<numéro AMC>|…            (layout: ZRC_FIELDS)
 * ```
 *
 * - `ADT^Z80^ADT_A01` "résultat ROC": one event for every service; ZRC-1 says which service
 *   (IDB, SIM, CLC, DEL) the result is for, or `RSP` for a billing return (BILLING_ANSWER). ADT_A01 is the structure PAM-FR uses for Z99; ZRC is a
 *   Z-segment after PV1, which any PAM-FR receiver must tolerate.
 * - Original acknowledgement mode: MSH-15/16 are empty, the GAP answers one ACK (AA/AE/AR) whose
 *   MSA-2 must equal our MSH-10.
 * - The patient is identified by IPP (PID-3, type PI), NDA (PID-18) and the venue number (PV1-19),
 *   echoed from the admission with their assigning authorities. No NIR, no INS, no birth date: the
 *   GAP already has them. PID-5 (required by v2.5) carries the usual name when the admission had
 *   one (`PATIENT_NAME_ECHO`), else it is left empty.
 */
import type { Hl7Charset } from './profile';

/** MSH-9 of the answer. */
export const ANSWER_MESSAGE_TYPE = { type: 'ADT', event: 'Z80', structure: 'ADT_A01' } as const;

/** MSH-3 default (our application). */
export const ANSWER_SENDING_APPLICATION = 'ROC_BRIDGE';

/** MSH-12: version^country^PAM-FR edition. */
export const ANSWER_VERSION = '2.5^FRA^2.11';

/** MSH-11 processing id, MSH-17 country. */
export const ANSWER_PROCESSING_ID = 'P';
export const ANSWER_COUNTRY = 'FRA';

/** Default charset of the answers (per destination; the French default). */
export const ANSWER_DEFAULT_CHARSET: Hl7Charset = 'iso-8859-15';

/** Prefix of the MSH-10 control ids we generate (≤ 20 characters in all). */
export const ANSWER_CONTROL_ID_PREFIX = 'RB';

/** PID-5 echo: the usual name (name type code D) when the admission had one. */
export const PATIENT_NAME_ECHO = { enabled: true, nameType: 'D' } as const;

/** PV1-2 when the admission did not say (HL7 table 0004: N = not applicable). */
export const DEFAULT_PATIENT_CLASS = 'N';

/** Identifier type codes written in CX.5. */
export const ANSWER_IDENTIFIER_TYPES = { ipp: 'PI', nda: 'AN', venue: 'VN' } as const;

/** Which result a meaning (lib/hl7 profile RocMeaning) is answered with by default. */
export const SERVICE_FOR_MEANING: Readonly<Record<string, AnswerService>> = {
  IDB: 'idb',
  CLC: 'clc',
  DEL: 'del',
  INVOICE: 'clc', // a DFT^P03 invoice goes to CLC: its result answers it
};

/** Online-service results that can be answered, in the order they are looked for when nothing says which. */
export type ResultService = 'annuaire' | 'idb' | 'sim' | 'clc' | 'del';
/** What an answer can be about: an online-service result, or a billing return (`rsp`: the AMC paid or rejected an invoice). */
export type AnswerService = ResultService | 'rsp';
/** The directory is answerable too: an AMC unknown or outside ROC is news the GAP needs. */
export const ANSWER_SERVICES: readonly ResultService[] = ['annuaire', 'idb', 'sim', 'clc', 'del'];

/**
 * [profile] A billing return told to the GAP (msg.roc.billing from roc-rsp, one per invoice the
 * AMC settled): the same ADT^Z80 + ZRC, with ZRC-1 `RSP`. Per invoice state: ZRC-2 status, ZRC-25
 * the invoice state the GAP records, ZRC-18 the action expected of the GAP (a rejection's action
 * comes from its reason in lib/billing/reasons.json: CORRIGER, FACTURER_PATIENT,
 * TRAITEMENT_MANUEL, RENVOYER). ZRC-16 carries a rejection's reason code and label, ZRC-14 the AMC
 * share claimed, ZRC-24 the amount paid, ZRC-23 the invoice number, ZRC-26 the transfer
 * reference, ZRC-10 the engagement billed, ZRC-21 the day of the return.
 */
export const BILLING_ANSWER = {
  service: 'RSP',
  states: {
    paid: { status: 'OK', etat: 'PAYE', action: 'AUCUNE' },
    'partially-paid': { status: 'OK', etat: 'PAYE_PARTIEL', action: 'TRAITEMENT_MANUEL' },
    rejected: { status: 'KO', etat: 'REJETE', action: 'TRAITEMENT_MANUEL' },
  },
} as const satisfies {
  service: string;
  states: Record<string, { status: 'OK' | 'KO'; etat: string; action: string }>;
};
export type BillingAnswerState = keyof typeof BILLING_ANSWER.states;

/** The flat facts a ZRC is written from (answer.ts extracts them from msg.roc). */
export interface AnswerFacts {
  service: string;
  status: string;
  technical: string;
  numeroAmc?: string;
  debutDroits?: string;
  finDroits?: string;
  numeroContrat?: string;
  domaines?: string[];
  dateValidite?: string;
  numeroEngagement?: string;
  dateValiditeEngagement?: string;
  montantFacture?: string;
  montantAmo?: string;
  montantAmc?: string;
  montantPatient?: string;
  codeKo?: string;
  libelleKo?: string;
  motifKo?: string;
  actionGap?: string;
  requestId?: string;
  responseId?: string;
  dateResultat?: string;
  engagementAnnule?: string;
  numeroFacture?: string;
  montantPaye?: string;
  etatFacture?: string;
  referencePaiement?: string;
}

/** HL7 data types the ZRC layout uses. MO is written `amount^EUR`; CWE `code^text^ROC`. */
export type ZrcType = 'ID' | 'ST' | 'DT' | 'DTM' | 'MO' | 'CWE';

export interface ZrcField {
  /** ZRC-n. */
  field: number;
  key: keyof AnswerFacts;
  type: ZrcType;
  /** Repeated with `~` when the fact is a list. */
  repeated?: boolean;
  /** For CWE: the AnswerFacts key holding the text component. */
  textKey?: keyof AnswerFacts;
  /** Maximum length of each value, at least 1 (longer texts are cut); absent: no limit. */
  maxLength?: number;
  /** Documentation (French, the GAP integrator's language). */
  label: string;
}

/** Coding system written in CWE.3 for the ROC codes (KO reasons). */
export const ZRC_CODING_SYSTEM = 'ROC';

/** Currency of the MO fields. */
export const ZRC_CURRENCY = 'EUR';

/** ZRC "résultat ROC": the layout, field by field. */
export const ZRC_SEGMENT = 'ZRC';
export const ZRC_FIELDS: readonly ZrcField[] = [
  { field: 1, key: 'service', type: 'ID', label: 'Service ROC (ANNUAIRE, IDB, SIM, CLC, DEL) ou retour de facturation (RSP)' },
  { field: 2, key: 'status', type: 'ID', label: 'Statut : OK ou KO (pour IDB : droits ouverts ou non)' },
  { field: 3, key: 'technical', type: 'ID', label: 'KO technique (Y : AMC injoignable, délai, réponse illisible ; N sinon)' },
  { field: 4, key: 'numeroAmc', type: 'ST', maxLength: 10, label: 'Numéro AMC (10 chiffres)' },
  { field: 5, key: 'debutDroits', type: 'DT', label: 'Début de la période de couverture' },
  { field: 6, key: 'finDroits', type: 'DT', label: 'Fin de la période de couverture' },
  { field: 7, key: 'numeroContrat', type: 'ST', maxLength: 40, label: 'Numéro de contrat' },
  { field: 8, key: 'domaines', type: 'ID', repeated: true, maxLength: 40, label: 'Domaines couverts (répétés)' },
  { field: 9, key: 'dateValidite', type: 'DT', label: 'Date limite de validité de la réponse IDB' },
  { field: 10, key: 'numeroEngagement', type: 'ST', maxLength: 40, label: "Numéro d'engagement (CLC)" },
  { field: 11, key: 'dateValiditeEngagement', type: 'DT', label: "Date de validité de l'engagement" },
  { field: 12, key: 'montantFacture', type: 'MO', label: 'Montant total facturé' },
  { field: 13, key: 'montantAmo', type: 'MO', label: 'Part AMO' },
  { field: 14, key: 'montantAmc', type: 'MO', label: 'Part AMC' },
  { field: 15, key: 'montantPatient', type: 'MO', label: 'Reste à charge du patient' },
  {
    field: 16,
    key: 'codeKo',
    type: 'CWE',
    textKey: 'libelleKo',
    maxLength: 200,
    label: 'Code et libellé du rejet (catalogue des erreurs AMC)',
  },
  { field: 17, key: 'motifKo', type: 'ST', maxLength: 500, label: 'Motif du KO en clair' },
  {
    field: 18,
    key: 'actionGap',
    type: 'ID',
    label: 'Action attendue du GAP (AUCUNE, REESSAYER, CORRIGER, FACTURER_PATIENT, TRAITEMENT_MANUEL, RENVOYER)',
  },
  { field: 19, key: 'requestId', type: 'ST', maxLength: 80, label: 'Identifiant de la requête ROC' },
  { field: 20, key: 'responseId', type: 'ST', maxLength: 80, label: "Identifiant de la réponse de l'AMC" },
  { field: 21, key: 'dateResultat', type: 'DTM', label: 'Date et heure du résultat' },
  { field: 22, key: 'engagementAnnule', type: 'ST', maxLength: 40, label: "Numéro d'engagement annulé (DEL)" },
  { field: 23, key: 'numeroFacture', type: 'ST', maxLength: 40, label: 'Numéro de facture (RSP)' },
  { field: 24, key: 'montantPaye', type: 'MO', label: "Montant payé par l'AMC (RSP)" },
  { field: 25, key: 'etatFacture', type: 'ID', label: 'État de la facture (RSP) : PAYE, PAYE_PARTIEL, REJETE' },
  { field: 26, key: 'referencePaiement', type: 'ST', maxLength: 20, label: 'Référence du virement (RSP payé)' },
];
