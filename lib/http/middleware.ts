/**
 * The HTTP guard of the runtime: an express-style middleware that settings.js installs as
 * `httpAdminMiddleware` and `httpNodeMiddleware`, so it sees every request before Node-RED's body
 * parsers (with httpAdminRoot '/', the editor's JSON and urlencoded parsers see every request
 * first). It acts once per request and answers every refusal as JSON, in the shape the endpoint
 * already speaks, without echoing the body (a NIR may be in it) or logging it:
 *
 * - POST /desk/scan (the admission desk page): `{ guichet: { verdict: 'LECTURE', titre, motif, code } }`.
 *   JSON (scan + patient + stay), multipart/form-data (a photo and a "demande" field holding the
 *   same JSON), text/* (a bare scan) or image/* (a bare photo) are read here, within their limits,
 *   and handed to the flow already parsed (`req.body`, `req.files` as multer gives them).
 * - POST /roc/dossier, /roc/cancel (integrators): `{ status: 'KO', code, reason }`; a JSON body is
 *   read here within its limits; any other body over the size limit is refused.
 * - every other request with a body (the admin API, the editor): a JSON body is refused beyond
 *   the size limit or a generous depth, an urlencoded one beyond the size limit, as
 *   `{ code, message }` (the admin API's error shape).
 *
 * `errorResponse` gives the same answers for the errors express or Node-RED's parsers raise later
 * (bin/runtime.ts installs it as the last error handler): never a stack trace, never a path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  formatBytes,
  isJsonType,
  JsonShapeScanner,
  parseJsonBody,
  parseMultipart,
  tooLarge,
  toBytes,
  type JsonLimits,
  type MultipartLimits,
  type Refusal,
} from './guard';

export type Next = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** What express adds to a request, as far as the guard reads or writes it. */
interface GuardedRequest extends IncomingMessage {
  path?: string;
  body?: unknown;
  files?: unknown;
  _body?: boolean;
  _rocGuard?: boolean;
}

export interface HttpGuardOptions {
  /** The desk's scan endpoint. */
  desk?: { path?: string; maxImageBytes?: number; json?: Partial<JsonLimits> };
  /** The integrators' JSON endpoints. */
  roc?: { paths?: string[]; json?: Partial<JsonLimits> };
  /** Every other request with a body (admin API, editor): size (e.g. apiMaxLength) and depth. */
  other?: { maxBytes?: number | string; maxDepth?: number };
}

/** The limits in force when settings.js gives none (docs/deployment.md lists them). */
export const DEFAULT_LIMITS = {
  desk: {
    path: '/desk/scan',
    maxImageBytes: 10 * 1024 * 1024,
    /** The multipart envelope and the patient/stay fields beside the image. */
    formMarginBytes: 256 * 1024,
    json: { maxBytes: 1024 * 1024, maxDepth: 32, maxItems: 10_000, maxStringBytes: 64 * 1024 } as JsonLimits,
  },
  roc: {
    paths: ['/roc/dossier', '/roc/cancel'],
    json: { maxBytes: 1024 * 1024, maxDepth: 32, maxItems: 10_000, maxStringBytes: 64 * 1024 } as JsonLimits,
  },
  other: { maxBytes: 5 * 1024 * 1024, maxDepth: 128 },
} as const;

/** Beyond this a refused upload is not drained (read and dropped) but the connection is closed. */
const DRAIN_MAX = 256 * 1024 * 1024;

type Route = 'desk' | 'roc' | 'other';

function pathOf(req: GuardedRequest): string {
  return req.path || String(req.url || '/').split('?')[0];
}

function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0')
  );
}

