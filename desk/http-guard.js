/**
 * Guard of POST /desk/scan, run before Node-RED's body parsers, so that what the desk page sends
 * is always answered in French, as JSON the page shows, never with a bare 413/500 nor with the
 * body echoed back or logged. settings.js installs it as `httpAdminMiddleware` (with
 * httpAdminRoot '/', the editor's JSON parser sees every request first, and answers a malformed
 * or too large JSON body with an HTML stack trace) and as `httpNodeMiddleware` (when the editor
 * is elsewhere); it acts once per request:
 *
 * - a body larger than allowed (image: 10 MB + form fields; JSON: apiMaxLength) is drained, not
 *   buffered, and refused with 413 { guichet: { verdict: 'LECTURE', code: 'IMAGE_TROP_LOURDE'… } };
 * - a body without Content-Length (chunked) is refused with 411;
 * - a JSON body is parsed here: malformed JSON gets 400 (Node-RED's parsers would answer an HTML
 *   stack trace or a bare 500 and log an excerpt of the body, which may hold a NIR);
 * - a bare text (text/*) or image (image/*, application/octet-stream) body is read here too: the
 *   http-in node in upload mode only reads multipart bodies.
 *
 * Other routes pass through untouched. Plain CommonJS: settings.js loads it before any build.
 */
'use strict';
/* global Buffer */

const DRAIN_MAX = 256 * 1024 * 1024; // beyond this the connection is cut instead of drained

function bytes(n) {
  const mo = n / (1024 * 1024);
  return mo >= 1 ? `${mo.toLocaleString('fr-FR', { maximumFractionDigits: 1 })} Mo` : `${Math.ceil(n / 1024)} Ko`;
}

function toBytes(v) {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(String(v || '').trim());
  if (!m) return 5 * 1024 * 1024;
  return Math.floor(Number(m[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] || 'b').toLowerCase()]);
}

function answer(req, res, status, guichet, attestation) {
  const body = JSON.stringify({ guichet, ...(attestation ? { attestation, roc: { attestation: { status: 'KO', ...attestation } } } : {}) });
  const send = () => {
    if (res.headersSent) return;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
    res.end(body);
  };
  const length = Number(req.headers['content-length'] || 0);
  if (req.readableEnded || length > DRAIN_MAX) {
    res.setHeader('Connection', 'close');
    send();
    res.once('finish', () => req.destroy());
    return;
  }
  // Read and drop the rest of the upload, then answer: a browser that is still sending would
  // otherwise see a reset connection instead of the answer.
  req.on('error', () => res.destroy());
  req.on('end', send);
  req.resume();
}

/**
 * @param {{ path?: string, maxImageBytes?: number, maxJsonBytes?: number | string }} [opts]
 * @returns {(req: any, res: any, next: () => void) => void}
 */
