/**
 * The HTTP guard of POST /desk/scan, /roc/dossier, /roc/cancel and every other request with a
 * body, run before Node-RED's body parsers. It is TypeScript now (lib/http/middleware.ts, tested
 * in test/http/), compiled to dist/ by `npm run build` (which `npm start` runs first); this file
 * stays for settings files that still require it.
 */
'use strict';
const path = require('path');

function load() {
  try {
    return require(path.join(__dirname, '..', 'dist', 'lib', 'http', 'middleware.js'));
  } catch (err) {
    throw new Error(`ROC Bridge: the HTTP guard is not built (run "npm run build" first): ${err && err.message}`);
  }
}

/** createHttpGuard(options): one middleware for httpAdminMiddleware and httpNodeMiddleware. */
module.exports = (opts) => load().createHttpGuard(opts);
module.exports.createHttpGuard = (opts) => load().createHttpGuard(opts);
module.exports.errorResponse = (err, req, opts) => load().errorResponse(err, req, opts);