/** The JSON body of an answer, in the shape the route speaks. */
export function refusalBody(route: Route, refusal: Refusal): Record<string, unknown> {
  if (route === 'desk') {
    const guichet: Record<string, unknown> = {
      verdict: 'LECTURE',
      titre: refusal.status === 413 ? 'Attestation non lue' : 'Demande refusée',
      motif: refusal.reason,
      code: refusal.code,
    };
    if (refusal.status === 413) {
      const source = refusal.code === 'IMAGE_TROP_LOURDE' ? 'image' : 'texte';
      Object.assign(guichet, { etape: 'attestation', source });
      const attestation = { code: refusal.code, reason: refusal.reason, source };
      return { guichet, attestation, roc: { attestation: { status: 'KO', ...attestation } } };
    }
    return { guichet };
  }
  if (route === 'roc') return { status: 'KO', code: refusal.code, reason: refusal.reason };
  return { code: refusal.code, message: refusal.reason };
}

/**
 * Answer a refusal. The rest of the upload is read and dropped first (a browser still sending
 * would otherwise see a reset connection instead of the answer), unless it is huge: then the
 * answer goes at once and the connection is closed.
 */
export function sendRefusal(req: IncomingMessage, res: ServerResponse, route: Route, refusal: Refusal): void {
  const body = JSON.stringify(refusalBody(route, refusal));
  const send = () => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(refusal.status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  };
  const length = Number(req.headers['content-length'] || 0);
  if (req.readableEnded || req.destroyed || length > DRAIN_MAX) {
    if (!req.readableEnded) res.setHeader('Connection', 'close');
    send();
    if (!req.readableEnded) res.once('finish', () => req.destroy());
    return;
  }
  req.removeAllListeners('data');
  req.on('error', () => res.destroy());
  req.once('end', send);
  req.resume();
}

