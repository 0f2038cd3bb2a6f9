/**
 * Node-RED settings for the ROC Bridge runtime (`npm start`).
 *
 * Everything a site changes comes from the environment, so the same file serves a laptop demo
 * and a hospital server:
 *   ROC_HOST / ROC_PORT            where the editor, the HTTP endpoints and the desk page listen
 *                                  (default 127.0.0.1:1880)
 *   ROC_CREDENTIAL_SECRET          key encrypting the flow credentials (a clearly-named development
 *                                  default is used, with a warning, when unset)
 *   ROC_USER_DIR                   Node-RED user directory (default .node-red/ in the project)
 *   ROC_FLOW_FILE                  the flow file deployed (default flows/roc-bridge.json)
 *   ROC_ANNUAIRE_URL, ROC_CLIENT_CERT, ROC_CLIENT_KEY, ROC_CA   the AMC directory and the
 *                                  establishment's certificate files (see README); when
 *                                  ROC_ANNUAIRE_URL is unset the embedded AMC simulator is used.
 *   ROC_DESK_DEMO                  1 / 0: offer (or not) the simulator's fictitious patients on the
 *                                  admission desk page (/desk); default: only with the embedded
 *                                  simulator (ROC_ANNUAIRE_URL unset when this file is loaded).
 *   ROC_LANG                       language of the runtime: node status and log texts (`fr`,
 *                                  `en-US`); unset: the OS locale (LC_ALL, LC_MESSAGES, LANG), as
 *                                  Node-RED does, English when it has no catalog for it
 *                                  (docs/i18n.md). The editor follows the browser's language.
 */
const path = require('path');
const { createHttpGuard } = require('./desk/http-guard.js');

const DEV_SECRET = 'roc-bridge-DEVELOPMENT-ONLY-credential-secret';
const API_MAX_LENGTH = '5mb';
// Bounded input on every HTTP endpoint (docs/deployment.md lists the limits): body size, JSON
// depth, element count and string length, checked on the raw bytes before anything parses them.
const httpGuardOptions = {
  desk: {
    path: '/desk/scan',
    maxImageBytes: 10 * 1024 * 1024,
    json: { maxBytes: 1024 * 1024, maxDepth: 32, maxItems: 10000, maxStringBytes: 64 * 1024 },
  },
  roc: {
    paths: ['/roc/dossier', '/roc/cancel'],
    json: { maxBytes: 1024 * 1024, maxDepth: 32, maxItems: 10000, maxStringBytes: 64 * 1024 },
  },
  other: { maxBytes: API_MAX_LENGTH, maxDepth: 128 },
};
const httpGuards = createHttpGuard(httpGuardOptions);
const deskDemo = process.env.ROC_DESK_DEMO !== undefined ? process.env.ROC_DESK_DEMO === '1' : !process.env.ROC_ANNUAIRE_URL;

module.exports = {
  uiHost: process.env.ROC_HOST || '127.0.0.1',
  uiPort: Number(process.env.ROC_PORT !== undefined ? process.env.ROC_PORT : 1880),
  userDir: process.env.ROC_USER_DIR || path.join(__dirname, '.node-red'),
  flowFile: process.env.ROC_FLOW_FILE || path.join(__dirname, 'flows', 'roc-bridge.json'),
  flowFilePretty: true,
  credentialSecret: process.env.ROC_CREDENTIAL_SECRET || DEV_SECRET,
  usingDevelopmentSecret: !process.env.ROC_CREDENTIAL_SECRET,
  // The ROC palette is this package itself.
  nodesDir: [__dirname],
  httpAdminRoot: '/',
  httpNodeRoot: '/',
  apiMaxLength: API_MAX_LENGTH,
  // Every request with a body goes through the guard before Node-RED's body parsers: POST
  // /desk/scan refusals in French, as JSON the desk page shows; POST /roc/dossier and /roc/cancel
  // as a JSON KO with a reason; others as { code, message }. Never a stack trace, never the body.
  httpAdminMiddleware: httpGuards,
  httpNodeMiddleware: httpGuards,
  httpGuardOptions, // read by bin/runtime.ts for its last error handler (same answer shapes)
  // The admission desk page (flows/roc-bridge.json, GET /desk): its files, and the seed whose
  // fictitious patients it offers as "patients de démonstration" ('' = no demo).
  functionGlobalContext: {
    rocDesk: {
      dir: path.join(__dirname, 'desk'),
      demoSeed: deskDemo ? path.join(__dirname, 'simulator', 'seed', 'amc-seed.json') : '',
    },
  },
  // The operations alerts (README "Operations", docs/operations-dashboard.md): changes to the
  // default rules, applied before ROC_ALERT_RULES. An entry whose id is a default rule's changes
  // the fields it gives, { id, disabled: true } removes a rule, a new id adds one. Empty: the
  // defaults. e.g. [{ id: 'queue-depth', raise: 200, clear: 50 }, { id: 'gap-silent', raise: 60 }]
  rocOps: { alerts: { rules: [] } },
  diagnostics: { enabled: false, ui: false },
  runtimeState: { enabled: false, ui: false },
  telemetry: { enabled: false, updateNotification: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false } },
  editorTheme: {
    projects: { enabled: false },
    tours: false,
    page: { title: 'ROC Bridge' },
    header: { title: 'ROC Bridge' },
    palette: { catalogues: [] },
  },
  logging: {
    console: { level: process.env.ROC_LOG_LEVEL || 'info', metrics: false, audit: false },
  },
  // Node-RED's runtime language (status and log texts of the nodes); unset: the OS locale.
  lang: process.env.ROC_LANG || undefined,
  functionExternalModules: false,
  exportGlobalContextKeys: false,
};