module.exports = function deskGuard(opts = {}) {
  const scanPath = opts.path || '/desk/scan';
  const maxImage = opts.maxImageBytes || 10 * 1024 * 1024;
  const maxJson = toBytes(opts.maxJsonBytes || '5mb');
  const formMargin = 256 * 1024; // the multipart envelope and the patient/stay fields

  return function deskScanGuard(req, res, next) {
    if (req.method !== 'POST' || (req.path || req.url.split('?')[0]) !== scanPath) return next();
    // Installed twice (admin and node middleware, see settings.js): act once, before any parser.
    if (req._deskGuard || req._body || req.readableEnded) return next();
    req._deskGuard = true;
    const type = String(req.headers['content-type'] || '').toLowerCase();
    const json = /^application\/(.+\+)?json\b/.test(type);
    const length = req.headers['content-length'];
    if (length === undefined) {
      return answer(req, res, 411, {
        verdict: 'LECTURE',
        titre: 'Demande refusée',
        motif: 'La demande n’annonce pas sa taille (en-tête Content-Length absent) : envoyez-la depuis la page du guichet ou avec un client HTTP standard.',
        code: 'TAILLE_INCONNUE',
      });
    }
    const size = Number(length);
    const limit = json ? maxJson : maxImage + formMargin;
    if (!(size <= limit)) {
      const motif = json
        ? `La demande pèse ${bytes(size)}, au-delà de la limite de ${bytes(maxJson)} : envoyez le texte du scan, pas une image, dans le JSON ; une photo de l’attestation se dépose comme fichier image.`
        : `L’image pèse ${bytes(size)}, au-delà de la limite de ${bytes(maxImage)} : photographiez ou numérisez seulement l’attestation, en résolution normale.`;
      const code = json ? 'DEMANDE_TROP_LOURDE' : 'IMAGE_TROP_LOURDE';
      return answer(req, res, 413, { verdict: 'LECTURE', titre: 'Attestation non lue', motif, code, etape: 'attestation', source: json ? 'texte' : 'image' }, { code, reason: motif, source: json ? 'texte' : 'image' });
    }
    if (/^multipart\//.test(type)) return next(); // the http-in node's multer reads it (size checked above)
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const buf = Buffer.concat(chunks);
      if (!json) {
        // A bare scan (text/*) or photo (image/*, octet-stream): the http-in node, in upload mode,
        // would leave it unread. The flow gets a string or a Buffer.
        req.body = /^text\//.test(type) ? buf.toString('utf8') : buf;
        req._body = true;
        return next();
      }
      const text = buf.toString('utf8');
      try {
        req.body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        return answer(req, res, 400, {
          verdict: 'LECTURE',
          titre: 'Demande illisible',
          motif: 'La demande envoyée au guichet n’est pas du JSON valide : elle n’a pas été lue (et n’a pas été journalisée).',
          code: 'JSON_INVALIDE',
        });
      }
      req._body = true; // Node-RED's body parsers skip a body already read
      next();
    });
  };
};

/**
 * The same protection for the JSON endpoints of the main flow (POST /roc/dossier, /roc/cancel):
 * a malformed or oversized JSON body is answered with a JSON KO and a reason, never with the
 * editor's HTML stack trace (which quotes the body, and so possibly a NIR) nor logged.
 *
 * @param {{ paths?: string[], maxJsonBytes?: number | string }} [opts]
 * @returns {(req: any, res: any, next: () => void) => void}
 */
module.exports.jsonGuard = function jsonGuard(opts = {}) {
  const paths = new Set(opts.paths || ['/roc/dossier', '/roc/cancel']);
  const maxJson = toBytes(opts.maxJsonBytes || '5mb');
  const ko = (req, res, status, reason) => {
    const body = JSON.stringify({ status: 'KO', reason });
    const send = () => {
      if (res.headersSent) return;
      res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.readableEnded) return send();
    req.on('end', send);
    req.on('error', () => res.destroy());
    req.resume();
  };
  return function rocJsonGuard(req, res, next) {
    if (req.method !== 'POST' || !paths.has(req.path || req.url.split('?')[0])) return next();
    if (req._rocJsonGuard || req._body || req.readableEnded) return next();
    req._rocJsonGuard = true;
    const type = String(req.headers['content-type'] || '').toLowerCase();
    if (!/^application\/(.+\+)?json\b/.test(type)) return next(); // the flow answers 400 "JSON attendu"
    const length = Number(req.headers['content-length'] || 0);
    if (length > maxJson) return ko(req, res, 413, `Le dossier pèse ${bytes(length)}, au-delà de la limite de ${bytes(maxJson)}.`);
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= maxJson) chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (size > maxJson) return ko(req, res, 413, `Le dossier dépasse la limite de ${bytes(maxJson)}.`);
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        req.body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        return ko(req, res, 400, 'Le corps de la requête n’est pas du JSON valide : le dossier n’a pas été lu (ni journalisé).');
      }
      req._body = true; // Node-RED's body parsers skip a body already read
      next();
    });
  };
};