/**
 * Read a body up to `limit` bytes. `scan`, when given, sees each chunk and may refuse early.
 * Calls back once: a refusal (the rest is drained by sendRefusal) or the whole body.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  scan: ((chunk: Buffer) => Refusal | undefined) | undefined,
  done: (refusal: Refusal | undefined, body: Buffer) => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (refusal: Refusal | undefined) => {
    if (finished) return;
    finished = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    done(refusal, refusal ? Buffer.alloc(0) : Buffer.concat(chunks, size));
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > limit) return finish(tooLarge(size, limit));
    const refusal = scan?.(chunk);
    if (refusal) return finish(refusal);
    chunks.push(chunk);
  };
  const onEnd = () => finish(undefined);
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', () => {
    finished = true;
  });
}

function jsonLimits(base: JsonLimits, over: Partial<JsonLimits> | undefined): JsonLimits {
  return { ...base, ...(over ?? {}) };
}

function deskTooLarge(size: number, limit: number, json: boolean): Refusal {
  return json
    ? {
        status: 413,
        code: 'DEMANDE_TROP_LOURDE',
        reason: `La demande pèse ${formatBytes(size)}, au-delà de la limite de ${formatBytes(limit)} : envoyez le texte du scan, pas une image, dans le JSON ; une photo de l’attestation se dépose comme fichier image.`,
      }
    : {
        status: 413,
        code: 'IMAGE_TROP_LOURDE',
        reason: `L’image pèse ${formatBytes(size)}, au-delà de la limite de ${formatBytes(limit)} : photographiez ou numérisez seulement l’attestation, en résolution normale.`,
      };
}

/** Build the guard (one middleware, to install as both httpAdminMiddleware and httpNodeMiddleware). */
export function createHttpGuard(opts: HttpGuardOptions = {}): Middleware {
  const deskPath = opts.desk?.path ?? DEFAULT_LIMITS.desk.path;
  const maxImage = opts.desk?.maxImageBytes ?? DEFAULT_LIMITS.desk.maxImageBytes;
  const deskJson = jsonLimits(DEFAULT_LIMITS.desk.json, opts.desk?.json);
  const multipart: MultipartLimits = {
    maxParts: 8,
    maxFiles: 1,
    maxFieldBytes: deskJson.maxBytes,
    maxHeaderBytes: 8 * 1024,
    json: deskJson,
  };
  const rocPaths = new Set(opts.roc?.paths ?? DEFAULT_LIMITS.roc.paths);
  const rocJson = jsonLimits(DEFAULT_LIMITS.roc.json, opts.roc?.json);
  const otherBytes = toBytes(opts.other?.maxBytes ?? DEFAULT_LIMITS.other.maxBytes);
  const otherJson: JsonLimits = {
    maxBytes: otherBytes,
    maxDepth: opts.other?.maxDepth ?? DEFAULT_LIMITS.other.maxDepth,
    maxItems: Number.MAX_SAFE_INTEGER,
    maxStringBytes: Number.MAX_SAFE_INTEGER,
  };

  /** Read, scan and parse a JSON body; hand it on as req.body, or refuse. */
  function json(req: GuardedRequest, res: ServerResponse, next: Next, route: Route, limits: JsonLimits): void {
    const scanner = new JsonShapeScanner(limits);
    readBody(
      req,
      limits.maxBytes,
      (c) => scanner.push(c),
      (refusal, body) => {
        if (refusal)
          return sendRefusal(
            req,
            res,
            route,
            route === 'desk' && refusal.status === 413
              ? deskTooLarge(Number(req.headers['content-length']) || body.length, limits.maxBytes, true)
              : refusal,
          );
        const parsed = parseJsonBody(body, limits, true);
        if (!parsed.ok) return sendRefusal(req, res, route, parsed.refusal);
        req.body = parsed.value;
        req._body = true; // Node-RED's and express's body parsers skip a body already read
        next();
      },
    );
  }

  function desk(req: GuardedRequest, res: ServerResponse, next: Next): void {
    const type = String(req.headers['content-type'] || '').toLowerCase();
    const isJson = isJsonType(type);
    const length = req.headers['content-length'];
    if (length === undefined) {
      return sendRefusal(req, res, 'desk', {
        status: 411,
        code: 'TAILLE_INCONNUE',
        reason:
          'La demande n’annonce pas sa taille (en-tête Content-Length absent) : envoyez-la depuis la page du guichet ou avec un client HTTP standard.',
      });
    }
    if (type && !isJson && !/^(multipart\/form-data|text\/|image\/|application\/octet-stream)/.test(type)) {
      return sendRefusal(req, res, 'desk', {
        status: 415,
        code: 'TYPE_NON_PRIS_EN_CHARGE',
        reason:
          'Type de contenu non pris en charge : le guichet lit du JSON, un formulaire (multipart/form-data), un texte scanné (text/plain) ou une image.',
      });
    }
    const size = Number(length);
    const limit = isJson ? deskJson.maxBytes : maxImage + DEFAULT_LIMITS.desk.formMarginBytes;
    if (!(size <= limit)) return sendRefusal(req, res, 'desk', deskTooLarge(size, isJson ? deskJson.maxBytes : maxImage, isJson));
    if (isJson) return json(req, res, next, 'desk', deskJson);
    readBody(req, limit, undefined, (refusal, body) => {
      if (refusal) return sendRefusal(req, res, 'desk', deskTooLarge(body.length || size, maxImage, false));
      if (/^multipart\//.test(type)) {
        const form = parseMultipart(body, req.headers['content-type'], multipart);
        if (!form.ok) return sendRefusal(req, res, 'desk', form.refusal);
        const image = form.files[0];
        if (image && image.size > maxImage) return sendRefusal(req, res, 'desk', deskTooLarge(image.size, maxImage, false));
        req.body = form.fields;
        req.files = form.files;
      } else {
        // A bare scan (text/*) or photo (image/*, octet-stream): the flow gets a string or a Buffer.
        req.body = /^text\//.test(type) ? body.toString('utf8') : body;
      }
      req._body = true; // the http-in node's multer and raw parser skip a body already read
      next();
    });
  }

  return function rocHttpGuard(req: GuardedRequest, res: ServerResponse, next: Next): void {
    // Installed twice (admin and node middleware, see settings.js): act once, before any parser.
    if (req._rocGuard || req._body || req.readableEnded) return next();
    req._rocGuard = true;
    const path = pathOf(req);
    const type = req.headers['content-type'];
    if (req.method === 'POST' && path === deskPath) return desk(req, res, next);
    if (!hasBody(req)) return next();
    const route: Route = req.method === 'POST' && rocPaths.has(path) ? 'roc' : 'other';
    if (isJsonType(type)) return json(req, res, next, route, route === 'roc' ? rocJson : otherJson);
    // Other bodies are left to the parsers (urlencoded, raw), bounded here by their declared size;
    // a chunked one by the parsers' own limit (their error is answered by errorResponse).
    const declared = Number(req.headers['content-length']);
    const limit = route === 'roc' ? rocJson.maxBytes : otherBytes;
    if (declared > limit) return sendRefusal(req, res, route, tooLarge(declared, limit));
    next();
  };
}

