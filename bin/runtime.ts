/**
 * The ROC Bridge runtime: Node-RED embedded in an express server, the ROC palette loaded from
 * this package, the main bridge flow deployed, and — unless a real AMC directory is configured —
 * the AMC simulator started beside it with a development PKI (mutual TLS, as in production).
 *
 * `npm start` runs this file (through scripts/start.js, which builds first when needed).
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import express from 'express';
import { describeError, errorResponse } from '../lib/http/middleware';
import { audit, configureAudit } from '../lib/security/audit';
import { checkBinding, isLoopbackHost } from '../lib/security/access';
import { loadUsers, users } from '../lib/security/users';
import { ensureDevCerts, type DevCerts } from '../simulator/make-certs';
import { startRuntimeBilling, type RuntimeBilling } from './billing';
import { startSimulator, type LatencyMode, type RunningSimulator } from '../simulator/server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const RED = require('node-red');

const ROOT = path.resolve(__dirname, '..', '..');

export interface RunningRuntime {
  url: string;
  port: number;
  /** The GAP MLLP listener's port (flows/roc-bridge.json, tab "GAP HL7 (MLLP)"), when it listens. */
  mllpPort?: number;
  /** The embedded MQTT broker of the operations events (roc-events, embedded mode), when it listens. */
  eventsPort?: number;
  simulator?: RunningSimulator;
  /** The billing transport (outbox, the bridge's mailbox, the simulator's billing side): docs/billing-runtime.md. */
  billing?: RuntimeBilling;
  close(): Promise<void>;
}

function latencyFromEnv(v: string | undefined): LatencyMode {
  if (!v || v === 'instant') return { mode: 'instant' };
  if (v === 'national') return { mode: 'national' };
  const ms = Number(v);
  if (Number.isFinite(ms) && ms >= 0) return { mode: 'fixed', ms };
  throw new Error(`ROC_SIMULATOR_LATENCY must be instant, national or a number of milliseconds (got "${v}")`);
}

