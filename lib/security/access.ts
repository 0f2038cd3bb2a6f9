/**
 * Who may reach what, besides Node-RED's own login:
 *
 * - the endpoints of the flows (http-in nodes on httpNode: `/desk`, `/desk/scan`, `/desk/demo`,
 *   `POST /roc/dossier`, `/roc/cancel`, …) that a clerk's workstation or a GAP calls: allowed
 *   from the addresses of ROC_HTTP_ALLOW (CIDRs, default this machine only), or with a bearer
 *   token of ROC_API_TOKENS; anything else gets 403 (JSON) before the http-in node handles it;
 * - the ROC operations endpoints (held venues, failed GAP answers): reading needs
 *   `roc.operations.read` (viewer), acting `roc.operations.write` (operator); the attempt and its
 *   outcome go to the audit trail;
 * - where the runtime may listen: loopback unless configured, never beyond without users.
 *
 * Pure TypeScript: express-shaped middlewares, no Node-RED import.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import net from 'node:net';
import { auditAction, type AuditRequest } from './audit';
import { OPERATIONS_READ, OPERATIONS_WRITE } from './users';

// ---------------------------------------------------------------------------------------------
// Node-RED's permission rule (node_modules/@node-red/editor-api/lib/auth/permissions.js)

export function hasPermission(scope: string | string[] | undefined, permission: string): boolean {
  if (permission === '') return true;
  if (Array.isArray(scope)) return scope.some((s) => hasPermission(s, permission));
  if (!scope) return false;
  if (scope === '*' || scope === permission) return true;
  if (scope === 'read' || scope === '*.read') return /^((.+)\.)?read$/.test(permission);
  if (scope === 'write' || scope === '*.write') return /^((.+)\.)?write$/.test(permission);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Addresses

export class AccessConfigError extends Error {}

interface Cidr {
  family: 4 | 6;
  bytes: Buffer;
  bits: number;
  text: string;
}

function ipBytes(ip: string): { family: 4 | 6; bytes: Buffer } | undefined {
  let a = ip.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped) a = mapped[1];
  if (net.isIPv4(a)) return { family: 4, bytes: Buffer.from(a.split('.').map(Number)) };
  if (!net.isIPv6(a)) return undefined;
  // expand ::, and an embedded IPv4 tail
  let head = a;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(head);
  if (v4) {
    tail = v4[1].split('.').map(Number);
    head = head.slice(0, -v4[1].length) + '0:0';
  }
  const [l, r] = head.split('::');
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r ? r.split(':') : [];
  const groups = r !== undefined ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16) || 0, i * 2));
  if (tail.length) tail.forEach((b, i) => (bytes[12 + i] = b));
  return { family: 6, bytes };
}

export function parseCidr(text: string): Cidr {
  const t = text.trim();
  const [addr, bitsText] = t.split('/');
  const ip = ipBytes(addr);
  if (!ip) throw new AccessConfigError(`ROC_HTTP_ALLOW: "${t}" is not an IP address or CIDR (e.g. 10.20.0.0/16, ::1)`);
  const max = ip.family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (bitsText !== undefined && !/^\d+$/.test(bitsText))) {
    throw new AccessConfigError(`ROC_HTTP_ALLOW: "${t}": the prefix length must be 0–${max}`);
  }
  return { ...ip, bits, text: t };
}

export function parseAllowList(text: string | undefined): Cidr[] {
  const list = (text ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(parseCidr);
  return list;
}

/** The default: this machine only. */
export const LOOPBACK_ALLOW = '127.0.0.0/8, ::1';

export function ipAllowed(ip: string | undefined, allow: Cidr[]): boolean {
  const a = ip ? ipBytes(ip) : undefined;
  if (!a) return false;
  return allow.some((c) => {
    if (c.family !== a.family) return false;
    const full = Math.floor(c.bits / 8);
    if (!a.bytes.subarray(0, full).equals(c.bytes.subarray(0, full))) return false;
    const rest = c.bits % 8;
    if (!rest) return true;
    const mask = (0xff << (8 - rest)) & 0xff;
    return (a.bytes[full] & mask) === (c.bytes[full] & mask);
  });
}

export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  if (host === 'localhost') return true;
  return ipAllowed(host, parseAllowList(LOOPBACK_ALLOW));
}

// ---------------------------------------------------------------------------------------------
// The flows' HTTP endpoints (httpNodeMiddleware)

interface Req extends AuditRequest {
  method?: string;
  path?: string;
  url?: string;
  headers: Record<string, string | string[] | undefined>;
}
interface Res {
  statusCode: number;
  setHeader(name: string, value: string): void;
  end(body?: string): void;
  on?(event: 'finish', cb: () => void): void;
  status?(n: number): Res;
  json?(v: unknown): void;
}
type Next = (err?: unknown) => void;
export type Middleware = (req: Req, res: Res, next: Next) => void;

export interface HttpAccessOptions {
  /** ROC_HTTP_ALLOW: addresses allowed without a token (default {@link LOOPBACK_ALLOW}). */
  allow?: string;
  /** ROC_API_TOKENS: bearer tokens allowed from anywhere (comma or space separated, ≥ 24 characters each). */
  tokens?: string;
  /** Called for a refused request, at most once a minute per address (a log line: address and path, nothing else). */
  onRefused?: (info: { ip: string; path: string; reason: string }) => void;
}

export const MIN_TOKEN_LENGTH = 24;
const REPORT_EVERY_MS = 60_000;

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function remoteAddress(req: Req): string {
  // the socket's address: X-Forwarded-For is not trusted (a reverse proxy belongs in ROC_HTTP_ALLOW)
  return req.socket?.remoteAddress ?? req.ip ?? '';
}