// ---- errors raised after the guard ---------------------------------------------------------------

/** The answer to an error that reached the end of express's chain: status and JSON body, nothing else. */
export function errorResponse(
  err: unknown,
  req: { method?: string; url?: string; path?: string },
  opts: HttpGuardOptions = {},
): { status: number; body: Record<string, unknown> } {
  const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown };
  const raw = Number(e.status ?? e.statusCode);
  const status = Number.isInteger(raw) && raw >= 400 && raw < 600 ? raw : 500;
  let refusal: Refusal;
  if (status === 413)
    refusal = { status: 413, code: 'DEMANDE_TROP_LOURDE', reason: 'La demande dépasse la taille admise : elle n’a pas été lue.' };
  else if (e.type === 'entity.parse.failed')
    refusal = { status: 400, code: 'JSON_INVALIDE', reason: 'Le corps de la requête est illisible : il n’a pas été lu.' };
  else if (status >= 400 && status < 500)
    refusal = { status: 400, code: 'JSON_INVALIDE', reason: 'La demande est mal formée : elle n’a pas été lue.' };
  else
    refusal = {
      status: 400,
      code: 'JSON_INVALIDE',
      reason: 'Erreur interne : la demande n’a pas pu être traitée (voir le journal du pont ROC).',
    };
  const path = (req as GuardedRequest).path || String(req.url || '/').split('?')[0];
  const deskPath = opts.desk?.path ?? DEFAULT_LIMITS.desk.path;
  const rocPaths = new Set(opts.roc?.paths ?? DEFAULT_LIMITS.roc.paths);
  const route: Route = path === deskPath ? 'desk' : rocPaths.has(path) ? 'roc' : 'other';
  const body = refusalBody(route, { ...refusal, status: refusal.status });
  if (status >= 500) {
    if (route === 'desk')
      body.guichet = { verdict: 'TECHNIQUE', titre: 'Erreur interne du guichet', motif: refusal.reason, code: 'ERREUR_INTERNE' };
    else if (route === 'roc') Object.assign(body, { code: 'ERREUR_INTERNE' });
    else body.code = 'ERREUR_INTERNE';
  }
  return { status, body };
}

/**
 * An error, described for a log line without patient data: its name, code and message with quoted
 * fragments and long digit runs (a NIR, a date) blanked, at most 300 characters; never the stack
 * (whose frames may hold paths and, in V8's messages, excerpts of the data).
 */
export function describeError(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null | undefined;
  const name = e && typeof e === 'object' && typeof e.name === 'string' ? e.name : typeof err;
  const code =
    e && typeof e === 'object' && (typeof e.code === 'string' || typeof e.code === 'number') ? ` [${String(e.code).slice(0, 40)}]` : '';
  const message = e && typeof e === 'object' && typeof e.message === 'string' ? e.message : typeof err === 'string' ? err : '';
  const safe = message
    .replace(/"[^"\n]*"|'[^'\n]*'|«[^»\n]*»|`[^`\n]*`/g, '"…"')
    .replace(/\d[\d\s.-]{5,}\d/g, '…')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
  return `${name}${code}${safe ? ': ' + safe : ''}`;
}