export async function startRuntime(log: (line: string) => void = (l) => console.log(l)): Promise<RunningRuntime> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require(path.join(ROOT, 'settings.js'));
  await prepareSecurity(settings, log);

  let simulator: RunningSimulator | undefined;
  let certs: DevCerts | undefined;
  if (!process.env.ROC_ANNUAIRE_URL) {
    certs = await ensureDevCerts(process.env.ROC_DEV_CERT_DIR || path.join(ROOT, '.roc-dev', 'certs'));
    simulator = await startSimulator({
      host: '127.0.0.1',
      port: Number(process.env.ROC_SIMULATOR_PORT || 0),
      tls: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true },
      latency: latencyFromEnv(process.env.ROC_SIMULATOR_LATENCY),
    });
    process.env.ROC_ANNUAIRE_URL = simulator.annuaireUrl;
    process.env.ROC_CLIENT_CERT ||= certs.clientCert;
    process.env.ROC_CLIENT_KEY ||= certs.clientKey;
    process.env.ROC_CA ||= certs.caCert;
    log(`AMC simulator (embedded, mutual TLS): ${simulator.url}  WSDL: ${simulator.wsdlUrl}`);
  }
  // The shipped flow refers to these; an empty value means "not used".
  for (const k of ['ROC_CLIENT_CERT', 'ROC_CLIENT_KEY', 'ROC_CA', 'ROC_CLIENT_P12']) process.env[k] ||= '';
  // Billing: the outbox of roc-dre-es / roc-rsp (S/MIME + SMTP or drop directory), the bridge's
  // mailbox for the AMC's ARL and RSP, the simulator's billing side (docs/billing-runtime.md).
  let billing: RuntimeBilling | undefined;
  try {
    billing = await startRuntimeBilling({
      env: process.env,
      dir: path.join(settings.userDir, 'billing'),
      simulator,
      certs,
      log,
    });
  } catch (e) {
    if (simulator) await simulator.close();
    throw e;
  }
  if (billing.settings) settings.rocBilling = { ...(settings.rocBilling ?? {}), ...billing.settings };
  if (billing.amc)
    log(`AMC simulator billing side (S/MIME over SMTP): 127.0.0.1:${billing.amc.smtpPort}  drop directory: ${billing.amc.dropDir}`);
  if (billing.mailboxPort) log(`Billing mailbox (ARL and RSP in, S/MIME over SMTP): 127.0.0.1:${billing.mailboxPort}`);
  // The GAP MLLP listener (HL7 v2 PAM-FR); 0 = any free port (printed at start).
  process.env.ROC_MLLP_PORT ||= '2575';
  process.env.ROC_MLLP_HOST ||= process.env.ROC_HOST || '127.0.0.1';
  // Where the GAP listens for the bridge's answers (HL7 with a ZRC segment, roc-mllp-out).
  process.env.ROC_GAP_ANSWER_HOST ||= '127.0.0.1';
  process.env.ROC_GAP_ANSWER_PORT ||= '2576';
  // The dossier's clock (roc-dossier): re-check delays after a technical KO (minutes), how often
  // due dossiers are looked for (seconds), when a request without answer counts as lost (seconds).
  process.env.ROC_RECHECK_MINUTES ||= '1, 5, 15, 60';
  process.env.ROC_DOSSIER_SCAN_SECONDS ||= '30';
  process.env.ROC_DOSSIER_INFLIGHT_SECONDS ||= '120';
  // Days the journal keeps raw messages and answers (roc-mllp-in, roc-mllp-out; 0 = forever).
  process.env.ROC_RETENTION_DAYS ||= '30';
  // The operations events' embedded MQTT broker (roc-events), on 127.0.0.1 only: 1884 beside a
  // Mosquitto on 1883; 0 = any free port (printed at start). GET /metrics, /health, /health/ready:
  // docs/operations-events.md.
  process.env.ROC_EVENTS_PORT ||= '1884';
  // The Facturation tab (roc-dre-es, roc-rsp): our FINESS, the site policy "wait for the AMO
  // payment", how often a batch goes out (seconds), the drop directories used when the runtime
  // injects no transport (docs/billing-runtime.md).
  process.env.ROC_BILLING_FINESS ||= '750100125';
  process.env.ROC_BILLING_WAIT_AMO ||= 'true';
  process.env.ROC_BILLING_BATCH_SECONDS ||= '30';
  process.env.ROC_BILLING_OUTBOX_DIR ||= path.join(settings.userDir, 'billing', 'out');
  process.env.ROC_BILLING_INBOX_DIR ||= path.join(settings.userDir, 'billing', 'in');

  if (settings.usingDevelopmentSecret) {
    log('WARNING: ROC_CREDENTIAL_SECRET is not set: flow credentials are encrypted with the DEVELOPMENT secret.');
  }

  const app = express();
  const server = settings.https ? https.createServer(settings.https, app) : http.createServer(app);
  RED.init(server, settings);
  app.use(settings.httpAdminRoot, RED.httpAdmin);
  app.use(settings.httpNodeRoot, RED.httpNode);
  // HTTP guard, last error handler: an error raised by Node-RED's parsers or routes (an
  // urlencoded body over the limit, a malformed body…) is answered as JSON in the endpoint's
  // shape, never with express's HTML page (a stack trace with server paths).
  app.use((err: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const { status, body } = errorResponse(err, req, settings.httpGuardOptions);
    if (status >= 500) log(`HTTP ${req.method} ${req.path}: ${describeError(err)}`);
    res.status(status).set('Cache-Control', 'no-store').json(body);
  });

  const flowsStarted = new Promise<void>((resolve) => {
    const onStarted = () => {
      RED.events.removeListener('flows:started', onStarted);
      resolve();
    };
    RED.events.on('flows:started', onStarted);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.uiPort, settings.uiHost, () => resolve());
  });
  await RED.start();
  await flowsStarted;

  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : settings.uiPort;
  const url = `${settings.https ? 'https' : 'http'}://${settings.uiHost}:${port}/`;
  const mllpPort = await mllpListenerPort();
  const eventsPort = await eventsBrokerPort();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    mllpPort,
    eventsPort,
    simulator,
    billing,
    close() {
      closing ||= (async () => {
        await RED.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await billing?.close();
        if (simulator) await simulator.close();
      })();
      return closing;
    },
  };
}

/**
 * Before anything listens: the user directory private (0700: Node-RED keeps its login sessions
 * there), the binding checked (nothing beyond loopback without users configured on purpose), the
 * users loaded (a first-start admin created, its password printed once), the audit trail opened.
 */
