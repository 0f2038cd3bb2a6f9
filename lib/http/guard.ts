/**
 * Bounded input for the HTTP endpoints, checked on the raw bytes BEFORE anything parses or clones
 * them (pure functions, no Node-RED, no express):
 *
 * - `JsonShapeScanner`: a streaming scan of a JSON body, chunk by chunk, that counts nesting depth,
 *   elements (object members + array items) and string lengths without building anything — no
 *   recursion, constant memory. A 5,000-level nested array is refused at its 33rd bracket, long
 *   before `JSON.parse`, Node-RED's `cloneMessage` or `JSON.stringify` could overflow the stack on it.
 * - `parseJsonBody`: scan, then parse (the only place a guarded body is parsed).
 * - `parseMultipart`: a strict multipart/form-data reader (the desk's photo upload): a malformed
 *   body is a refusal with a reason, never an exception; bounded parts, headers and fields.
 *
 * Every refusal is a `Refusal` (HTTP status, a stable code, a French reason for the person who
 * sent it). Reasons never quote the body: it may hold a NIR.
 */

export interface JsonLimits {
  /** Bytes of the whole body. */
  maxBytes: number;
  /** Nesting of arrays and objects ([[1]] is depth 2). */
  maxDepth: number;
  /** Object members + array items, over the whole document. */
  maxItems: number;
  /** Bytes of one string (key or value), as written (escapes count as written). */
  maxStringBytes: number;
}

export type RefusalCode =
  | 'DEMANDE_TROP_LOURDE'
  | 'IMAGE_TROP_LOURDE'
  | 'TAILLE_INCONNUE'
  | 'JSON_INVALIDE'
  | 'JSON_TROP_PROFOND'
  | 'JSON_TROP_D_ELEMENTS'
  | 'TEXTE_TROP_LONG'
  | 'MULTIPART_INVALIDE'
  | 'TYPE_NON_PRIS_EN_CHARGE';

export interface Refusal {
  status: 400 | 411 | 413 | 415;
  code: RefusalCode;
  reason: string;
}

/** "5 Mo", "256 Ko": a size as a French reader expects it. */
export function formatBytes(n: number): string {
  const mo = n / (1024 * 1024);
  return mo >= 1 ? `${mo.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} Mo` : `${Math.ceil(n / 1024)} Ko`;
}

/** '5mb', '256kb', 1024 → bytes (the forms Node-RED's apiMaxLength takes); `fallback` otherwise. */
export function toBytes(v: unknown, fallback = 5 * 1024 * 1024): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.floor(v);
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(String(v ?? '').trim());
  if (!m) return fallback;
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] || 'b').toLowerCase() as 'b' | 'kb' | 'mb' | 'gb'];
  return Math.floor(Number(m[1]) * unit);
}

