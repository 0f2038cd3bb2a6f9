/**
 * Every sentence the DataMatrix reader shows an admission clerk, in one place.
 *
 * Codes are stable (flows and tests switch on them); messages are French, short, and say what to
 * do. No patient identifier (NIR, name, birth date, numéro d'adhérent) is ever echoed.
 */

export function frDate(iso: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : iso;
}

/** Quote a short value for a message, showing control characters and cutting long values. */
export function quote(value: string, max = 24): string {
  let shown = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    shown += c < 0x20 || c === 0x7f ? `<${c.toString(16).toUpperCase().padStart(2, '0')}>` : ch;
  }
  if (shown.length > max) shown = shown.slice(0, max) + '…';
  return `« ${shown} »`;
}

const RESCAN = 'Scannez à nouveau le DataMatrix de l’attestation.';
const SETUP = 'Faites vérifier la configuration du lecteur (paramétrage du poste) ;';

/** Repairs: artefacts that were detected and corrected without ambiguity. */
export const REPAIRS = {
  SUFFIXE_CLAVIER: () =>
    'Le lecteur ajoute un retour à la ligne ou une tabulation en fin de lecture (émulation clavier) : ce suffixe a été retiré.',
  PREFIXE_AIM: (id: string) => `Le lecteur ajoute l’identifiant de symbologie ${quote(id)} au début de la lecture : il a été retiré.`,
  FNC1_INITIAL: () => 'Le lecteur transmet un FNC1 (caractère GS) au tout début de la lecture, comme pour un code GS1 : il a été retiré.',
  SEPARATEUR_TEXTE: (token: string) =>
    `Le lecteur transmet le séparateur GS sous forme de texte (${quote(token)}) au lieu du caractère de contrôle : il a été reconnu comme séparateur.`,
  SEPARATEUR_CONTROLE: (token: string) =>
    `Le lecteur transmet un autre caractère (${quote(token)}) à la place du séparateur GS/FNC1 : il a été reconnu comme séparateur.`,
  SEPARATEURS_ABSENTS_RECONSTITUES: () =>
    'Le lecteur n’a transmis aucun séparateur GS ; les champs ont été retrouvés grâce à leurs largeurs fixes. Faites configurer le lecteur pour transmettre le GS.',
  AZERTY_DIGITS: () =>
    'Le lecteur est configuré en clavier QWERTY alors que le poste est en AZERTY (les chiffres arrivaient en « &é"\'(-è_çà ») : le texte a été corrigé. Faites passer le lecteur en AZERTY.',
  QWERTY_DIGITS: () =>
    'Le lecteur est configuré en clavier AZERTY alors que le poste est en QWERTY (les chiffres arrivaient en « !@#$%^&*() ») : le texte a été corrigé. Faites configurer le lecteur comme le poste.',
  VERROUILLAGE_MAJUSCULES: () =>
    'Le verrouillage des majuscules du poste inversait majuscules et minuscules pendant la lecture : le texte a été corrigé. Désactivez la touche « Verr. Maj ».',
} as const;

export type RepairCode = keyof typeof REPAIRS;

/** Warnings: the attestation is read, but the desk should know. */
export const WARNINGS = {
  ATTESTATION_PAS_ENCORE_VALIDE: (debut: string, admission: string) =>
    `L’attestation n’est valable qu’à partir du ${frDate(debut)}, après la date d’admission du ${frDate(admission)} : l’interrogation des droits (IDB) tranchera.`,
  ATTESTATION_EXPIREE: (fin: string, admission: string) =>
    `L’attestation a expiré le ${frDate(fin)}, avant la date d’admission du ${frDate(admission)} : demandez une attestation à jour ; l’interrogation des droits (IDB) tranchera.`,
  DATE_ADMISSION_IGNOREE: (value: string) =>
    `La date d’admission transmise (${quote(value)}) n’est pas une date AAAA-MM-JJ : la période de validité n’a pas été comparée.`,
} as const;

