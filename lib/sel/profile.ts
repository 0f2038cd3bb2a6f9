/**
 * The ROC online-services profile [profile].
 *
 * The official ROC XSDs are not public. This module is the ONE place where our canonical objects
 * (lib/model/dossier.ts) are mapped to XML element names, namespaces, SOAP actions and code lists.
 * It is data only: the SOAP codec, the XSD/WSDL generator and the simulator all read it, so an
 * integrator holding the official schema replaces this file (element names, order, namespaces)
 * without touching node or client logic.
 *
 * Element names follow the class names of the official ROC data model (EnTete,
 * PatientBeneficiaire, AssureAMO, Attestation, Venue, Facture, Ligne, Message, Couverture,
 * Consigne…).
 */

export type FieldType = 'string' | 'date' | 'dateTime' | 'decimal' | 'integer' | 'boolean';

export interface FieldSpec {
  /** Property name on the canonical object. */
  key: string;
  /** XML element name (qualified in the profile namespace). */
  element: string;
  /** Scalar type, or the name of a complex type in `types`. */
  type: FieldType | string;
  required?: boolean;
  repeated?: boolean;
  /** Allowed values (enumeration) for string fields. */
  values?: readonly string[];
  /** Max length for string fields. */
  maxLength?: number;
  /** Regular expression (XSD flavour, anchored) for string fields. */
  pattern?: string;
}

export interface OperationSpec {
  /** Operation name in the WSDL. */
  name: string;
  /** SOAP 1.2 action URI. */
  action: string;
  /** URL path of the service on an AMC endpoint (relative to the base URL). */
  path: string;
  request: { element: string; type: string };
  response: { element: string; type: string };
}

export interface SelProfile {
  id: string;
  version: string;
  namespaces: { soap: string; roc: string };
  /** Preferred prefix for the ROC namespace when encoding. */
  prefix: string;
  types: Record<string, readonly FieldSpec[]>;
  operations: Record<'annuaire' | 'idb' | 'sim' | 'clc' | 'del', OperationSpec>;
  codeLists: Record<string, readonly string[]>;
}

const NS_ROC = 'urn:roc-bridge:profile:sel:1.0';

const codeLists = {
  typeVenue: ['HOSPITALISATION', 'ACE', 'HAD', 'SSR', 'PSY', 'URGENCE'],
  statut: ['OK', 'KO'],
  severite: ['INFO', 'AVERTISSEMENT', 'ERREUR'],
  /** Prestation codes for billing lines. */
  prestation: [
    'GHS', // séjour (groupe homogène de séjours) — ticket modérateur
    'FJ', // forfait journalier hospitalier
    'CP', // chambre particulière (per day)
    'ACC', // lit / repas accompagnant (per day)
    'ACE', // consultation ou acte externe
    'PFB', // participation forfaitaire (acte lourd)
    'TV', // télévision / téléphone (confort)
  ],
  domaine: ['HOSPITALISATION', 'ACE', 'CHAMBRE_PARTICULIERE', 'ACCOMPAGNANT', 'FORFAIT_JOURNALIER'],
  service: ['idb', 'sim', 'clc', 'del'],
} as const;