export function tooLarge(size: number, limit: number, what = 'La demande'): Refusal {
  return {
    status: 413,
    code: 'DEMANDE_TROP_LOURDE',
    reason: `${what} pèse ${size >= 0 ? formatBytes(size) : 'plus'}, au-delà de la limite de ${formatBytes(limit)}.`,
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;

function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/**
 * Streaming shape check of a JSON text. Feed the body with `push(chunk)`; the first limit crossed
 * is returned (and kept: later pushes return it again without scanning). The scan follows the
 * JSON grammar for strings and brackets only: a malformed text is left for `JSON.parse` to refuse,
 * but whatever it holds, the depth and counts `JSON.parse` could reach are bounded by these.
 */
export class JsonShapeScanner {
  private inString = false;
  private escape = false;
  private stringBytes = 0;
  private depth = 0;
  private justOpened = false;
  private bytes = 0;
  /** The deepest nesting seen so far. */
  maxDepthSeen = 0;
  /** Object members + array items seen so far. */
  items = 0;
  refusal: Refusal | undefined;

  constructor(private readonly limits: JsonLimits) {}

  push(chunk: Uint8Array): Refusal | undefined {
    if (this.refusal) return this.refusal;
    this.bytes += chunk.length;
    if (this.bytes > this.limits.maxBytes) return (this.refusal = tooLarge(this.bytes, this.limits.maxBytes));
    const { maxDepth, maxItems, maxStringBytes } = this.limits;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          continue;
        }
        if (++this.stringBytes > maxStringBytes) {
          return (this.refusal = {
            status: 400,
            code: 'TEXTE_TROP_LONG',
            reason: `Un texte de la demande dépasse ${formatBytes(maxStringBytes)} : la demande n’a pas été lue.`,
          });
        }
        continue;
      }
      if (isJsonSpace(b)) continue;
      if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
        this.depth--;
        this.justOpened = false;
        continue;
      }
      if (b === COMMA) {
        if (this.depth > 0) this.items++;
      } else if (this.justOpened) {
        // the first element of the container just opened
        this.items++;
        this.justOpened = false;
      }
      if (this.items > maxItems) {
        return (this.refusal = {
          status: 400,
          code: 'JSON_TROP_D_ELEMENTS',
          reason: `La demande compte plus de ${maxItems.toLocaleString('fr-FR')} éléments (champs et valeurs de listes) : elle n’a pas été lue.`,
        });
      }
      if (b === QUOTE) {
        this.inString = true;
        this.stringBytes = 0;
      } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
        this.depth++;
        this.justOpened = true;
        if (this.depth > this.maxDepthSeen) this.maxDepthSeen = this.depth;
        if (this.depth > maxDepth) {
          return (this.refusal = {
            status: 400,
            code: 'JSON_TROP_PROFOND',
            reason: `La demande imbrique plus de ${maxDepth} niveaux de listes ou d’objets : elle n’a pas été lue.`,
          });
        }
      }
    }
    return undefined;
  }
}

export const INVALID_JSON: Refusal = {
  status: 400,
  code: 'JSON_INVALIDE',
  reason: 'Le corps de la requête n’est pas du JSON valide : il n’a pas été lu (ni journalisé).',
};

export type JsonBody = { ok: true; value: unknown } | { ok: false; refusal: Refusal };

/**
 * The shape check, then `JSON.parse` (an empty body is `{}`, as Node-RED's parser gives). Never
 * throws: a body beyond a limit or malformed is a refusal.
 */
export function parseJsonBody(body: Uint8Array, limits: JsonLimits, scanned = false): JsonBody {
  if (!scanned) {
    const refusal = new JsonShapeScanner(limits).push(body);
    if (refusal) return { ok: false, refusal };
  }
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, refusal: INVALID_JSON };
  }
}

/** Is this Content-Type JSON (application/json, application/xyz+json)? */
export function isJsonType(contentType: string | undefined): boolean {
  return /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(String(contentType ?? '').trim());
}

// ---- multipart/form-data ------------------------------------------------------------------------

export interface MultipartLimits {
  maxParts: number;
  maxFiles: number;
  /** Bytes of one text field. */
  maxFieldBytes: number;
  /** Bytes of the headers of one part. */
  maxHeaderBytes: number;
  /** The shape limits a text field holding JSON (e.g. the desk's "demande") must meet. */
  json: JsonLimits;
}

/** A file part, in the shape multer's memory storage gives (what the desk flow reads). */
export interface UploadedFile {
  fieldname: string;
  originalname: string;
  encoding: string;
  mimetype: string;
  buffer: Buffer;
  size: number;
}

export type Multipart = { ok: true; fields: Record<string, string>; files: UploadedFile[] } | { ok: false; refusal: Refusal };

function malformed(why: string): { ok: false; refusal: Refusal } {
  return {
    ok: false,
    refusal: {
      status: 400,
      code: 'MULTIPART_INVALIDE',
      reason: `Le formulaire envoyé (multipart/form-data) est mal formé : ${why}. Il n’a pas été lu.`,
    },
  };
}

