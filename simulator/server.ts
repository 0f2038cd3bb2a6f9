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
 */
import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { codec, type OperationName } from '../lib/sel/codec';
import { messageFor } from '../lib/sel/catalogue';
import { buildFault, DEFAULT_MAX_BYTES, SoapError } from '../lib/sel/soap';
import { generateWsdl, generateXsd } from '../lib/sel/wsdl';
import { cardResponse } from './cards';
import { toEuros, type InvoiceResult } from './engine';
import { EngagementBook, type Engagement } from './engagements';
import { DEFAULT_HUGE_BYTES, respondHostile, SOAP_CONTENT_TYPE } from './hostile';
import { checkLatency, latencySampler, type LatencyMode } from './latency';
import { addDays, checkRights, computeAmounts, idbValidUntil } from './rights';
import { loadSeed, lookupAnnuaire, type AccessPoint, type SeedIndex } from './seed';

export type { LatencyMode } from './latency';
export type { Engagement } from './engagements';

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

export interface SimulatorStats {
  total: number;
  annuaire: number;
  idb: number;
  sim: number;
  clc: number;
  del: number;
  wsdl: number;
  xsd: number;
  hostile: number;
  faults: number;
  notFound: number;
  duplicates: number;
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
  /** Mark an active engagement as invoiced (DEL is then refused with 6022). False if not active. */
  markInvoiced(numero: string): boolean;
  setLatency(l: LatencyMode): void;
  /** Stop listening, destroy open sockets, clear pending timers. */
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;
type Delay = 'none' | 'slow' | 'hang';
type Route = { kind: 'annuaire' } | { kind: 'sel'; ap: AccessPoint | undefined; svc: OperationName };

interface Answer {
  status: number;
  body: string;
  delay: Delay;
  op?: OperationName;
  statut?: 'OK' | 'KO';
  code?: string;
  requestId?: string;
}

const SERVICES = new Set(['idb', 'sim', 'clc', 'del']);

function stripAction(m: ReturnType<typeof messageFor>) {
  return { code: m.code, groupe: m.groupe, severite: m.severite, libelle: m.libelle };
}

function money(r: InvoiceResult) {
  return {
    montants: {
      totalFacture: toEuros(r.totalFactureCents),
      totalAmo: toEuros(r.totalAmoCents),
      totalAmc: toEuros(r.totalAmcCents),
      resteACharge: toEuros(r.resteAChargeCents),
    },
    lignes: r.lignes.map((l) => ({ numero: l.numero, code: l.code, montantAmc: toEuros(l.amcCents), montantPatient: toEuros(l.patientCents) })),
  };
}

function localDate(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const index: SeedIndex = loadSeed(opts.seed);
  const host = opts.host ?? '127.0.0.1';
  const hangMs = opts.hangMs ?? 30_000;
  const slowMs = opts.slowMs ?? 2_000;
  const hugeBytes = opts.hugeBytes ?? DEFAULT_HUGE_BYTES;
  const maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_BYTES;
  const log = opts.log;
  let sample = latencySampler(checkLatency(opts.latency ?? { mode: 'instant' }));

  const tag = randomBytes(4).toString('hex').toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 2).padEnd(2, 'X');
  const book = new EngagementBook(tag, undefined, opts.maxEngagements);
  const duplicateWindow = opts.duplicateWindow ?? 20_000;
  let responseSeq = 0;
  const stats: SimulatorStats = { total: 0, annuaire: 0, idb: 0, sim: 0, clc: 0, del: 0, wsdl: 0, xsd: 0, hostile: 0, faults: 0, notFound: 0, duplicates: 0 };
  const replay = new Map<string, Answer>();
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let base = '';

  // ---- precomputed pieces -------------------------------------------------------------------
  const msgCache = new Map<string, Obj>();
  const msg = (code: string, libelle?: string): Obj => {
    if (libelle) return stripAction(messageFor(code, { libelle }));
    let m = msgCache.get(code);
    if (!m) msgCache.set(code, (m = stripAction(messageFor(code))));
    return m;
  };
  const xsd = generateXsd();
  const wsdlCache = new Map<string, string>();
  const wsdlFor = (b: string): string => {
    let w = wsdlCache.get(b);
    if (!w) wsdlCache.set(b, (w = generateWsdl(b)));
    return w;
  };

  const header = (p: Obj) => ({
    requestId: String((p.enTete as Obj | undefined)?.requestId ?? ''),
    responseId: `R${tag}${(++responseSeq).toString(36).toUpperCase().padStart(8, '0')}`,
    horodatage: new Date().toISOString(),
  });

