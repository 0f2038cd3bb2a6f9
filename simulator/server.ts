/**
 * The AMC miroir: an in-process AMC directory (annuaire) and SEL online services (IDB, SIM, CLC,
 * DEL) over HTTPS with mutual TLS, driven by the seed (simulator/seed/amc-seed.json) and the SEL
 * profile (lib/sel/profile.ts), for tests, benchmarks, demos and the dev runtime.
 *
 * Endpoints (base = `url`):
 * - `POST /annuaire` (also `/sel/annuaire`): RechercheAnnuaire;
 * - `POST /sel/<pointAcces>/{idb,sim,clc,del}`: the services of one access point (an operator
 *   answers for all its AMCs, an AMC with its own access point for itself);
 * - `POST /sel/{idb,sim,clc,del}`: a generic access point serving every ROC AMC;
 * - `GET /sel?wsdl`, `GET /sel/<pointAcces>?wsdl`: WSDL (XSD inlined); `GET /sel/roc.xsd`: XSD;
 * - `GET /health`: `{"status":"ok"}`;
 * - `GET /cards/<beneficiaryId>.png` (`?rotate=90&page=1`), `.txt`: a seeded beneficiary's
 *   attestation DataMatrix as a PNG test card, or the scan string it holds (simulator/cards.ts).
 * Patient data never reaches the log function: it gets the path, the operation, the status and
 * the answer code only.
 *
 * This file creates the server, routes requests and handles the lifecycle; the handlers live in
 * simulator/handlers/ (soap.ts: decoding and duplicates, annuaire.ts, sel.ts: IDB/SIM/CLC/DEL,
 * wsdl.ts, cards.ts) and share one SimContext (handlers/context.ts).
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { OperationName } from '../lib/sel/codec';
import { buildFault, DEFAULT_MAX_BYTES } from '../lib/sel/soap';
import { generateXsd } from '../lib/sel/wsdl';
import { EngagementBook, type Engagement } from './engagements';
import { handleCard } from './handlers/cards';
import { newStats, sendNow, type SimContext, type SimulatorStats } from './handlers/context';
import { handleSoap, type Route } from './handlers/soap';
import { handleWsdl } from './handlers/wsdl';
import { DEFAULT_HUGE_BYTES, respondHostile, SOAP_CONTENT_TYPE } from './hostile';
import { checkLatency, latencySampler, type LatencyMode } from './latency';
import { loadSeed, type SeedIndex } from './seed';

export type { LatencyMode } from './latency';
export type { Engagement } from './engagements';
export type { SimulatorStats } from './handlers/context';

export interface SimulatorTlsOptions {
  key: string;
  cert: string;
  /** CA that signs the client certificates (required for mutual TLS). */
  ca?: string;
  /** Ask for and verify a client certificate (default: true when `ca` is given). */
  requestCert?: boolean;
}

export interface SimulatorOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** HTTPS settings; `false` or absent: plain HTTP. */
  tls?: SimulatorTlsOptions | false;
  /** Default instant. */
  latency?: LatencyMode;
  /** Seed file path or object (default: simulator/seed/amc-seed.json). */
  seed?: string | object;
  /** How long a "SUSPENDU" beneficiary's service hangs before answering (default 30 000 ms). */
  hangMs?: number;
  /** Extra delay of a "LENT" beneficiary's answers (default 2 000 ms). */
  slowMs?: number;
  /** Size of the `huge` hostile answer (default 50 MiB). */
  hugeBytes?: number;
  /** Largest request body accepted (default 1 MiB). */
  maxRequestBytes?: number;
  /** How many recent answers are kept for duplicate detection (default 20 000). */
  duplicateWindow?: number;
  /** How many engagements are kept before the oldest are forgotten (default 200 000). */
  maxEngagements?: number;
  /** One line per request (no patient data). */
  log?: (line: string) => void;
  /**
   * Called when a SOAP answer is sent, with the request id and how long the simulator held the
   * request (its latency mode included): benchmarks subtract it to get what a client adds.
   */
  onAnswer?: (a: { requestId?: string; op?: OperationName; ms: number }) => void;
}

export interface RunningSimulator {
  /** Base URL, e.g. https://127.0.0.1:PORT */
  url: string;
  annuaireUrl: string;
  wsdlUrl: string;
  xsdUrl: string;
  port: number;
  stats(): SimulatorStats;
  engagements(): readonly Engagement[];
  /** The engagements the online side issued, live: what the billing side validates DRE-ES files against. */
  engagementBook: EngagementBook;
  /** Mark an active engagement as invoiced (DEL is then refused with 6022). False if not active. */
  markInvoiced(numero: string): boolean;
  setLatency(l: LatencyMode): void;
  /** Stop listening, destroy open sockets, clear pending timers. */
  close(): Promise<void>;
}