/** The boundary of a multipart/form-data Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  const ct = String(contentType ?? '');
  if (!/^multipart\/form-data\s*(;|$)/i.test(ct.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(ct);
  return m ? (m[1] ?? m[2]) : undefined;
}

/** A parameter of a Content-Disposition header (quoted or token), or undefined. */
function dispositionParam(header: string, name: string): string | undefined {
  const re = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^\\s;"]+))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Read a whole multipart/form-data body (already bounded in size by the caller). Text fields come
 * back as strings, files as Buffers (copies: nothing keeps the body alive). Never throws.
 */
export function parseMultipart(body: Buffer, contentType: string | undefined, limits: MultipartLimits): Multipart {
  const boundary = multipartBoundary(contentType);
  if (!boundary) return malformed('le séparateur (boundary) du Content-Type est absent ou invalide');
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  const delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  // The first delimiter: at the very start, or after a preamble ending with CRLF.
  let pos: number;
  if (body.subarray(0, dash.length).equals(dash)) pos = dash.length;
  else {
    const at = body.indexOf(delimiter);
    if (at < 0) return malformed('aucune partie trouvée');
    pos = at + delimiter.length;
  }
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  let parts = 0;
  for (;;) {
    // After a delimiter: "--" closes the body, otherwise CRLF opens a part (transport padding allowed).
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return { ok: true, fields, files };
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (!(body[pos] === 0x0d && body[pos + 1] === 0x0a))
      return malformed(pos >= body.length ? 'le corps s’arrête avant la fin du formulaire' : 'un séparateur est mal suivi');
    pos += 2;
    if (++parts > limits.maxParts) return malformed(`plus de ${limits.maxParts} parties`);
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    const headerCap = Math.min(body.length, pos + limits.maxHeaderBytes);
    if (headerEnd < 0 || headerEnd > headerCap) {
      return malformed(headerEnd < 0 ? 'les en-têtes d’une partie ne se terminent pas' : 'les en-têtes d’une partie sont trop longs');
    }
    const headers = new Map<string, string>();
    if (headerEnd > pos) {
      for (const line of body.toString('utf8', pos, headerEnd).split('\r\n')) {
        const colon = line.indexOf(':');
        if (colon <= 0) return malformed('un en-tête de partie est illisible');
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
    }
    const contentStart = headerEnd + 4;
    const next = body.indexOf(delimiter, contentStart);
    if (next < 0) return malformed('le corps s’arrête avant la fin du formulaire');
    const disposition = headers.get('content-disposition');
    if (!disposition || !/^form-data\s*(;|$)/i.test(disposition))
      return malformed('une partie n’a pas d’en-tête Content-Disposition: form-data');
    const name = dispositionParam(disposition, 'name');
    if (name === undefined || name === '' || name.length > 100 || FORBIDDEN_NAMES.has(name))
      return malformed('une partie n’a pas de nom de champ valide');
    const filename = dispositionParam(disposition, 'filename');
    const content = body.subarray(contentStart, next);
    if (filename !== undefined) {
      if (files.length >= limits.maxFiles) return malformed(`plus de ${limits.maxFiles} fichier(s)`);
      files.push({
        fieldname: name,
        originalname: filename.slice(0, 255),
        encoding: headers.get('content-transfer-encoding') ?? '7bit',
        mimetype: (headers.get('content-type') ?? 'application/octet-stream').slice(0, 100),
        buffer: Buffer.from(content),
        size: content.length,
      });
    } else {
      if (content.length > limits.maxFieldBytes)
        return malformed(`le champ « ${name.slice(0, 40)} » dépasse ${formatBytes(limits.maxFieldBytes)}`);
      const text = content.toString('utf8');
      const trimmed = text.trimStart();
      if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
        const refusal = new JsonShapeScanner(limits.json).push(content);
        if (refusal) return { ok: false, refusal };
      }
      fields[name] = text;
    }
    pos = next + delimiter.length;
  }
}