/** Refusals: nothing usable was read. */
export const REFUSALS = {
  ENTREE_INVALIDE: () => 'Aucun texte de lecture n’a été transmis au lecteur d’attestation (entrée vide ou d’un type inattendu).',
  SCAN_VIDE: () => `La lecture est vide : le lecteur n’a rien transmis. ${RESCAN}`,
  TEXTE_TROP_LONG: (n: number, max: number) =>
    `La lecture fait ${n} caractères, bien plus qu’une attestation (${max} au plus) : ce n’est pas le DataMatrix d’une attestation de tiers payant.`,
  ILLISIBLE: () =>
    `La lecture ne contient que des caractères illisibles (données binaires) : ce n’est pas une attestation, ou le lecteur est mal configuré. ${RESCAN}`,
  CARTE_VITALE: () =>
    'Ce code contient un numéro de sécurité sociale (carte Vitale ou attestation de droits de l’Assurance Maladie) : ce n’est pas l’attestation de tiers payant de la complémentaire santé. Scannez le DataMatrix de l’attestation de la mutuelle.',
  DEUX_D_DOC: () =>
    'Ce code est un 2D-Doc (justificatif de domicile, avis d’imposition, ordonnance…) : ce n’est pas l’attestation de tiers payant de la complémentaire santé.',
  CODE_GS1: () =>
    'Ce code est un code GS1 de produit ou de médicament (boîte, étiquette) : ce n’est pas l’attestation de tiers payant de la complémentaire santé.',
  CODE_BARRES_PRODUIT: (n: number) =>
    `Ce code est un code-barres à ${n} chiffres (EAN/UPC d’un produit ou d’une étiquette) : ce n’est pas l’attestation de tiers payant de la complémentaire santé.`,
  URL: () =>
    'Ce code contient une adresse internet (QR code d’un site ou d’une application) : ce n’est pas l’attestation de tiers payant de la complémentaire santé.',
  VERSION_NON_PRISE_EN_CHARGE: (tag: string) =>
    `Cette attestation utilise un format (${quote(tag)}) que ce poste ne sait pas encore lire : saisissez l’attestation à la main et signalez-le au support.`,
  PAS_UNE_ATTESTATION: (expected: string) =>
    `Ce code n’est pas le DataMatrix d’une attestation de tiers payant (il ne commence pas par ${expected}). Vérifiez que vous scannez le bon code de l’attestation de la complémentaire santé.`,
  SCAN_INCOMPLET: (detail: string) => `La lecture est incomplète (${detail}) : le lecteur s’est arrêté au milieu du code. ${RESCAN}`,
  SEPARATEURS_ABSENTS: () =>
    `Le lecteur n’a transmis aucun séparateur (GS) entre les champs de l’attestation : impossible de les distinguer. ${SETUP} il doit transmettre le caractère GS (FNC1). Saisissez l’attestation à la main en attendant.`,
  LONGUEUR_INATTENDUE: (n: number, expected: number) =>
    `L’attestation fait ${n} caractères au lieu de ${expected} : format d’attestation non reconnu. Saisissez l’attestation à la main.`,
  CHAMPS_MANQUANTS: (n: number, expected: number) =>
    `L’attestation est lue en entier mais ne contient que ${n} champs au lieu de ${expected} : le lecteur a pu perdre un séparateur GS, ou le format n’est pas reconnu. Saisissez l’attestation à la main.`,
  CHAMPS_EN_TROP: (n: number, expected: number) =>
    `L’attestation contient ${n} champs au lieu de ${expected} : format d’attestation non reconnu. Saisissez l’attestation à la main.`,
  NUMERO_AMC_INVALIDE: (value: string, detail: string) =>
    `Le numéro AMC lu sur l’attestation (${quote(value)}) n’est pas valide : ${detail}.`,
  CONVENTION_ABSENTE: () => 'Le type de convention est absent de l’attestation : il est obligatoire pour trouver l’organisme.',
  CONVENTION_INCONNUE: (value: string, allowed: string[]) =>
    `Le type de convention ${quote(value)} n’est pas reconnu (codes acceptés : ${allowed.join(', ')}).`,
  CSR_INVALIDE: (value: string, detail: string) => `Le critère secondaire de routage lu (${quote(value)}) n’est pas valide : ${detail}.`,
  NUMERO_ADHERENT_INVALIDE: (detail: string) => `Le numéro d’adhérent de l’attestation n’est pas valide : ${detail}.`,
  ADRESSAGE_INVALIDE: (value: string, detail: string, example: string) =>
    `L’adressage SESAM-Vitale ${quote(value, 40)} est mal formé (${detail}) : il doit avoir la forme STS/indicateur/code routage/hôte/domaine, par exemple ${example}.`,
  DATE_INVALIDE: (label: string, value: string, detail: string) => `La ${label} ${quote(value)} n’est pas valide : ${detail}.`,
  PERIODE_INVERSEE: (debut: string, fin: string) =>
    `La fin de validité (${frDate(fin)}) est antérieure au début (${frDate(debut)}) : attestation mal imprimée ou mal lue.`,
  CHAMP_INVALIDE: (label: string, detail: string) => `Le champ « ${label} » de l’attestation n’est pas valide : ${detail}.`,
} as const;

export type RefusalCode = keyof typeof REFUSALS;

/** Image decoding refusals. */
export const IMAGE_REFUSALS = {
  IMAGE_VIDE: () => 'Le fichier image est vide.',
  IMAGE_TROP_LOURDE: (size: string, max: string) =>
    `L’image pèse ${size}, au-delà de la limite de ${max} : photographiez ou numérisez seulement l’attestation, en résolution normale.`,
  IMAGE_TROP_GRANDE: (w: number, h: number, maxMp: string) =>
    `L’image annonce ${w} × ${h} pixels, au-delà de la limite de ${maxMp} mégapixels : elle n’a pas été ouverte. Numérisez l’attestation en résolution normale (150 à 300 ppp).`,
  FORMAT_IMAGE_NON_PRIS_EN_CHARGE: (what: string) =>
    `Ce fichier n’est pas une image PNG ou JPEG (${what}) : enregistrez la numérisation de l’attestation en PNG ou en JPEG.`,
  IMAGE_ILLISIBLE: (format: string) =>
    `Le fichier ${format} est endommagé ou tronqué et n’a pas pu être ouvert : numérisez ou photographiez à nouveau l’attestation.`,
  IMAGE_TROP_LONGUE: (seconds: number) =>
    `L’analyse de l’image a dépassé ${seconds.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} seconde${seconds >= 2 ? 's' : ''} et a été arrêtée : photographiez l’attestation de plus près (le code bien net, sans le reste de la page), ou utilisez la douchette.`,
  IMAGE_TROP_COMPLEXE: () =>
    'L’image n’a pas pu être analysée (elle demande trop de mémoire ou elle est malformée) : photographiez ou numérisez à nouveau l’attestation, en résolution normale, ou utilisez la douchette.',
  LECTEUR_OCCUPE: (n: number) =>
    `Le service de lecture des images est occupé${n > 0 ? ` (${n} image${n > 1 ? 's' : ''} en attente)` : ''} : réessayez dans quelques secondes, ou utilisez la douchette.`,
  DATAMATRIX_INTROUVABLE: () =>
    'Aucun DataMatrix lisible n’a été trouvé sur l’image : vérifiez que le code de l’attestation est entier, net, bien éclairé et pas trop petit, puis recommencez (ou utilisez la douchette).',
} as const;

export type ImageRefusalCode = keyof typeof IMAGE_REFUSALS;
