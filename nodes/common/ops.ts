/**
 * The operations dashboard and message browser (docs/operations-dashboard.md): admin routes on
 * RED.httpAdmin, registered once per runtime by roc-mllp-in's module.
 *
 *   GET  /roc/ops/                      the dashboard page (static files of ops/, no data in them)
 *   GET  /roc/ops/vendor/uPlot.*        the charting library (npm `uplot`, from node_modules)
 *   GET  /roc/ops/summary               counters, queues, breakers, certificates, series, alerts (viewer)
 *   GET  /roc/ops/messages              search the journal (viewer)
 *   GET  /roc/ops/messages/:id          one message, each stage, masked; ?unmask=1 for an admin (audited)
 *   POST /roc/ops/messages/:id/resend   process it again from a stage (operator, audited):
 *        ?stage=message (default: the raw input into the intake) | admission (the mapped admission
 *        into the dossier engine) | service&service=idb|sim|clc|del (the dossier asks it again) |
 *        answer&answer=<id> (the answer to the GAP sent again); lib/ops/resend.ts
 *
 * The live parts (listeners, answer senders, establishments) are found through RED.nodes; the
 * statistics are fed by the event bus (the service nodes' `answered` events, `connectOpsToBus`),
 * and the summary (queues, dossiers) rebuilt and the alert rules evaluated every `POLL_MS`. The
 * alert changes go out through `configureAlerts` (MQTT via roc-events, e-mail, webhook).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { NodeAPI } from './red';
import { auditAction } from '../../lib/security/audit';
import { hasPermission, operationsAct, operationsRead } from '../../lib/security/access';
import { PATIENT_UNMASK } from '../../lib/security/users';
import { QueryError, messageDetail, parseMessageQuery, searchMessages, type OpsJournal } from '../../lib/ops/messages';
import { DossierExchangeFeed, OpsStats, sampleFromEvent, type ServiceEventLike } from '../../lib/ops/stats';
import { AlertEngine, DEFAULT_RULES, type AlertRule } from '../../lib/ops/alerts';
import {
  AlertConfigError,
  AlertOutlets,
  applyAlertRules,
  outletSettingsFromEnv,
  parseAlertRules,
  type AlertMqttTarget,
} from '../../lib/ops/alert-outlets';
import { alertInputs, buildSummary, type LiveSources, type SummaryJournal } from '../../lib/ops/summary';
import type { CircuitBreaker } from '../../lib/sel/breaker';
import type { CertificateState } from '../../lib/sel/establishment';
import type { Journal, OutboundRecord, Stored } from '../../lib/store/journal';
import { events } from '../../lib/events/bus';
import { ResendRefused, parseStage, planStageResend } from '../../lib/ops/resend';
import { DossierError } from '../../lib/dossier/engine';
import { maskId } from '../../lib/dossier/view';
import type { OnlineService } from '../../lib/model/dossier';

/** How often the journal is polled for new exchanges and the alert rules evaluated. */
export const POLL_MS = Number(process.env.ROC_OPS_POLL_MS) > 0 ? Number(process.env.ROC_OPS_POLL_MS) : 5000;

/** The process-wide aggregator (a bus of events may feed it too: `opsStats.record(sample)`). */
export const opsStats = new OpsStats();
/** The process-wide alert engine: `opsAlerts.onChange(cb)` for the outlets. */
export const opsAlerts = new AlertEngine();

/** settings.js `rocOps` (docs/operations-dashboard.md): the alert rules over the defaults. */
interface RocOpsSettings {
  alerts?: { rules?: unknown };
}
/** Where the active rules come from, for the dashboard (set by {@link configureAlerts}). */
let rulesFrom: string[] = ['défauts'];

/** The outlets of the alert changes (MQTT, e-mail, webhook), set by {@link configureAlerts}. */
let outlets: AlertOutlets | undefined;
let outletsOff: (() => void) | undefined;