// ---- Security (docs/security.md) -------------------------------------------------------------
// Kept in this block, apart from the settings above. The built code (dist/) exists when this
// file is loaded: scripts/start.js builds first.
//   ROC_USERS_FILE       the users (JSON, bcrypt hashes, mode 0600; default <userDir>/roc-users.json)
//   ROC_USERS            more users, same JSON format; ROC_ADMIN_PASSWORD  the `admin` password
//   ROC_AUDIT_FILE       the audit trail (JSON lines, 0600; default <userDir>/roc-audit.log)
//   ROC_HTTPS_CERT / ROC_HTTPS_KEY   PEM files: the editor and the endpoints over HTTPS
//   ROC_HTTP_ALLOW       addresses (CIDRs) allowed to call the flows' endpoints (default loopback)
//   ROC_API_TOKENS       bearer tokens allowed to call them from anywhere
const fs = require('fs');
const rocUsers = require('./dist/lib/security/users.js');
const rocAccess = require('./dist/lib/security/access.js');
const rocAudit = require('./dist/lib/security/audit.js');

// Editor, admin API, /comms, /roc/* operations: Node-RED's own login (POST /auth/token) against
// the ROC users, which bin/runtime.ts loads before Node-RED starts (until then nobody signs in).
module.exports.adminAuth = rocUsers.adminAuthFor(rocUsers.users);
module.exports.rocUsersFile = process.env.ROC_USERS_FILE || path.join(module.exports.userDir, 'roc-users.json');
module.exports.rocAuditFile = process.env.ROC_AUDIT_FILE || path.join(module.exports.userDir, 'roc-audit.log');
// Node-RED's audit events (deploy, login, refused permission…) into the audit trail.
module.exports.logging.rocAudit = { level: 'off', audit: true, handler: () => rocAudit.nodeRedAuditHandler() };

// HTTPS: bin/runtime.ts builds its server from `https` when both files are given.
if (process.env.ROC_HTTPS_CERT || process.env.ROC_HTTPS_KEY) {
  if (!process.env.ROC_HTTPS_CERT || !process.env.ROC_HTTPS_KEY)
    throw new Error('HTTPS needs both ROC_HTTPS_CERT and ROC_HTTPS_KEY (PEM files)');
  const readPem = (name) => {
    try {
      return fs.readFileSync(process.env[name]);
    } catch (e) {
      throw new Error(`${name}: cannot read ${process.env[name]} (${e.code || e.message})`);
    }
  };
  module.exports.https = { cert: readPem('ROC_HTTPS_CERT'), key: readPem('ROC_HTTPS_KEY') };
}

// The flows' HTTP endpoints (/desk, /roc/dossier, /roc/cancel…): an allowed address or a bearer
// token, checked first; then the guards configured above.
const rocHttpAccess = rocAccess.httpAccessFromEnv(process.env, ({ ip, path: p, reason }) =>
  console.warn(`[roc-bridge] HTTP access refused: ${reason}, from ${ip || '?'} to ${String(p).slice(0, 80)}`),
);
const rocNodeMiddleware = module.exports.httpNodeMiddleware;
module.exports.httpNodeMiddleware = (req, res, next) =>
  rocHttpAccess(req, res, () => (rocNodeMiddleware ? rocNodeMiddleware(req, res, next) : next()));
