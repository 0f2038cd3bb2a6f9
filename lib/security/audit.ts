/**
 * The audit trail: who did what and when — operator actions (release a held venue, resend or
 * cancel an answer to the GAP, unmask), deployments and logins (from Node-RED's audit events),
 * refused attempts. One JSON object per line, appended to a file created with mode 0600 in the
 * Node-RED user directory (default roc-audit.log); never rewritten by the bridge.
 *
 * Never patient data: an entry keeps only known fields (time, event, user, role, outcome, HTTP
 * status, source address, and the identifiers of the object acted on: venue number, journal or
 * answer id, node id), each a short string of safe characters. Nodes call {@link auditAction}
 * with the request (its `req.user` is the logged-in user Node-RED's adminAuth found).
 */
import fs from 'node:fs';
import path from 'node:path';

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  /** ISO 8601, UTC. */
  ts: string;
  /** What happened: `release`, `resend`, `cancel`, `unmask`, `deploy`, `login`, `login.fail`… */
  event: string;
  /** The user name, or `anonymous`. */
  user: string;
  role?: string;
  outcome: AuditOutcome;
  status?: number;
  ip?: string;
  /** Identifiers of what was acted on (venue / journal key, answer id, node id, flow id, deploy type). */
  target?: Record<string, string>;
}

/** Fields a target may carry — identifiers, never content. */
const TARGET_KEYS = new Set([
  'venue',
  'key',
  'id',
  'node',
  'flow',
  'mode',
  'type',
  'path',
  'client',
  'module',
  'reason',
  // the message browser's actions: a journal message id, the stage resent, the service, the answer id
  'message',
  'stage',
  'service',
  'answer',
]);
const MAX_FIELD = 120;

/**
 * Keeps a value if it is a short identifier-like string (letters, digits, . _ : / @ - and space;
 * other characters become ?), with any NIR-like run of digits masked.
 */
function clean(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const s = v
    .slice(0, MAX_FIELD)
    .replace(/[^\p{L}\p{N}._:/@\- ]/gu, '?')
    // 13 digits or more (or a Corsican 2A/2B NIR) look like a NIR typed where an id was expected
    .replace(/\d{13,}|[1-478]\d{4}2[AB]\d{6}\d{0,2}/gi, '<masqué>');
  return s || undefined;
}

function cleanTarget(t: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!t) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(t)) {
    if (!TARGET_KEYS.has(k)) continue;
    const c = clean(v);
    if (c !== undefined) out[k] = c;
  }
  return Object.keys(out).length ? out : undefined;
}

/** An append-only JSON-lines file (mode 0600; its directory 0700 when created). */
export class AuditTrail {
  constructor(readonly file: string) {}

  private ensureFile(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(this.file, 'a', 0o600);
    try {
      fs.fchmodSync(fd, 0o600);
    } finally {
      fs.closeSync(fd);
    }
  }

  private ready = false;

  /** Appends one entry (synchronously: entries keep their order and survive a crash right after). */
  write(e: Omit<AuditEntry, 'ts'> & { ts?: string }): AuditEntry {
    const entry: AuditEntry = {
      ts: e.ts ?? new Date().toISOString(),
      event: clean(e.event) ?? 'unknown',
      user: clean(e.user) ?? 'anonymous',
      ...(clean(e.role) ? { role: clean(e.role) } : {}),
      outcome: e.outcome === 'ok' || e.outcome === 'denied' ? e.outcome : 'failed',
      ...(typeof e.status === 'number' ? { status: e.status } : {}),
      ...(clean(e.ip) ? { ip: clean(e.ip) } : {}),
      ...(cleanTarget(e.target) ? { target: cleanTarget(e.target) } : {}),
    };
    if (!this.ready) {
      this.ensureFile();
      this.ready = true;
    }
    fs.appendFileSync(this.file, JSON.stringify(entry) + '\n');
    return entry;
  }

  /** Reads the entries back (tests, a support export). */
  read(): AuditEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEntry);
  }
}

let trail: AuditTrail | undefined;
let onError: (err: Error) => void = () => {};

/** Where this process writes its audit trail (the runtime calls it at start; unset = no trail). */
export function configureAudit(file: string | undefined, errorLog?: (err: Error) => void): AuditTrail | undefined {
  trail = file ? new AuditTrail(file) : undefined;
  if (errorLog) onError = errorLog;
  return trail;
}

export function auditTrail(): AuditTrail | undefined {
  if (!trail && process.env.ROC_AUDIT_FILE) trail = new AuditTrail(process.env.ROC_AUDIT_FILE);
  return trail;
}

/** Records an entry in this process's trail; never throws (a failure is reported to the error log). */
export function audit(e: Omit<AuditEntry, 'ts'>): void {
  const t = auditTrail();
  if (!t) return;
  try {
    t.write(e);
  } catch (err) {
    onError(err as Error);
  }
}

