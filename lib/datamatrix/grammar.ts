/**
 * Attestation grammars [profile]: loading and checking the data in grammars/*.json.
 *
 * The byte grammar inside the attestation DataMatrix is not public. A grammar describes it as
 * data (prefix, field order, separator or fixed widths, date format, per-field validation, code
 * lists); `parseAttestation` tries the registered grammars in order. An integrator holding the
 * official description writes a new JSON file and registers it, without touching the parser.
 */
import gsV1 from './grammars/atp-gs-v1.json';
import gsFixedV1 from './grammars/atp-gs-largeurs-fixes-v1.json';
import type { AttestationGrammar, GrammarField, GrammarFieldKey, GrammarFieldType } from './types';

const KEYS: readonly GrammarFieldKey[] = [
  'numeroAmc',
  'typesConvention',
  'csr',
  'numeroAdherent',
  'adressage',
  'debutValidite',
  'finValidite',
];
const TYPES: readonly GrammarFieldType[] = ['digits', 'codes', 'text', 'date', 'adressage'];

/** Thrown when grammar data is malformed (an integrator's error, reported at load time). */
export class GrammarError extends Error {
  constructor(grammarId: string, detail: string) {
    super(`Grammaire d'attestation « ${grammarId} » invalide : ${detail}`);
    this.name = 'GrammarError';
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkRegex(id: string, where: string, source: unknown): void {
  if (typeof source !== 'string') throw new GrammarError(id, `${where} : expression régulière attendue`);
  try {
    new RegExp(source);
  } catch {
    throw new GrammarError(id, `${where} : expression régulière invalide ${source}`);
  }
}

/** Date format tokens. */
export interface DateFormat {
  /** Regex with named groups y, m, d. */
  regex: RegExp;
  width: number;
  twoDigitYear: boolean;
  format: string;
}

export function compileDateFormat(format: string): DateFormat {
  let src = '';
  let width = 0;
  let twoDigitYear = false;
  let i = 0;
  const seen = new Set<string>();
  while (i < format.length) {
    const rest = format.slice(i);
    const token = ['AAAA', 'YYYY', 'AA', 'YY', 'MM', 'JJ', 'DD'].find((t) => rest.startsWith(t));
    if (token) {
      const kind = token[0] === 'A' || token[0] === 'Y' ? 'y' : token[0] === 'M' ? 'm' : 'd';
      if (seen.has(kind)) throw new Error(`format de date ${format} : ${token} répété`);
      seen.add(kind);
      if (token.length === 2 && kind === 'y') twoDigitYear = true;
      src += `(?<${kind}>\\d{${token.length}})`;
      width += token.length;
      i += token.length;
    } else {
      src += format[i].replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
      width += 1;
      i += 1;
    }
  }
  if (!seen.has('y') || !seen.has('m') || !seen.has('d')) throw new Error(`format de date ${format} : il faut AAAA (ou AA), MM et JJ`);
  return { regex: new RegExp(`^${src}$`), width, twoDigitYear, format };
}

/** Write an ISO date in a grammar date format. */
export function formatDate(iso: string, format: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new Error(`date ISO attendue (AAAA-MM-JJ) : ${iso}`);
  return format
    .replace(/AAAA|YYYY/, m[1])
    .replace(/AA|YY/, m[1].slice(2))
    .replace('MM', m[2])
    .replace(/JJ|DD/, m[3]);
}

/**
 * Check grammar data and return it typed. Throws `GrammarError` naming the grammar and the
 * problem (unknown field key, fixed grammar without widths, bad regex, missing code list…).
 */
export function compileGrammar(data: unknown): AttestationGrammar {
  if (!isObj(data)) throw new GrammarError('?', 'objet JSON attendu');
  const id = typeof data.id === 'string' && data.id ? data.id : '?';
  const fail = (detail: string): never => {
    throw new GrammarError(id, detail);
  };
  if (id === '?') fail('champ « id » manquant');
  if (typeof data.version !== 'string' || !data.version) fail('champ « version » manquant');
  if (typeof data.prefix !== 'string' || data.prefix.length < 2) fail('champ « prefix » manquant (2 caractères au moins)');
  if (data.layout !== 'separated' && data.layout !== 'fixed') fail('« layout » doit valoir separated ou fixed');
  if (data.layout === 'separated' && (typeof data.separator !== 'string' || data.separator.length !== 1))
    fail('« separator » : un caractère attendu pour une grammaire separated');
  if (typeof data.dateFormat !== 'string') fail('« dateFormat » manquant');
  try {
    compileDateFormat(data.dateFormat as string);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!isObj(data.codeLists)) fail('« codeLists » manquant');
  if (!Array.isArray(data.fields) || data.fields.length === 0) fail('« fields » : liste de champs attendue');
  const keys = new Set<string>();
  const fields = data.fields as unknown[];
  fields.forEach((f, i) => {
    const where = `champ n° ${i + 1}`;
    if (!isObj(f)) return fail(`${where} : objet attendu`);
    if (!KEYS.includes(f.key as GrammarFieldKey)) fail(`${where} : clé ${String(f.key)} inconnue (${KEYS.join(', ')})`);
    if (keys.has(f.key as string)) fail(`${where} : clé ${String(f.key)} en double`);
    keys.add(f.key as string);
    if (!TYPES.includes(f.type as GrammarFieldType)) fail(`${where} : type ${String(f.type)} inconnu (${TYPES.join(', ')})`);
    if (typeof f.label !== 'string') fail(`${where} : « label » manquant`);
    if (f.width !== undefined && (!Number.isInteger(f.width) || (f.width as number) < 1)) fail(`${where} : largeur invalide`);
    if (data.layout === 'fixed' && f.width === undefined) fail(`${where} : largeur obligatoire dans une grammaire fixed`);
    if (f.pad !== undefined && (typeof f.pad !== 'string' || f.pad.length !== 1)) fail(`${where} : « pad » doit être un caractère`);
    if (f.pattern !== undefined) checkRegex(id, where, f.pattern);
    if (f.type === 'codes') {
      if (typeof f.codeList !== 'string' || !Array.isArray((data.codeLists as Record<string, unknown>)[f.codeList]))
        fail(`${where} : liste de codes ${String(f.codeList)} absente de codeLists`);
      if (!Number.isInteger(f.codeLength) || (f.codeLength as number) < 1) fail(`${where} : « codeLength » manquant`);
    }
    if (f.type === 'date' && f.width === undefined) {
      // A date's width is the date format's width.
      (f as Record<string, unknown>).width = compileDateFormat(data.dateFormat as string).width;
    }
    if (f.type === 'adressage' && !isObj(data.adressage)) fail(`${where} : section « adressage » manquante`);
  });
  if (isObj(data.adressage)) {
    const a = data.adressage;
    if (typeof a.separator !== 'string' || !Array.isArray(a.parts) || a.parts.length === 0)
      fail('« adressage » : separator et parts attendus');
    (a.parts as unknown[]).forEach((p, i) => {
      if (!isObj(p) || typeof p.key !== 'string' || typeof p.label !== 'string') fail(`adressage, partie ${i + 1} : key et label attendus`);
      checkRegex(id, `adressage, partie ${i + 1}`, (p as Record<string, unknown>).pattern);
    });
  }
  for (const k of ['numeroAmc', 'typesConvention', 'numeroAdherent', 'debutValidite', 'finValidite'] as const)
    if (!keys.has(k)) fail(`le champ ${k} est obligatoire (l'un des cinq éléments normalisés de l'attestation)`);
  return data as unknown as AttestationGrammar;
}

/** The grammars shipped with ROC Bridge, in the order the parser tries them. */
export const DEFAULT_GRAMMARS: readonly AttestationGrammar[] = Object.freeze([compileGrammar(gsV1), compileGrammar(gsFixedV1)]);

/** The default grammar (the one used to encode test cards). */
export const DEFAULT_GRAMMAR: AttestationGrammar = DEFAULT_GRAMMARS[0];

/** Fields in order, with the widths enabling recovery of a scan whose separators were dropped. */
export function canRecoverWithoutSeparators(g: AttestationGrammar): boolean {
  return g.fields.every((f: GrammarField, i) => i === g.fields.length - 1 || f.width !== undefined);
}