async function prepareSecurity(
  settings: { userDir: string; uiHost: string; https?: unknown; rocUsersFile: string; rocAuditFile: string },
  log: (line: string) => void,
): Promise<void> {
  fs.mkdirSync(settings.userDir, { recursive: true, mode: 0o700 });
  if (fs.statSync(settings.userDir).mode & 0o077) {
    fs.chmodSync(settings.userDir, 0o700);
    log(`Security: the user directory ${settings.userDir} is now private (mode 0700).`);
  }
  const adminPassword = process.env.ROC_ADMIN_PASSWORD || undefined;
  const envUsers = process.env.ROC_USERS || undefined;
  const configured = fs.existsSync(settings.rocUsersFile) || !!adminPassword || !!envUsers;
  checkBinding(settings.uiHost, configured);
  // The shipped flow's GAP listener binds ROC_MLLP_HOST (default ROC_HOST): the same rule.
  if (process.env.ROC_MLLP_HOST) checkBinding(process.env.ROC_MLLP_HOST, configured);

  const auditTrail = configureAudit(settings.rocAuditFile, (err) =>
    log(`Audit trail: cannot write ${settings.rocAuditFile} (${err.message})`),
  );
  const loaded = await loadUsers({ file: settings.rocUsersFile, adminPassword, envUsers });
  users.replace(loaded.users);
  for (const w of loaded.warnings) log(`Security: ${w}`);
  if (loaded.generatedPassword) {
    audit({ event: 'admin.created', user: 'system', outcome: 'ok', target: { path: settings.rocUsersFile } });
    const bar = '='.repeat(78);
    log(
      [
        bar,
        'First start: an administrator account was created to sign in to the editor.',
        '    user:     admin',
        `    password: ${loaded.generatedPassword}`,
        'Note it now: it is shown this once. Only its bcrypt hash is stored, in',
        `    ${loaded.file}`,
        '(add operators and viewers there, or set ROC_ADMIN_PASSWORD: see docs/security.md).',
        bar,
      ].join('\n'),
    );
  }
  const roles = loaded.users.reduce<Record<string, number>>((acc, u) => ((acc[u.role] = (acc[u.role] || 0) + 1), acc), {});
  log(
    `Security: ${loaded.users.length} user(s) (${Object.entries(roles)
      .map(([r, n]) => `${n} ${r}`)
      .join(', ')}); audit trail ${auditTrail?.file}`,
  );
  if (!isLoopbackHost(settings.uiHost) && !settings.https) {
    log(
      `WARNING: listening on ${settings.uiHost} over plain HTTP: passwords and tokens cross the network in clear (set ROC_HTTPS_CERT / ROC_HTTPS_KEY).`,
    );
  }
}

/** The port the flow's roc-mllp-in nodes are bound to (the first one bound), once they listen. */
async function mllpListenerPort(timeoutMs = 5000): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let expected = 0;
    let bound: number | undefined;
    RED.nodes.eachNode((n: { type: string; id: string }) => {
      if (n.type !== 'roc-mllp-in') return;
      expected++;
      const live = RED.nodes.getNode(n.id) as { listener?: { port: number } } | null;
      const p = live?.listener?.port;
      if (p && bound === undefined) bound = p;
    });
    if (bound !== undefined || expected === 0 || Date.now() > until) return bound;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The port of the first roc-events node's embedded MQTT broker, once it listens. */
async function eventsBrokerPort(timeoutMs = 5000): Promise<number | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let expected = 0;
    let bound: number | undefined;
    RED.nodes.eachNode((n: { type: string; id: string; mode?: string }) => {
      if (n.type !== 'roc-events' || n.mode === 'external') return;
      expected++;
      const live = RED.nodes.getNode(n.id) as { brokerPort?: number } | null;
      if (live?.brokerPort && bound === undefined) bound = live.brokerPort;
    });
    if (bound !== undefined || expected === 0 || Date.now() > until) return bound;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Last resort: an error nobody caught (a node's callback, a socket, a timer) is logged — its name
 * and message with quoted values and digit runs blanked, never the stack, which may quote patient
 * data — and the runtime keeps serving (the MLLP intake, the other flows). What cannot be caught
 * (out of memory, a native crash, SIGKILL) is for the supervisor: see contrib/roc-bridge.service.
 */
export function installProcessGuards(log: (line: string) => void = (l) => console.error(l)): void {
  process.on('uncaughtException', (err) => log(`ROC Bridge: uncaught error, the runtime keeps running — ${describeError(err)}`));
  process.on('unhandledRejection', (reason) =>
    log(`ROC Bridge: unhandled rejection, the runtime keeps running — ${describeError(reason)}`),
  );
}

export async function main(): Promise<void> {
  const t0 = Date.now();
  installProcessGuards();
  const rt = await startRuntime();
  if (rt.mllpPort) console.log(`GAP MLLP listener (HL7 v2 PAM-FR) on ${process.env.ROC_MLLP_HOST}:${rt.mllpPort}`);
  if (rt.eventsPort) console.log(`Operations events (MQTT, embedded broker) on 127.0.0.1:${rt.eventsPort} (topics roc/#)`);
  console.log(`ROC Bridge ready at ${rt.url} (editor) — started in ${Date.now() - t0} ms`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${sig}: stopping ROC Bridge…`);
    const force = setTimeout(() => process.exit(1), 10000);
    force.unref();
    rt.close().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}