export const PROFILE: SelProfile = {
  id: 'roc-bridge-sel',
  version: '1.0.0',
  namespaces: {
    soap: 'http://www.w3.org/2003/05/soap-envelope',
    roc: NS_ROC,
  },
  prefix: 'roc',
  codeLists,
  types: {
    // ---- shared ---------------------------------------------------------------------------
    Amc: [
      { key: 'numeroAmc', element: 'NumeroAMC', type: 'string', required: true, pattern: '[0-9]{1,10}' },
      { key: 'typeConvention', element: 'TypeConvention', type: 'string', maxLength: 2 },
      { key: 'csr', element: 'CritereSecondaireRoutage', type: 'string', maxLength: 20 },
    ],
    EnTete: [
      { key: 'requestId', element: 'IdRequete', type: 'string', required: true, maxLength: 64 },
      { key: 'horodatage', element: 'Horodatage', type: 'dateTime', required: true },
      { key: 'versionProfil', element: 'VersionProfil', type: 'string', required: true },
      { key: 'finessJuridique', element: 'FinessJuridique', type: 'string', required: true, pattern: '[0-9AB]{9}' },
      { key: 'finessGeographique', element: 'FinessGeographique', type: 'string', required: true, pattern: '[0-9AB]{9}' },
      { key: 'logiciel', element: 'NomLogiciel', type: 'string', required: true },
      { key: 'versionLogiciel', element: 'VersionLogiciel', type: 'string', required: true },
      { key: 'amc', element: 'AmcDestinataire', type: 'Amc', required: true },
    ],
    EnTeteReponse: [
      { key: 'requestId', element: 'IdRequete', type: 'string', required: true },
      { key: 'responseId', element: 'IdReponse', type: 'string' },
      { key: 'horodatage', element: 'Horodatage', type: 'dateTime' },
    ],
    Message: [
      { key: 'code', element: 'Code', type: 'string', required: true },
      { key: 'groupe', element: 'Groupe', type: 'string' },
      { key: 'severite', element: 'Severite', type: 'string', values: codeLists.severite },
      { key: 'libelle', element: 'Libelle', type: 'string' },
    ],
    Consigne: [
      { key: 'code', element: 'Code', type: 'string', required: true },
      { key: 'libelle', element: 'Libelle', type: 'string' },
    ],
    PatientBeneficiaire: [
      { key: 'nir', element: 'NIR', type: 'string', required: true, pattern: '[0-9]{5}([0-9]{2}|2[AB])[0-9]{6}' },
      { key: 'cleNir', element: 'CleNIR', type: 'string', pattern: '[0-9]{2}' },
      { key: 'dateNaissance', element: 'DateNaissance', type: 'date', required: true },
      { key: 'rangNaissance', element: 'RangNaissance', type: 'integer' },
      { key: 'nom', element: 'NomUsuel', type: 'string', required: true },
      { key: 'nomNaissance', element: 'NomNaissance', type: 'string' },
      { key: 'prenom', element: 'Prenom', type: 'string', required: true },
      { key: 'numeroAdherent', element: 'NumeroAdherent', type: 'string' },
    ],
    AssureAMO: [
      { key: 'regime', element: 'CodeRegime', type: 'string' },
      { key: 'caisse', element: 'CaisseGestionnaire', type: 'string' },
      { key: 'centre', element: 'CentreGestionnaire', type: 'string' },
    ],
    Attestation: [
      { key: 'numeroAmc', element: 'NumeroAMC', type: 'string', required: true },
      { key: 'typesConvention', element: 'TypeConvention', type: 'string', repeated: true },
      { key: 'csr', element: 'CritereSecondaireRoutage', type: 'string' },
      { key: 'numeroAdherent', element: 'NumeroAdherent', type: 'string' },
      { key: 'debutValidite', element: 'DebutValidite', type: 'date' },
      { key: 'finValidite', element: 'FinValidite', type: 'date' },
    ],
    Venue: [
      { key: 'type', element: 'TypeVenue', type: 'string', required: true, values: codeLists.typeVenue },
      { key: 'dateEntree', element: 'DateEntree', type: 'date', required: true },
      { key: 'dateSortie', element: 'DateSortie', type: 'date' },
      { key: 'numeroDossier', element: 'NumeroDossier', type: 'string' },
      { key: 'numeroVenue', element: 'NumeroVenue', type: 'string' },
    ],
    Ligne: [
      { key: 'numero', element: 'NumeroLigne', type: 'integer', required: true },
      { key: 'code', element: 'CodePrestation', type: 'string', required: true },
      { key: 'dateDebut', element: 'DateDebut', type: 'date', required: true },
      { key: 'dateFin', element: 'DateFin', type: 'date' },
      { key: 'quantite', element: 'Quantite', type: 'decimal', required: true },
      { key: 'prixUnitaire', element: 'PrixUnitaire', type: 'decimal', required: true },
      { key: 'baseAmo', element: 'BaseAMO', type: 'decimal', required: true },
      { key: 'tauxAmo', element: 'TauxAMO', type: 'decimal', required: true },
      { key: 'montantAmo', element: 'MontantAMO', type: 'decimal', required: true },
    ],
    Facture: [
      { key: 'numero', element: 'NumeroFacture', type: 'string', required: true },
      { key: 'dateFacture', element: 'DateFacture', type: 'date' },
      { key: 'lignes', element: 'Ligne', type: 'Ligne', required: true, repeated: true },
    ],
    Periode: [
      { key: 'debut', element: 'Debut', type: 'date', required: true },
      { key: 'fin', element: 'Fin', type: 'date' },
    ],
    Couverture: [
      { key: 'numeroContrat', element: 'NumeroContrat', type: 'string' },
      { key: 'periodes', element: 'Periode', type: 'Periode', repeated: true },
      { key: 'domaines', element: 'Domaine', type: 'string', repeated: true },
    ],
    Montants: [
      { key: 'totalFacture', element: 'TotalFacture', type: 'decimal', required: true },
      { key: 'totalAmo', element: 'TotalAMO', type: 'decimal', required: true },
      { key: 'totalAmc', element: 'TotalAMC', type: 'decimal', required: true },
      { key: 'resteACharge', element: 'ResteACharge', type: 'decimal', required: true },
    ],
    LigneReponse: [
      { key: 'numero', element: 'NumeroLigne', type: 'integer', required: true },
      { key: 'code', element: 'CodePrestation', type: 'string', required: true },
      { key: 'montantAmc', element: 'MontantAMC', type: 'decimal', required: true },
      { key: 'montantPatient', element: 'MontantPatient', type: 'decimal', required: true },
    ],
    ServiceEndpoint: [
      { key: 'service', element: 'Service', type: 'string', required: true, values: codeLists.service },
      { key: 'url', element: 'Url', type: 'string', required: true },
    ],
    AmcAnnuaire: [
      { key: 'numeroAmc', element: 'NumeroAMC', type: 'string', required: true },
      { key: 'nom', element: 'Nom', type: 'string' },
      { key: 'operateur', element: 'Operateur', type: 'string' },
      { key: 'enRoc', element: 'EnROC', type: 'boolean', required: true },
    ],

    // ---- annuaire -------------------------------------------------------------------------
    RechercheAnnuaireRequete: [{ key: 'enTete', element: 'EnTete', type: 'EnTete', required: true }],
    RechercheAnnuaireReponse: [
      { key: 'enTete', element: 'EnTeteReponse', type: 'EnTeteReponse', required: true },
      { key: 'statut', element: 'Statut', type: 'string', required: true, values: codeLists.statut },
      { key: 'messages', element: 'Message', type: 'Message', repeated: true },
      { key: 'amc', element: 'Amc', type: 'AmcAnnuaire' },
      { key: 'services', element: 'PointAcces', type: 'ServiceEndpoint', repeated: true },
      { key: 'dureeValidite', element: 'DureeValiditeSecondes', type: 'integer' },
    ],

    // ---- IDB ------------------------------------------------------------------------------
    IdbRequete: [
      { key: 'enTete', element: 'EnTete', type: 'EnTete', required: true },
      { key: 'beneficiaire', element: 'PatientBeneficiaire', type: 'PatientBeneficiaire', required: true },
      { key: 'assureAmo', element: 'AssureAMO', type: 'AssureAMO' },
      { key: 'attestation', element: 'Attestation', type: 'Attestation' },
      { key: 'venue', element: 'Venue', type: 'Venue', required: true },
    ],
    IdbReponse: [
      { key: 'enTete', element: 'EnTeteReponse', type: 'EnTeteReponse', required: true },
      { key: 'statut', element: 'Statut', type: 'string', required: true, values: codeLists.statut },
      { key: 'messages', element: 'Message', type: 'Message', repeated: true },
      { key: 'couverture', element: 'Couverture', type: 'Couverture' },
      { key: 'consignes', element: 'Consigne', type: 'Consigne', repeated: true },
      { key: 'dateValidite', element: 'DateValiditeReponse', type: 'date' },
    ],

    // ---- SIM / CLC ------------------------------------------------------------------------
    SimRequete: [
      { key: 'enTete', element: 'EnTete', type: 'EnTete', required: true },
      { key: 'beneficiaire', element: 'PatientBeneficiaire', type: 'PatientBeneficiaire', required: true },
      { key: 'assureAmo', element: 'AssureAMO', type: 'AssureAMO' },
      { key: 'attestation', element: 'Attestation', type: 'Attestation' },
      { key: 'venue', element: 'Venue', type: 'Venue', required: true },
      { key: 'facture', element: 'Facture', type: 'Facture', required: true },
    ],
    SimReponse: [
      { key: 'enTete', element: 'EnTeteReponse', type: 'EnTeteReponse', required: true },
      { key: 'statut', element: 'Statut', type: 'string', required: true, values: codeLists.statut },
      { key: 'messages', element: 'Message', type: 'Message', repeated: true },
      { key: 'montants', element: 'Montants', type: 'Montants' },
      { key: 'lignes', element: 'LigneReponse', type: 'LigneReponse', repeated: true },
      { key: 'consignes', element: 'Consigne', type: 'Consigne', repeated: true },
    ],
    ClcRequete: [
      { key: 'enTete', element: 'EnTete', type: 'EnTete', required: true },
      { key: 'beneficiaire', element: 'PatientBeneficiaire', type: 'PatientBeneficiaire', required: true },
      { key: 'assureAmo', element: 'AssureAMO', type: 'AssureAMO' },
      { key: 'attestation', element: 'Attestation', type: 'Attestation' },
      { key: 'venue', element: 'Venue', type: 'Venue', required: true },
      { key: 'facture', element: 'Facture', type: 'Facture', required: true },
    ],
    ClcReponse: [
      { key: 'enTete', element: 'EnTeteReponse', type: 'EnTeteReponse', required: true },
      { key: 'statut', element: 'Statut', type: 'string', required: true, values: codeLists.statut },
      { key: 'messages', element: 'Message', type: 'Message', repeated: true },
      { key: 'montants', element: 'Montants', type: 'Montants' },
      { key: 'lignes', element: 'LigneReponse', type: 'LigneReponse', repeated: true },
      { key: 'consignes', element: 'Consigne', type: 'Consigne', repeated: true },
      { key: 'numeroEngagement', element: 'NumeroEngagement', type: 'string' },
      { key: 'dateValiditeEngagement', element: 'DateValiditeEngagement', type: 'date' },
    ],

    // ---- DEL ------------------------------------------------------------------------------
    DelRequete: [
      { key: 'enTete', element: 'EnTete', type: 'EnTete', required: true },
      { key: 'numeroEngagement', element: 'NumeroEngagement', type: 'string', required: true },
      { key: 'numeroFacture', element: 'NumeroFacture', type: 'string' },
      { key: 'motif', element: 'MotifAnnulation', type: 'string' },
    ],
    DelReponse: [
      { key: 'enTete', element: 'EnTeteReponse', type: 'EnTeteReponse', required: true },
      { key: 'statut', element: 'Statut', type: 'string', required: true, values: codeLists.statut },
      { key: 'messages', element: 'Message', type: 'Message', repeated: true },
      { key: 'numeroEngagement', element: 'NumeroEngagement', type: 'string' },
    ],
  },
  operations: {
    annuaire: {
      name: 'RechercheAnnuaire',
      action: `${NS_ROC}#RechercheAnnuaire`,
      path: '/annuaire',
      request: { element: 'RechercheAnnuaireRequete', type: 'RechercheAnnuaireRequete' },
      response: { element: 'RechercheAnnuaireReponse', type: 'RechercheAnnuaireReponse' },
    },
    idb: {
      name: 'IdentificationDroitsBeneficiaire',
      action: `${NS_ROC}#IDB`,
      path: '/idb',
      request: { element: 'IdbRequete', type: 'IdbRequete' },
      response: { element: 'IdbReponse', type: 'IdbReponse' },
    },
    sim: {
      name: 'Simulation',
      action: `${NS_ROC}#SIM`,
      path: '/sim',
      request: { element: 'SimRequete', type: 'SimRequete' },
      response: { element: 'SimReponse', type: 'SimReponse' },
    },
    clc: {
      name: 'Calcul',
      action: `${NS_ROC}#CLC`,
      path: '/clc',
      request: { element: 'ClcRequete', type: 'ClcRequete' },
      response: { element: 'ClcReponse', type: 'ClcReponse' },
    },
    del: {
      name: 'Annulation',
      action: `${NS_ROC}#DEL`,
      path: '/del',
      request: { element: 'DelRequete', type: 'DelRequete' },
      response: { element: 'DelReponse', type: 'DelReponse' },
    },
  },
};