/**
 * Reads the alert configuration (`ROC_ALERT_RULES`, `ROC_ALERT_SMTP_*`, `ROC_ALERT_MAIL_*`,
 * `ROC_ALERT_WEBHOOK_URL`; docs/operations-dashboard.md) and connects the outlets to
 * {@link opsAlerts}: each change goes once to the MQTT publishers of the deployed roc-events
 * nodes (`<prefix>/<finess>/alerts/<rule>[/<subject>]`, QoS 1, retained), by e-mail and to the
 * webhook when configured. Invalid rules: the defaults are kept and the error logged; an invalid
 * mail or webhook setting disables that outlet (logged). Returns the outlets (tests).
 */
export function configureAlerts(RED: NodeAPI, env: Record<string, string | undefined> = process.env): AlertOutlets {
  // the defaults, then the runtime settings (settings.js: rocOps.alerts.rules), then ROC_ALERT_RULES
  const fromSettings = ((RED as unknown as { settings?: Record<string, unknown> }).settings?.rocOps as RocOpsSettings | undefined)?.alerts
    ?.rules;
  let rules: AlertRule[] = [...DEFAULT_RULES];
  const sources = ['défauts'];
  try {
    if (fromSettings !== undefined && !(Array.isArray(fromSettings) && fromSettings.length === 0)) {
      rules = applyAlertRules(fromSettings, rules, 'rocOps.alerts.rules');
      sources.push('settings.js rocOps.alerts.rules');
    }
    if (env.ROC_ALERT_RULES?.trim()) {
      rules = parseAlertRules(env.ROC_ALERT_RULES, rules);
      sources.push('ROC_ALERT_RULES');
    }
  } catch (e) {
    rules = [...DEFAULT_RULES];
    sources.splice(1);
    RED.log.error(`ROC alerts: ${e instanceof AlertConfigError ? e.message : 'alert rules unreadable'}; default rules kept`);
  }
  opsAlerts.setRules(rules);
  rulesFrom = sources;
  let settings = {};
  try {
    settings = outletSettingsFromEnv(env);
  } catch (e) {
    RED.log.error(`ROC alerts: ${e instanceof AlertConfigError ? e.message : 'settings unreadable'}; e-mail and webhook disabled`);
  }
  outletsOff?.();
  outlets?.close();
  const o = new AlertOutlets(
    settings,
    () => nodesOf(RED, 'roc-events').flatMap((n) => (n.publisher ? [n.publisher as AlertMqttTarget] : [])),
    (outlet, reason) => RED.log.warn(`ROC alerts: ${outlet} outlet failed (${reason.slice(0, 120)})`),
  );
  outlets = o;
  outletsOff = opsAlerts.onChange((c) => o.handle(c));
  return o;
}

type AnyNode = Record<string, unknown> & { id: string; type: string; name?: string };
interface ListenerLike {
  port: number;
  connections: number;
  options: { journal?: Journal };
  resend(id: number): Promise<Stored>;
}

function nodesOf(RED: NodeAPI, type: string): AnyNode[] {
  const out: AnyNode[] = [];
  const each = (RED.nodes as unknown as { eachNode?: (cb: (n: { id: string; type: string }) => void) => void }).eachNode;
  each?.((def) => {
    if (def.type !== type) return;
    const live = RED.nodes.getNode(def.id) as AnyNode | null;
    if (live) out.push(live);
  });
  return out;
}

function listeners(RED: NodeAPI): Array<{ node: AnyNode; listener: ListenerLike }> {
  return nodesOf(RED, 'roc-mllp-in').flatMap((n) => (n.listener ? [{ node: n, listener: n.listener as ListenerLike }] : []));
}

/** The journal of the bridge: the intake's, else the dossier node's, else the answer sender's. */
function journalOf(RED: NodeAPI): (Journal & OpsJournal & SummaryJournal) | undefined {
  for (const { listener } of listeners(RED)) if (listener.options.journal) return listener.options.journal as Journal;
  for (const t of ['roc-dossier', 'roc-mllp-out']) {
    for (const n of nodesOf(RED, t)) if (n.journal) return n.journal as Journal;
  }
  return undefined;
}