  const ok = (op: OperationName, payload: Obj, delay: Delay = 'none'): Answer => ({
    status: 200,
    body: codec.encodeResponse(op, payload),
    delay,
    op,
    statut: 'OK',
    code: '0000',
  });
  const ko = (op: OperationName, p: Obj, code: string, libelle?: string, delay: Delay = 'none', extra: Obj = {}): Answer => ({
    status: 200,
    body: codec.encodeResponse(op, { enTete: header(p), statut: 'KO', messages: [msg(code, libelle)], ...extra }),
    delay,
    op,
    statut: 'KO',
    code,
  });
  const fault = (status: number, code: 'Sender' | 'Receiver', reason: string): Answer => ({
    status,
    body: buildFault(code, reason),
    delay: 'none',
    code: `fault:${code}`,
  });
  const delayOf = (incident: string | undefined): Delay => (incident === 'SUSPENDU' ? 'hang' : incident === 'LENT' ? 'slow' : 'none');

  // ---- services ------------------------------------------------------------------------------
  function annuaire(p: Obj): Answer {
    const t = ((p.enTete as Obj).amc ?? {}) as Obj;
    const r = lookupAnnuaire(index, String(t.numeroAmc ?? ''), t.typeConvention as string | undefined, t.csr as string | undefined);
    if (!r.found) return ko('annuaire', p, r.code);
    const amc = { numeroAmc: r.amc.numeroAmc, nom: r.amc.nom, operateur: r.enRoc ? r.operateur : undefined, enRoc: r.enRoc };
    if (!r.enRoc) return ok('annuaire', { enTete: header(p), statut: 'OK', messages: [msg('0000')], amc });
    return ok('annuaire', {
      enTete: header(p),
      statut: 'OK',
      messages: [msg('0000')],
      amc,
      services: ['idb', 'sim', 'clc', 'del'].map((s) => ({ service: s, url: `${base}/sel/${r.accessPoint.id}/${s}` })),
      dureeValidite: index.seed.parametres.dureeValiditeAnnuaireSecondes,
    });
  }

  function idb(ap: string | undefined, p: Obj): Answer {
    const d = checkRights(index, ap, p);
    if (!d.ok) return ko('idb', p, d.code, d.libelle, delayOf(d.incident));
    const entree = String((p.venue as Obj).dateEntree);
    return ok(
      'idb',
      {
        enTete: header(p),
        statut: 'OK',
        messages: [msg('0000')],
        couverture: d.contract.couverture,
        consignes: d.contract.consignes,
        dateValidite: idbValidUntil(index, entree, d.periode),
      },
      delayOf(d.incident),
    );
  }

  function sim(ap: string | undefined, p: Obj): Answer {
    const d = checkRights(index, ap, p);
    if (!d.ok) return ko('sim', p, d.code, d.libelle, delayOf(d.incident));
    const a = computeAmounts(d.contract, p.facture as Obj);
    if (!a.ok) return ko('sim', p, a.code, a.libelle, delayOf(d.incident));
    return ok('sim', { enTete: header(p), statut: 'OK', messages: [msg('0000')], ...money(a.result), consignes: d.contract.consignes }, delayOf(d.incident));
  }

  function clc(ap: string | undefined, p: Obj): Answer {
    const d = checkRights(index, ap, p);
    if (!d.ok) return ko('clc', p, d.code, d.libelle, delayOf(d.incident));
    const facture = p.facture as Obj;
    const a = computeAmounts(d.contract, facture);
    if (!a.ok) return ko('clc', p, a.code, a.libelle, delayOf(d.incident));
    const enTete = p.enTete as Obj;
    const finessGeographique = String(enTete.finessGeographique);
    const numeroFacture = String(facture.numero);
    const fingerprint = createHash('sha1').update(JSON.stringify([d.amc.numeroAmc, d.beneficiary.id, p.venue, facture.lignes])).digest('base64');
    const existing = book.forInvoice(finessGeographique, numeroFacture);
    if (existing) {
      if (existing.fingerprint !== fingerprint) return ko('clc', p, '6023', undefined, delayOf(d.incident));
      return ok('clc', { enTete: header(p), ...existing.answer }, delayOf(d.incident));
    }
    const now = new Date();
    const numero = book.nextNumero(d.amc.numeroAmc);
    const dateValidite = addDays(localDate(now), index.seed.parametres.validiteEngagementJours);
    const answer = {
      statut: 'OK',
      messages: [msg('0000')],
      ...money(a.result),
      consignes: d.contract.consignes,
      numeroEngagement: numero,
      dateValiditeEngagement: dateValidite,
    };
    book.record(
      {
        numero,
        numeroAmc: d.amc.numeroAmc,
        pointAcces: ap ?? '*',
        finessJuridique: String(enTete.finessJuridique),
        finessGeographique,
        numeroFacture,
        idRequete: String(enTete.requestId),
        montantAmc: toEuros(a.result.totalAmcCents),
        dateCalcul: now.toISOString(),
        dateValidite,
        etat: 'ACTIF',
      },
      fingerprint,
      answer,
    );
    return ok('clc', { enTete: header(p), ...answer }, delayOf(d.incident));
  }

