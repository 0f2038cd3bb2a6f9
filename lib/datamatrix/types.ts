/**
 * Types of the attestation DataMatrix reader (lib/datamatrix).
 *
 * `AttestationLue` is what `parseAttestation` writes on `msg.roc.attestation`: it extends the
 * `Attestation` of lib/model/dossier.ts (every field of it keeps its meaning) with what the desk
 * and the integrator need to trust or question the reading: the grammar used, the text as it was
 * parsed after repairs, the parsed SESAM-Vitale addressing, and the warnings / repairs lists.
 */
import type { Attestation, IsoDate } from '../model/dossier';

/** One repair or warning, with a sentence in French an admission clerk understands. */
export interface AttestationNote {
  code: string;
  message: string;
}

/** SESAM-Vitale addressing `STS/indicateur/code routage/hôte/domaine`, e.g. `M/33/OC/1/seine.fr`. */
export interface AdressageSesam {
  sts: string;
  indicateur: string;
  codeRoutage: string;
  hote: string;
  domaine: string;
}

/** The attestation as read from the DataMatrix (on `msg.roc.attestation`). */
export interface AttestationLue extends Attestation {
  /** Numéro AMC normalised to 10 digits (zero-padded). */
  numeroAmc: string;
  /** Numéro AMC exactly as written in the symbol (e.g. `75500017`). */
  numeroAmcBrut: string;
  /** Type(s) de convention, 2-character codes, in symbol order (one per care domain when several). */
  typesConvention: string[];
  /** Critère secondaire de routage, `''` when empty. */
  csr: string;
  /** Numéro d'adhérent, leading zeros kept. */
  numeroAdherent: string;
  debutValidite: IsoDate;
  finValidite: IsoDate;
  /** SESAM-Vitale addressing as written (`M/33/OC/1/seine.fr`), when present. */
  adressage?: string;
  /** The same addressing split into its five parts. */
  adressageSesam?: AdressageSesam;
  /** The text exactly as received from the scanner or the image decoder. */
  raw: string;
  /** The text the grammar parsed, after repairs (equal to `raw` when nothing was repaired). */
  text: string;
  /** Grammar used to read the symbol. */
  grammar: { id: string; version: string };
  /** Things the desk should know but that do not prevent using the attestation (IDB decides). */
  warnings: AttestationNote[];
  /** Scanner artefacts that were detected and repaired unambiguously. */
  repairs: AttestationNote[];
}

export type ParseSuccess = { ok: true; attestation: AttestationLue };
export type ParseFailure = {
  ok: false;
  /** A sentence in French an admission clerk understands. */
  reason: string;
  /** Stable refusal code (see README: "Codes de refus"). */
  code: string;
  /** The input as received (a NIR read by mistake is masked). */
  raw: string;
  /** Repairs applied before the refusal was decided (e.g. a trailing CR removed). */
  repairs?: AttestationNote[];
  /** Grammar that recognised the symbol, when one did. */
  grammar?: { id: string; version: string };
};
export type ParseResult = ParseSuccess | ParseFailure;

// ---------------------------------------------------------------------------------------------
// Grammar (as data: lib/datamatrix/grammars/*.json)

/** Keys of `AttestationLue` a grammar field can fill. */
export type GrammarFieldKey = 'numeroAmc' | 'typesConvention' | 'csr' | 'numeroAdherent' | 'adressage' | 'debutValidite' | 'finValidite';

export type GrammarFieldType = 'digits' | 'codes' | 'text' | 'date' | 'adressage';

export interface GrammarField {
  key: GrammarFieldKey;
  /** French label used in messages ("numéro AMC", "date de fin de validité"…). */
  label: string;
  type: GrammarFieldType;
  /** Must be non-empty. */
  required?: boolean;
  minLength?: number;
  maxLength?: number;
  /**
   * Fixed width. Mandatory for every field of a `fixed` grammar; in a `separated` grammar, when
   * every field but the last has one, a scan whose separators were dropped can be recovered.
   */
  width?: number;
  /** Padding character of a fixed-width field (`'0'` for digits, `' '` for text by default). */
  pad?: string;
  /** `digits`: normalised value zero-padded to this length (numéro AMC → 10). */
  normaliseTo?: number;
  /** `text`: anchored regular expression the (trimmed) value must match. */
  pattern?: string;
  /** French description of `pattern` for the clerk ("lettres, chiffres, espace, - . /"). */
  patternLabel?: string;
  /** `codes`: name of a list in `codeLists`. */
  codeList?: string;
  /** `codes`: length of one code (2). */
  codeLength?: number;
  minCount?: number;
  maxCount?: number;
  /** `codes`: characters accepted between codes on input (encoding writes none). */
  codeSeparators?: string;
}

export interface AdressageSpec {
  separator: string;
  parts: { key: keyof AdressageSesam; label: string; pattern: string }[];
  example: string;
}

export interface AttestationGrammar {
  id: string;
  version: string;
  description?: string;
  /** Literal tag the text starts with (`ATP01`); what tells an attestation from any other code. */
  prefix: string;
  /** Prefix without its version (`ATP`), to recognise a later, unsupported version. */
  family?: string;
  layout: 'separated' | 'fixed';
  /** `separated`: the field separator (GS, U+001D), also written after the prefix. */
  separator?: string;
  /** Date format: tokens AAAA (or YYYY), AA (YY), MM, JJ (or DD); anything else is literal. */
  dateFormat: string;
  /** Plausible years for validity dates. */
  minYear?: number;
  maxYear?: number;
  fields: GrammarField[];
  codeLists: Record<string, string[]>;
  /** Labels for code-list values (informative). */
  codeLabels?: Record<string, Record<string, string>>;
  adressage?: AdressageSpec;
}

export interface ParseOptions {
  /** Grammars tried in order (default: `DEFAULT_GRAMMARS`). */
  grammars?: AttestationGrammar[];
  /** Admission date `YYYY-MM-DD`: a validity period that does not cover it gives a warning. */
  admissionDate?: string;
}

// ---------------------------------------------------------------------------------------------
// Images

export type DecodeSuccess = { ok: true; text: string; format?: 'png' | 'jpeg'; strategy?: string };
export type DecodeFailure = { ok: false; reason: string; code: string };
export type DecodeResult = DecodeSuccess | DecodeFailure;

export interface DecodeOptions {
  /** Refuse inputs larger than this many bytes (default 10 MB). */
  maxBytes?: number;
  /** Refuse images whose declared size exceeds this many pixels, before decoding (default 16 MP). */
  maxPixels?: number;
  /** Also try small-angle rotations (default true). */
  smallAngles?: boolean;
}

export type ReadOptions = ParseOptions & DecodeOptions;

export interface RenderOptions {
  /** Pixels per module (default 4). */
  scale?: number;
  rotate?: 0 | 90 | 180 | 270;
  /** Draw the symbol small on a white A6 page with text-like noise. */
  page?: boolean;
  /** Grammar used to encode (default: the first default grammar). */
  grammar?: AttestationGrammar;
  /** Seed of the page noise (deterministic pages for tests). */
  seed?: number;
}