function liveSources(RED: NodeAPI): LiveSources {
  return {
    establishments: nodesOf(RED, 'roc-establishment').map((n) => {
      const client = n.client as { breaker?: CircuitBreaker } | undefined;
      const e: NonNullable<LiveSources['establishments']>[number] = { id: n.id, breakers: client?.breaker?.snapshot() ?? [] };
      if (n.name) e.name = n.name;
      if (n.certificate) e.certificate = n.certificate as CertificateState;
      return e;
    }),
    senders: nodesOf(RED, 'roc-mllp-out').flatMap((n) => {
      const s = n.sender as { destination?: string; isConnected?: boolean } | undefined;
      return s?.destination ? [{ id: n.id, destination: s.destination, connected: s.isConnected === true }] : [];
    }),
    listeners: listeners(RED).map(({ node, listener }) => ({ id: node.id, port: listener.port, connections: listener.connections })),
  };
}

/** Where the page's files are: ops/ at the package root (from nodes/common or dist/nodes/common). */
function opsDir(): string | undefined {
  for (const up of ['../..', '../../..']) {
    const d = path.resolve(__dirname, up, 'ops');
    if (fs.existsSync(path.join(d, 'index.html'))) return d;
  }
  return undefined;
}

const STATIC: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'ops.js': 'text/javascript; charset=utf-8',
  'ops.css': 'text/css; charset=utf-8',
};

/**
 * The charting library of the page (uPlot, a dependency of this package, installed from npm),
 * served from node_modules at /roc/ops/vendor/…: no CDN, the page works without the internet.
 */