  function del(ap: string | undefined, p: Obj): Answer {
    const numero = String(p.numeroEngagement ?? '');
    const served = ap === undefined ? () => true : (n: string) => index.amcs.get(n)?.accessPoints.has(ap) === true;
    const current = book.get(numero);
    if (current && p.numeroFacture !== undefined && p.numeroFacture !== current.numeroFacture) {
      return ko('del', p, '6020', "Engagement inconnu pour ce numéro de facture", 'none', { numeroEngagement: numero });
    }
    const r = book.cancel(numero, served, p.motif as string | undefined);
    if (!r.ok) return ko('del', p, r.code, undefined, 'none', { numeroEngagement: numero });
    return ok('del', { enTete: header(p), statut: 'OK', messages: [msg('0000')], numeroEngagement: numero });
  }

  function handleSoap(route: Route, body: Buffer): Answer {
    let decoded: { op: OperationName; payload: Obj };
    try {
      decoded = codec.decodeRequest(body, maxRequestBytes);
    } catch (err) {
      stats.faults++;
      if (err instanceof SoapError) return fault(400, 'Sender', `Requête refusée : ${err.message}`);
      return fault(500, 'Receiver', 'Erreur interne du simulateur');
    }
    const { op, payload } = decoded;
    const expected: OperationName = route.kind === 'annuaire' ? 'annuaire' : route.svc;
    if (op !== expected) {
      stats.faults++;
      return fault(400, 'Sender', `Requête refusée : une requête ${op.toUpperCase()} a été envoyée au service ${expected.toUpperCase()}`);
    }
    stats[op]++;
    const enTete = payload.enTete as Obj;
    const ap = route.kind === 'sel' ? route.ap?.id : undefined;
    const key = `${op}|${ap ?? '*'}|${String(enTete.finessJuridique)}|${String(enTete.requestId)}`;
    const seen = replay.get(key);
    if (seen) {
      seen.requestId = String(enTete.requestId);
      stats.duplicates++;
      return seen;
    }
    let answer: Answer;
    try {
      switch (op) {
        case 'annuaire':
          answer = annuaire(payload);
          break;
        case 'idb':
          answer = idb(ap, payload);
          break;
        case 'sim':
          answer = sim(ap, payload);
          break;
        case 'clc':
          answer = clc(ap, payload);
          break;
        default:
          answer = del(ap, payload);
      }
    } catch (err) {
      stats.faults++;
      if (err instanceof SoapError) return fault(500, 'Receiver', `Réponse impossible à construire : ${err.message}`);
      return fault(500, 'Receiver', 'Erreur interne du simulateur');
    }
    answer.requestId = String(enTete.requestId);
    if (duplicateWindow > 0) {
      if (replay.size >= duplicateWindow) replay.delete(replay.keys().next().value as string);
      replay.set(key, answer);
    }
    return answer;
  }

  // ---- HTTP ------------------------------------------------------------------------------------
  function sendNow(res: ServerResponse, status: number, type: string, body: string): void {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

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
      if (parts[0] === 'sel' && parts.length <= 2 && /^wsdl\b/i.test(query)) {
        const b = parts.length === 1 ? `${base}/sel` : index.accessPoints.has(parts[1]) ? `${base}/sel/${parts[1]}` : undefined;
        if (b) {
          stats.wsdl++;
          sendNow(res, 200, 'text/xml; charset=utf-8', wsdlFor(b));
          log?.(`GET ${path}?wsdl 200`);
          return;
        }
      }
      if (parts.length === 2 && parts[0] === 'sel' && parts[1] === 'roc.xsd') {
        stats.xsd++;
        sendNow(res, 200, 'text/xml; charset=utf-8', xsd);
        log?.(`GET ${path} 200`);
        return;
      }
      if (path === '/health') {
        sendNow(res, 200, 'application/json', '{"status":"ok"}');
        return;
      }
      if (parts.length === 2 && parts[0] === 'cards') {
        // Test cards of the seeded beneficiaries (simulator/cards.ts): <id>.png or <id>.txt
        void cardResponse(index.seed, parts[1], query).then((c) => {
          if (res.destroyed || res.writableEnded) return;
          res.writeHead(c.status, { 'Content-Type': c.type, 'Content-Length': Buffer.byteLength(c.body), 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : c.body);
          log?.(`GET ${path} ${c.status}`);
        });
        return;
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
      const a = handleSoap(route, body);
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
  base = `${tlsOpts ? 'https' : 'http'}://${urlHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: base,
    annuaireUrl: `${base}/annuaire`,
    wsdlUrl: `${base}/sel?wsdl`,
    xsdUrl: `${base}/sel/roc.xsd`,
    port,
    stats: () => ({ ...stats }),
    engagements: () => book.list(),
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