/** The parts of an express request the audit needs (req.user is set by Node-RED's adminAuth). */
export interface AuditRequest {
  user?: { username?: string; role?: string; anonymous?: boolean } | null;
  ip?: string;
  socket?: { remoteAddress?: string };
}

function who(req: AuditRequest | undefined): { user: string; role?: string; ip?: string } {
  const u = req?.user;
  return {
    user: u && !u.anonymous && u.username ? u.username : 'anonymous',
    role: u?.role,
    ip: req?.ip ?? req?.socket?.remoteAddress,
  };
}

/**
 * Records an operator action done through an HTTP request: `auditAction(req, 'release',
 * { venue: key, node: id }, 'ok')`. Target values are identifiers (never patient data).
 */
export function auditAction(
  req: AuditRequest | undefined,
  event: string,
  target: Record<string, unknown> = {},
  outcome: AuditOutcome = 'ok',
  status?: number,
): void {
  audit({ event, ...who(req), outcome, status, target: cleanTarget(target) });
}

/** Node-RED audit events worth keeping, and their name in the trail. */
const NODE_RED_EVENTS: Record<string, { event: string; outcome: AuditOutcome }> = {
  'flows.set': { event: 'deploy', outcome: 'ok' },
  'flow.add': { event: 'flow.add', outcome: 'ok' },
  'flow.update': { event: 'flow.update', outcome: 'ok' },
  'flow.remove': { event: 'flow.remove', outcome: 'ok' },
  'credentials.get': { event: 'credentials.read', outcome: 'ok' },
  'nodes.install': { event: 'nodes.install', outcome: 'ok' },
  'nodes.remove': { event: 'nodes.remove', outcome: 'ok' },
  'nodes.module.set': { event: 'nodes.module.set', outcome: 'ok' },
  'nodes.info.set': { event: 'nodes.info.set', outcome: 'ok' },
  'library.set': { event: 'library.set', outcome: 'ok' },
  'context.delete': { event: 'context.delete', outcome: 'ok' },
  'settings.update': { event: 'settings.update', outcome: 'ok' },
  'auth.login': { event: 'login', outcome: 'ok' },
  'auth.login.revoke': { event: 'logout', outcome: 'ok' },
  'auth.login.fail.credentials': { event: 'login', outcome: 'denied' },
  'auth.login.fail.permissions': { event: 'login', outcome: 'denied' },
  'auth.login.fail.too-many-attempts': { event: 'login.too-many-attempts', outcome: 'denied' },
  'auth.login.fail.oauth': { event: 'login', outcome: 'denied' },
  'auth.invalid-token': { event: 'token.invalid', outcome: 'denied' },
  'permission.fail': { event: 'permission', outcome: 'denied' },
  'comms.auth.fail': { event: 'comms', outcome: 'denied' },
};

/** A Node-RED log message of level audit (see settings.js `logging`). */
export interface NodeRedAuditMsg {
  event?: string;
  user?: { username?: string; role?: string; anonymous?: boolean } | null;
  username?: unknown;
  client?: unknown;
  ip?: unknown;
  path?: unknown;
  type?: unknown;
  id?: unknown;
  module?: unknown;
  permissions?: unknown;
  error?: unknown;
}

/** Translates a Node-RED audit event into an entry (undefined: not kept, e.g. reads of flows). */
export function entryFromNodeRed(msg: NodeRedAuditMsg): Omit<AuditEntry, 'ts'> | undefined {
  const known = msg.event ? NODE_RED_EVENTS[msg.event] : undefined;
  if (!known) return undefined;
  const u = msg.user;
  const user = u && !u.anonymous && u.username ? u.username : typeof msg.username === 'string' ? msg.username : 'anonymous';
  const target: Record<string, unknown> = { path: msg.path, client: msg.client, type: msg.type, id: msg.id, module: msg.module };
  if (msg.event === 'permission.fail') target.reason = Array.isArray(msg.permissions) ? msg.permissions.join(' ') : msg.permissions;
  return {
    event: known.event,
    user: clean(user) ?? 'anonymous',
    role: u?.role,
    outcome: known.outcome,
    ip: typeof msg.ip === 'string' ? msg.ip : undefined,
    target: cleanTarget(target),
  };
}

/** A Node-RED logger handler (settings.js `logging.rocAudit.handler`) feeding this trail. */
export function nodeRedAuditHandler(): (msg: NodeRedAuditMsg & { level?: number }) => void {
  return (msg) => {
    if (msg.level !== undefined && msg.level !== 98) return;
    const e = entryFromNodeRed(msg);
    if (e) audit(e);
  };
}