const VENDOR: Record<string, { module: string; type: string }> = {
  'uPlot.iife.min.js': { module: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { module: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** The file of a vendored asset (require.resolve: wherever npm put the package), or undefined. */
export function vendorFile(name: string): string | undefined {
  const v = VENDOR[name];
  if (!v) return undefined;
  try {
    return require.resolve(v.module);
  } catch {
    return undefined;
  }
}

type Res = {
  status(n: number): Res;
  json(b: unknown): void;
  setHeader(k: string, v: string): void;
  end(b?: string | Buffer): void;
  redirect?(url: string): void;
  statusCode: number;
};
type Req = {
  params: Record<string, string>;
  query: Record<string, unknown>;
  user?: { username?: string; permissions?: string | string[] } | null;
  authInfo?: { scope?: string | string[] };
  originalUrl?: string;
};

/**
 * `?unmask=1` on a list endpoint (GET /roc/journal/held, GET /roc/outbound/errors): true when the
 * caller may see patient identifiers (admin, PATIENT_UNMASK; the caller audits the success with
 * `auditAction(req, 'unmask', target, 'ok', 200)`), false when not asked; undefined when refused
 * (403 sent and the attempt audited).
 */
export function unmaskAsked(req: unknown, res: unknown, target: Record<string, unknown>): boolean | undefined {
  const r = req as Req;
  if (r.query?.unmask !== '1') return false;
  const may = !r.user || hasPermission(r.authInfo?.scope ?? r.user.permissions, PATIENT_UNMASK);
  if (may) return true;
  auditAction(r as never, 'unmask', target, 'denied', 403);
  (res as Res).status(403).json({ erreur: 'démasquage réservé au rôle admin' });
  return undefined;
}

const registered = new WeakSet<object>();
let timer: NodeJS.Timeout | undefined;
let feed: { journal: unknown; feed: DossierExchangeFeed } | undefined;
let lastSummary: { at: number; value: unknown } | undefined;
/** The runtime of the latest registration (node tests start several in one process). */
let current: NodeAPI | undefined;

/** Set once the statistics come from the event bus: the journal is no longer polled for exchanges. */
let fedByBus = false;

/**
 * Feeds the dashboard's statistics from the operations event bus (lib/events: `events.subscribe`)
 * instead of polling the journal's dossiers: `connectOpsToBus((fn) => events.subscribe(fn))`.
 * Returns the unsubscribe function (the journal poll resumes).
 */
export function connectOpsToBus(subscribe: (fn: (e: ServiceEventLike) => void) => () => void): () => void {
  fedByBus = true;
  const off = subscribe((e) => {
    const s = sampleFromEvent(e);
    if (s) opsStats.record(s);
  });
  return () => {
    off();
    fedByBus = false;
    feed = undefined;
  };
}

async function tick(RED: NodeAPI): Promise<unknown> {
  const j = journalOf(RED);
  if (!j) return undefined;
  if (!fedByBus) {
    if (!feed || feed.journal !== j) feed = { journal: j, feed: new DossierExchangeFeed(j, opsStats) };
    await feed.feed.poll();
  }
  const s = await buildSummary(j, liveSources(RED), opsStats);
  opsAlerts.evaluate(alertInputs(s));
  const value = {
    ...s,
    alerts: { active: opsAlerts.active(), recent: opsAlerts.recent().slice(-20), rules: opsAlerts.rules, rulesFrom },
  };
  lastSummary = { at: Date.now(), value };
  return value;
}

/** The bus subscription of the statistics (one per process, whatever the number of runtimes). */
let busOff: (() => void) | undefined;

export function registerOps(RED: NodeAPI): void {
  // httpAdminRoot: false gives no admin app: nothing to serve
  const app = RED.httpAdmin as unknown;
  if (!app || (typeof app !== 'object' && typeof app !== 'function') || registered.has(app as object)) return;
  registered.add(app as object);
  current = RED;
  // The statistics come from the nodes' `answered` events (lib/events): exact latencies, no
  // journal poll; the journal still gives the queues, dossiers and held venues of the summary.
  busOff ??= connectOpsToBus((fn) => events.subscribe((e) => fn(e as unknown as ServiceEventLike)));
  configureAlerts(RED);
  const read = operationsRead(RED.auth);

  if (!timer) {
    timer = setInterval(() => {
      if (current) tick(current).catch(() => undefined);
    }, POLL_MS);
    timer.unref();
  }

  // The page: static files, no data in them (the data comes from the guarded JSON endpoints).
  const page = (file: string) => (_req: Req, res: Res) => {
    const dir = opsDir();
    if (!dir) return res.status(404).json({ erreur: 'page des opérations absente (dossier ops/)' });
    res.setHeader('content-type', STATIC[file]);
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'self'",
    );
    res.end(fs.readFileSync(path.join(dir, file)));
  };
  // express routes are not strict: '/roc/ops' also matches '/roc/ops/'; the page's relative
  // links need the trailing slash
  const index = page('index.html');
  RED.httpAdmin.get('/roc/ops', (req: Req, res: Res) => {
    const p = (req.originalUrl ?? '/roc/ops/').split('?')[0];
    if (p.endsWith('/')) return index(req, res);
    res.statusCode = 302;
    res.setHeader('location', `${p}/`);
    res.end();
  });
  for (const f of Object.keys(STATIC)) RED.httpAdmin.get(`/roc/ops/${f}`, page(f));
  for (const f of Object.keys(VENDOR)) {
    RED.httpAdmin.get(`/roc/ops/vendor/${f}`, (_req: Req, res: Res) => {
      const file = vendorFile(f);
      if (!file) return res.status(404).json({ erreur: `bibliothèque de graphes absente (${VENDOR[f].module} : npm install)` });
      res.setHeader('content-type', VENDOR[f].type);
      // the version is pinned in package.json: an hour of cache, revalidated after
      res.setHeader('cache-control', 'max-age=3600');
      res.setHeader('x-content-type-options', 'nosniff');
      res.end(fs.readFileSync(file));
    });
  }

  RED.httpAdmin.get('/roc/ops/summary', read, (_req: Req, res: Res) => {
    // at most one build per second whatever the number of open dashboards
    if (lastSummary && Date.now() - lastSummary.at < 1000) return res.json(lastSummary.value);
    tick(RED).then(
      (v) =>
        v
          ? res.json(v)
          : res.status(503).json({ erreur: 'aucun journal ouvert (ni roc-mllp-in, ni roc-dossier, ni roc-mllp-out déployé)' }),
      () => res.status(500).json({ erreur: 'journal illisible' }),
    );
  });

  RED.httpAdmin.get('/roc/ops/messages', read, (req: Req, res: Res) => {
    const j = journalOf(RED);
    if (!j) return res.status(503).json({ erreur: 'aucun journal ouvert' });
    let q;
    try {
      q = parseMessageQuery(req.query);
    } catch (e) {
      return res.status(400).json({ erreur: e instanceof QueryError ? e.message : 'requête invalide' });
    }
    searchMessages(j, q).then(
      (page) => res.json(page),
      () => res.status(500).json({ erreur: 'journal illisible' }),
    );
  });

  RED.httpAdmin.get('/roc/ops/messages/:id', read, (req: Req, res: Res) => {
    const id = Number(req.params.id);
    if (!/^\d{1,15}$/.test(String(req.params.id)) || !id) return res.status(400).json({ erreur: 'identifiant de message invalide' });
    const j = journalOf(RED);
    if (!j) return res.status(503).json({ erreur: 'aucun journal ouvert' });
    const asked = req.query.unmask === '1';
    const may = !req.user || hasPermission(req.authInfo?.scope ?? req.user.permissions, PATIENT_UNMASK);
    if (asked && !may) {
      auditAction(req as never, 'unmask', { message: id }, 'denied', 403);
      return res.status(403).json({ erreur: 'démasquage réservé au rôle admin' });
    }
    messageDetail(j, id, { unmask: asked }).then(
      (d) => {
        if (!d) return res.status(404).json({ erreur: `message ${id} absent du journal` });
        if (asked) auditAction(req as never, 'unmask', { message: id }, 'ok', 200);
        res.json(d);
      },
      () => res.status(500).json({ erreur: 'journal illisible' }),
    );
  });

  const resendGuard = operationsAct(RED.auth, 'message.resend', (req) => ({
    message: req.params?.id,
    stage: typeof req.query?.stage === 'string' ? req.query.stage.slice(0, 20) : 'message',
    ...(typeof req.query?.service === 'string' ? { service: req.query.service.slice(0, 10) } : {}),
    ...(typeof req.query?.answer === 'string' ? { answer: req.query.answer.slice(0, 15) } : {}),
  }));
  RED.httpAdmin.post('/roc/ops/messages/:id/resend', ...resendGuard, (req: Req, res: Res) => {
    const id = Number(req.params.id);
    if (!/^\d{1,15}$/.test(String(req.params.id)) || !id) return res.status(400).json({ erreur: 'identifiant de message invalide' });
    let asked: ReturnType<typeof parseStage>;
    try {
      asked = parseStage(req.query);
    } catch (e) {
      return res.status(400).json({ erreur: (e as Error).message });
    }
    const j = journalOf(RED);
    if (!j) return res.status(503).json({ erreur: 'aucun journal ouvert' });
    resendFrom(RED, j, id, asked).then(
      (r) => res.status(r.status).json(r.body),
      (e: Error & { code?: string }) => {
        if (e instanceof ResendRefused) return res.status(e.status).json({ erreur: e.message });
        if (e instanceof DossierError) {
          const status = e.code === 'NOT_FOUND' || e.code === 'UNKNOWN_VENUE' ? 404 : 409;
          return res.status(status).json({ erreur: e.message });
        }
        res
          .status(e.code === 'BAD_STATE' ? 409 : 500)
          .json({ erreur: e.code === 'BAD_STATE' ? 'état du message incompatible' : 'renvoi impossible (journal)' });
      },
    );
  });
}

type Reply = { status: number; body: Record<string, unknown> };

/** Resends message `id` from the stage asked, with the live nodes (intake, dossier, answer sender). */
async function resendFrom(RED: NodeAPI, j: Journal & OpsJournal, id: number, asked: ReturnType<typeof parseStage>): Promise<Reply> {
  const plan = await planStageResend(j, id, asked);
  if (plan.stage === 'message') {
    const ls = listeners(RED);
    const l = ls.find((x) => x.listener.options.journal) ?? ls[0];
    if (!l) return { status: 503, body: { erreur: 'aucun roc-mllp-in déployé : rien pour traiter le message' } };
    const rec = await l.listener.options.journal!.get(id);
    if (!rec) return { status: 404, body: { erreur: `message ${id} absent du journal` } };
    if (rec.state === 'RECEIVED' || rec.state === 'PROCESSING' || rec.state === 'HELD') {
      return { status: 409, body: { erreur: `message ${id} encore en attente de traitement (${rec.state})` } };
    }
    if (rec.purgedAt) return { status: 409, body: { erreur: `message ${id} effacé par la rétention : plus rien à renvoyer` } };
    const stored = await l.listener.resend(id);
    return { status: 202, body: { resent: id, stage: 'message', id: stored.storedId, state: stored.state, node: l.node.id } };
  }
  if (plan.stage === 'admission' || plan.stage === 'service') {
    const d = nodesOf(RED, 'roc-dossier').find((n) => n.replay) as (AnyNode & { replay: DossierReplay }) | undefined;
    if (!d) return { status: 503, body: { erreur: 'aucun roc-dossier déployé : pas de moteur de dossiers' } };
    // a venue number names the dossier in clear; an NDA (…/N/…) is masked
    const [finess, kind, rest] = plan.key.split('/');
    const dossier = kind === 'N' ? `${finess}/N/${maskId(rest)}` : plan.key;
    if (plan.stage === 'admission') {
      await d.replay.admission(plan.roc);
      return { status: 202, body: { resent: id, stage: 'admission', dossier, node: d.id } };
    }
    const r = await d.replay.service(plan.key, plan.service);
    return {
      status: 202,
      body: { resent: id, stage: 'service', service: plan.service, dossier, memeRequete: r.repeat, node: d.id },
    };
  }
  const out = nodesOf(RED, 'roc-mllp-out').find((n) => (n.sender as AnswerSender | undefined)?.destination === plan.answer.destination);
  const sender = out?.sender as AnswerSender | undefined;
  if (!out || !sender) return { status: 503, body: { erreur: `aucun roc-mllp-out déployé vers ${plan.answer.destination}` } };
  if (plan.action === 'requeue') {
    await sender.resend(plan.answer.id);
    return {
      status: 202,
      body: { resent: id, stage: 'answer', answer: plan.answer.id, id: plan.answer.id, state: 'QUEUED', node: out.id },
    };
  }
  const copy = await sender.enqueue(plan.answer.payload!, plan.answer.orderingKey ?? `inbound:${id}`, id);
  return { status: 202, body: { resent: id, stage: 'answer', answer: plan.answer.id, id: copy.id, state: copy.state, node: out.id } };
}

interface DossierReplay {
  admission(roc: Record<string, unknown>): Promise<void>;
  service(key: string, service: OnlineService): Promise<{ requestId: string; repeat: boolean }>;
}
interface AnswerSender {
  destination: string;
  resend(id: number): Promise<void>;
  enqueue(payload: Buffer, orderingKey: string, inboundId?: number, answerKey?: string): Promise<OutboundRecord>;
}

/** Stops the poll timer, the bus subscription and the alert outlets; forgets the statistics (tests). */
export function stopOps(): void {
  opsStats.reset();
  busOff?.();
  busOff = undefined;
  outletsOff?.();
  outletsOff = undefined;
  outlets?.close();
  outlets = undefined;
  if (timer) clearInterval(timer);
  timer = undefined;
  feed = undefined;
  lastSummary = undefined;
}