function bearer(req: Req): string | undefined {
  const h = req.headers.authorization;
  const v = Array.isArray(h) ? h[0] : h;
  const m = v ? /^Bearer\s+(\S+)\s*$/i.exec(v) : null;
  return m ? m[1] : undefined;
}

function refuse(res: Res, status: number, reason: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  if (status === 401) res.setHeader('www-authenticate', 'Bearer realm="roc-bridge"');
  res.end(JSON.stringify({ status: 'KO', reason }));
}

/**
 * The access rule of the flows' HTTP endpoints: an allowed address, or a valid bearer token.
 * A request carrying a wrong token is refused even from an allowed address (a misconfigured
 * client should learn it at once, not when it moves).
 */
export function httpAccess(o: HttpAccessOptions = {}): Middleware {
  const allow = parseAllowList(o.allow === undefined || o.allow.trim() === '' ? LOOPBACK_ALLOW : o.allow);
  const tokens = (o.tokens ?? '').split(/[\s,]+/).filter(Boolean);
  for (const t of tokens) {
    if (t.length < MIN_TOKEN_LENGTH)
      throw new AccessConfigError(`ROC_API_TOKENS: every token needs at least ${MIN_TOKEN_LENGTH} characters (openssl rand -hex 24)`);
  }
  const digests = tokens.map(digest);
  // one report per address and minute: a scanner hammering the port does not flood the log
  const lastReport = new Map<string, number>();
  const report = (info: { ip: string; path: string; reason: string }) => {
    if (!o.onRefused) return;
    const now = Date.now();
    if ((lastReport.get(info.ip) ?? -Infinity) > now - REPORT_EVERY_MS) return;
    if (lastReport.size >= 1000) lastReport.clear();
    lastReport.set(info.ip, now);
    o.onRefused(info);
  };
  return (req, res, next) => {
    const ip = remoteAddress(req);
    const path = (req.path ?? req.url ?? '').split('?')[0];
    const token = bearer(req);
    if (token !== undefined) {
      const d = digest(token);
      if (digests.some((x) => timingSafeEqual(x, d))) return next();
      report({ ip, path, reason: 'bad token' });
      return refuse(res, 401, 'jeton d’accès invalide (ROC_API_TOKENS)');
    }
    if (ipAllowed(ip, allow)) return next();
    report({ ip, path, reason: 'address not allowed' });
    return refuse(
      res,
      403,
      `accès refusé depuis ${ip || 'une adresse inconnue'} : adresse hors ROC_HTTP_ALLOW et aucun jeton (voir docs/security.md)`,
    );
  };
}

/** The access rule from the environment (ROC_HTTP_ALLOW, ROC_API_TOKENS). */
export function httpAccessFromEnv(env: NodeJS.ProcessEnv, onRefused?: HttpAccessOptions['onRefused']): Middleware {
  return httpAccess({ allow: env.ROC_HTTP_ALLOW, tokens: env.ROC_API_TOKENS, onRefused });
}

// ---------------------------------------------------------------------------------------------
// The ROC operations endpoints (RED.httpAdmin routes of roc-mllp-in / roc-mllp-out)

/** The part of RED.auth the guards need. */
export interface NeedsPermission {
  needsPermission(permission: string): unknown;
}

interface OpReq extends Req {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  authInfo?: { scope?: string | string[] };
  user?: { username?: string; role?: string; anonymous?: boolean; permissions?: string | string[] } | null;
}
type OpMiddleware = (req: OpReq, res: Res, next: Next) => void;

/** Reading an operations list: `roc.operations.read` (viewer and above). */
export function operationsRead(auth: NeedsPermission): OpMiddleware {
  return auth.needsPermission(OPERATIONS_READ) as OpMiddleware;
}

/**
 * Acting (release, resend, cancel): signed in (Node-RED's adminAuth answers 401 otherwise), then
 * `roc.operations.write` (403 and an audit entry `denied` otherwise); the outcome of an allowed
 * action is audited when its answer is sent. `target` picks identifiers from the request
 * (venue number, answer id, node id: never patient data). Without adminAuth (Node-RED's node
 * test helper) there is no user and the action passes, audited as `anonymous`.
 */
export function operationsAct(auth: NeedsPermission, event: string, target: (req: OpReq) => Record<string, unknown>): OpMiddleware[] {
  const auditOutcome: OpMiddleware = (req, res, next) => {
    res.on?.('finish', () => {
      const s = res.statusCode;
      auditAction(req, event, target(req), s < 400 ? 'ok' : s === 401 || s === 403 ? 'denied' : 'failed', s);
    });
    next();
  };
  const signedIn = auth.needsPermission(OPERATIONS_READ) as OpMiddleware;
  const mayAct: OpMiddleware = (req, res, next) => {
    if (req.user && !hasPermission(req.authInfo?.scope ?? req.user.permissions, OPERATIONS_WRITE)) {
      return refuse(res, 403, `action réservée aux rôles operator et admin (${event})`);
    }
    next();
  };
  return [auditOutcome, signedIn, mayAct];
}

// ---------------------------------------------------------------------------------------------
// Where to listen

export class BindingError extends Error {}

/**
 * Refuses to listen beyond loopback when no user was configured on purpose (a users file that
 * existed before this start, ROC_USERS, or ROC_ADMIN_PASSWORD): an editor reachable from the
 * network must never rely on a password that was only printed on a console.
 */
export function checkBinding(host: string, usersConfigured: boolean): void {
  if (isLoopbackHost(host)) return;
  if (!usersConfigured) {
    throw new BindingError(
      `refusing to listen on ${host} (beyond this machine) without users: start once on 127.0.0.1 to create the admin, ` +
        'or set ROC_ADMIN_PASSWORD, ROC_USERS or ROC_USERS_FILE (see docs/security.md)',
    );
  }
}