const SERVICES = new Set(['idb', 'sim', 'clc', 'del']);

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const index: SeedIndex = loadSeed(opts.seed);
  const host = opts.host ?? '127.0.0.1';
  const hangMs = opts.hangMs ?? 30_000;
  const slowMs = opts.slowMs ?? 2_000;
  const hugeBytes = opts.hugeBytes ?? DEFAULT_HUGE_BYTES;
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_BYTES;
  const log = opts.log;
  let sample = latencySampler(checkLatency(opts.latency ?? { mode: 'instant' }));

  const tag = randomBytes(4)
    .toString('hex')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 2)
    .padEnd(2, 'X');
  const ctx: SimContext = {
    index,
    book: new EngagementBook(tag, undefined, opts.maxEngagements),
    stats: newStats(),
    base: '',
    tag,
    responseSeq: 0,
    maxRequestBytes,
    duplicateWindow: opts.duplicateWindow ?? 20_000,
    replay: new Map(),
    msgCache: new Map(),
    wsdlCache: new Map(),
    xsd: generateXsd(),
    log,
  };
  const { stats, book } = ctx;
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();

  // ---- HTTP ------------------------------------------------------------------------------------
  function later(res: ServerResponse, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
    res.once('close', () => {
      clearTimeout(t);
      timers.delete(t);
    });
  }

  function notFound(res: ServerResponse, req: IncomingMessage, path: string): void {
    stats.notFound++;
    req.resume();
    sendNow(res, 404, 'text/plain; charset=utf-8', `Not found: ${req.method} ${path}\n`);
    log?.(`${req.method} ${path} 404`);
  }

  function resolvePost(parts: string[]): Route | 'unknown' {
    if ((parts.length === 1 && parts[0] === 'annuaire') || (parts.length === 2 && parts[0] === 'sel' && parts[1] === 'annuaire')) {
      return { kind: 'annuaire' };
    }
    if (parts[0] !== 'sel') return 'unknown';
    if (parts.length === 2 && SERVICES.has(parts[1])) return { kind: 'sel', ap: undefined, svc: parts[1] as OperationName };
    if (parts.length === 3 && SERVICES.has(parts[2])) {
      const ap = index.accessPoints.get(parts[1]);
      if (!ap) return 'unknown';
      return { kind: 'sel', ap, svc: parts[2] as OperationName };
    }
    return 'unknown';
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    stats.total++;
    const started = Date.now();
    const startedAt = performance.now();
    const raw = req.url ?? '/';
    const qi = raw.indexOf('?');
    const path = qi < 0 ? raw : raw.slice(0, qi);
    const query = qi < 0 ? '' : raw.slice(qi + 1);
    const parts = path.split('/').filter(Boolean);

    if (req.method === 'GET' || req.method === 'HEAD') {
      req.resume();
      if (handleWsdl(ctx, res, path, parts, query)) return;
      if (path === '/health') {
        sendNow(res, 200, 'application/json', '{"status":"ok"}');
        return;
      }
      if (parts.length === 2 && parts[0] === 'cards') {
        // Test cards of the seeded beneficiaries (simulator/cards.ts): <id>.png or <id>.txt
        return handleCard(ctx, req, res, path, parts[1], query);
      }
      if (resolvePost(parts) !== 'unknown') {
        res.setHeader('Allow', 'POST');
        sendNow(res, 405, 'text/plain; charset=utf-8', `Method not allowed: use POST on ${path}\n`);
        return;
      }
      return notFound(res, req, path);
    }
    if (req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'GET, POST');
      sendNow(res, 405, 'text/plain; charset=utf-8', `Method not allowed: ${req.method}\n`);
      return;
    }

    const route = resolvePost(parts);
    if (route === 'unknown') return notFound(res, req, path);

    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      if (tooLarge) return;
      size += c.length;
      if (size > maxRequestBytes) {
        tooLarge = true;
        chunks.length = 0;
        stats.faults++;
        res.setHeader('Connection', 'close');
        sendNow(res, 400, SOAP_CONTENT_TYPE, buildFault('Sender', `Requête refusée : plus de ${maxRequestBytes} octets`));
        log?.(`POST ${path} 400 fault:Sender too-large`);
      } else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) return;
      if (route.kind === 'sel' && route.ap?.hostile) {
        stats.hostile++;
        respondHostile(route.ap.hostile, route.svc, res, { hugeBytes });
        log?.(`POST ${path} hostile:${route.ap.hostile}`);
        return;
      }
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const a = handleSoap(ctx, route, body);
      const wait = a.status === 200 ? sample() + (a.delay === 'hang' ? hangMs : a.delay === 'slow' ? slowMs : 0) : sample();
      const finish = () => {
        sendNow(res, a.status, SOAP_CONTENT_TYPE, a.body);
        opts.onAnswer?.({ requestId: a.requestId, op: a.op, ms: performance.now() - startedAt });
        log?.(`POST ${path} ${a.status} ${a.op ?? '-'} ${a.statut ?? ''} ${a.code ?? ''} ${Date.now() - started}ms`.replace(/ +/g, ' '));
      };
      if (wait <= 0) finish();
      else later(res, wait, finish);
    });
  }

  const tlsOpts = opts.tls || undefined;
  const server: http.Server = tlsOpts
    ? https.createServer(
        {
          key: tlsOpts.key,
          cert: tlsOpts.cert,
          ca: tlsOpts.ca,
          requestCert: tlsOpts.requestCert ?? !!tlsOpts.ca,
          rejectUnauthorized: tlsOpts.requestCert ?? !!tlsOpts.ca,
        },
        onRequest,
      )
    : http.createServer(onRequest);
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => {
    if (!socket.destroyed) socket.destroy();
  });
  server.on('tlsClientError', () => {
    // A client without a valid certificate: the handshake is refused; nothing else to do.
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = (ctx.base = `${tlsOpts ? 'https' : 'http'}://${urlHost}:${port}`);

  let closing: Promise<void> | undefined;
  return {
    url: base,
    annuaireUrl: `${base}/annuaire`,
    wsdlUrl: `${base}/sel?wsdl`,
    xsdUrl: `${base}/sel/roc.xsd`,
    port,
    stats: () => ({ ...stats }),
    engagements: () => book.list(),
    engagementBook: book,
    markInvoiced: (numero: string) => book.markInvoiced(numero),
    setLatency(l: LatencyMode) {
      sample = latencySampler(checkLatency(l));
    },
    close() {
      closing ||= new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}
