/**
 * SOAP 1.2 over HTTP(S) for the ROC online services: the hot path of the bridge.
 *
 * - One keep-alive agent pair per client (`SoapTransport`), TLS material turned into ONE
 *   `SecureContext` at construction (PKCS#12 parsing and key loading never happen per call or per
 *   connection); parsed URLs cached.
 * - A connect timeout (TCP connected and, for https, TLS established) and a read timeout (the full
 *   answer received after the request was sent); a response size limit that aborts the socket as
 *   soon as it is crossed (announced Content-Length or counted bytes): nothing big is buffered.
 * - Failures are `TransportError`s with a `kind` the client maps to catalogue codes.
 * - HTTP status >= 400 with a non-SOAP body is an `http` error (status + short sanitized excerpt);
 *   with an XML body it is returned as is, so a SOAP Fault sent with HTTP 500 reaches the codec
 *   and surfaces as a SOAP Fault.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';

export type TransportErrorKind =
  'timeout-connect' | 'timeout-read' | 'tls' | 'refused' | 'reset' | 'unreachable' | 'http' | 'too-large' | 'bad-url';

export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    /** HTTP status (kind `http`). */
    readonly status?: number,
    /** Short sanitized excerpt of the body (kind `http`). */
    readonly excerpt?: string,
    /** Underlying system / OpenSSL error code, when any. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface TlsMaterial {
  /** PKCS#12 bundle (client certificate + key), e.g. the establishment's IGC-Santé certificate. */
  pfx?: Buffer | string;
  passphrase?: string;
  cert?: Buffer | string;
  key?: Buffer | string;
  /** Trusted CA(s) for the AMC servers (defaults to Node's bundled roots). */
  ca?: Buffer | string | Array<Buffer | string>;
  /** Verify the server certificate (default true; only ever false in a lab). */
  rejectUnauthorized?: boolean;
}

export interface AgentOptions {
  /** Max sockets per host (default 256: 200 dossiers in flight at 0.4 s per AMC call need them). */
  maxSockets?: number;
  /** Max idle sockets kept per host (default 256). */
  maxFreeSockets?: number;
  /** Idle keep-alive sockets are closed after this (default 4,000 ms, below Node servers' 5 s). */
  freeSocketTimeoutMs?: number;
}

export interface PostOptions {
  /** SOAP action URI, sent in the Content-Type `action` parameter. */
  action: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  /** Response size limit in bytes (default 1 MiB). */
  maxBytes?: number;
  /** Agent to use (default: Node's global agents, i.e. no keep-alive TLS material). */
  agent?: http.Agent;
  /**
   * Replay the identical bytes once when a reused keep-alive socket turns out to have been closed
   * by the server before any byte of answer (the usual idle-socket race). Default true.
   */
  replayOnStaleSocket?: boolean;
}

export interface SoapHttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
  /** True when the request went out on a reused keep-alive socket. */
  reusedSocket: boolean;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const EXCERPT_CHARS = 160;

const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EADDRNOTAVAIL', 'ENETDOWN']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const TLS_CODES = new Set([
  'EPROTO',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
]);

/** Content-Type values per SOAP action, built once. */
const contentTypes = new Map<string, string>();
function contentTypeFor(action: string): string {
  let ct = contentTypes.get(action);
  if (ct === undefined) {
    ct = `application/soap+xml; charset=utf-8; action="${action.replace(/["\\\r\n]/g, '')}"`;
    if (contentTypes.size < 256) contentTypes.set(action, ct);
  }
  return ct;
}

/** Parsed request targets, cached per URL string (endpoints are few and stable). */
interface Target {
  https: boolean;
  hostname: string;
  port: number;
  path: string;
  label: string;
}
const targets = new Map<string, Target>();
function targetOf(url: string): Target {
  let t = targets.get(url);
  if (t) return t;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TransportError('bad-url', `adresse de service invalide « ${sanitize(url, 80)} »`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new TransportError('bad-url', `protocole non pris en charge « ${u.protocol} » (https ou http attendu)`);
  }
  const isHttps = u.protocol === 'https:';
  const hostname = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  t = {
    https: isHttps,
    hostname,
    port: u.port ? Number(u.port) : isHttps ? 443 : 80,
    path: (u.pathname || '/') + u.search,
    label: u.host,
  };
  if (targets.size >= 1024) targets.clear();
  targets.set(url, t);
  return t;
}

/** Strip tags and control characters, collapse blanks, cut: a body excerpt fit for a log line. */
export function sanitize(text: string, max = EXCERPT_CHARS): string {
  const s = text
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z#0-9]+;/gi, ' ')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

function looksLikeXml(contentType: string, body: Buffer): boolean {
  if (/xml/i.test(contentType)) return true;
  if (contentType && !/^text\/plain|^application\/octet-stream/i.test(contentType)) return false;
  // No or generic content type: sniff the first bytes.
  const head = body
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\ufeff/, '')
    .trimStart();
  return head.startsWith('<?xml') || /^<[A-Za-z_][\w.-]*:Envelope/.test(head);
}

/** Map a Node/OpenSSL error to a TransportError. `secured`: TLS (or TCP for http) was established. */
export function classify(err: unknown, target: Target, secured: boolean): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const msg = String(e?.message ?? err);
  if (code === 'ECONNREFUSED') return new TransportError('refused', `connexion refusée par ${target.label}`, undefined, undefined, code);
  if (UNREACHABLE.has(code))
    return new TransportError('unreachable', `hôte ${target.hostname} injoignable (${code})`, undefined, undefined, code);
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || TLS_CODES.has(code) || /certificate|ssl|tls|handshake/i.test(msg)) {
    return new TransportError('tls', `échec TLS avec ${target.label} : ${sanitize(e.reason ?? msg, 120)}`, undefined, undefined, code);
  }
  if (code === 'ETIMEDOUT')
    return new TransportError('timeout-connect', `connexion à ${target.label} expirée (${code})`, undefined, undefined, code);
  if (RESET.has(code) || /socket hang up|aborted/i.test(msg)) {
    if (target.https && !secured) {
      return new TransportError(
        'tls',
        `connexion fermée par ${target.label} pendant la négociation TLS (certificat refusé ?)`,
        undefined,
        undefined,
        code,
      );
    }
    return new TransportError('reset', `connexion interrompue par ${target.label}`, undefined, undefined, code || 'ECONNRESET');
  }
  return new TransportError('reset', `erreur réseau avec ${target.label} : ${sanitize(msg, 120)}`, undefined, undefined, code);
}

/**
 * POST a SOAP 1.2 message. Resolves with the HTTP answer (2xx, or >= 400 with an XML body so the
 * caller can read a SOAP Fault); rejects with a TransportError otherwise.
 */
export function postSoap(url: string, body: string | Buffer, opts: PostOptions): Promise<SoapHttpResponse> {
  let target: Target;
  try {
    target = targetOf(url);
  } catch (err) {
    return Promise.reject(err);
  }
  return send(target, body, opts, opts.agent);
}

// A string body is written as a string: Node then sends the headers and the body in one write
// (one TLS record, no intermediate Buffer); a Buffer body goes out as is.
function send(target: Target, payload: string | Buffer, opts: PostOptions, agent: http.Agent | undefined): Promise<SoapHttpResponse> {
  const first = once(target, payload, opts, agent);
  if (opts.replayOnStaleSocket === false) return first;
  return first.catch((err: unknown) => {
    if (err instanceof StaleSocketError) return once(target, payload, opts, agent);
    throw err;
  });
}

/** Sockets whose TCP connection (and TLS handshake, for https) is complete. */
const established = new WeakSet<object>();

/** A reused keep-alive socket closed by the server before any byte of answer (replayable). */
class StaleSocketError extends TransportError {}

function once(target: Target, payload: string | Buffer, opts: PostOptions, agent: http.Agent | undefined): Promise<SoapHttpResponse> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  return new Promise<SoapHttpResponse>((resolve, reject) => {
    let done = false;
    let secured = false;
    let gotResponse = false;
    let timer: NodeJS.Timeout | undefined;

    const finish = (err: TransportError | null, res?: SoapHttpResponse): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      if (err) {
        req.destroy();
        reject(err);
      } else resolve(res!);
    };

    const reqOpts: https.RequestOptions = {
      method: 'POST',
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      agent,
      headers: {
        'Content-Type': contentTypeFor(opts.action),
        'Content-Length': typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length,
        Accept: 'application/soap+xml, text/xml',
      },
    };
    const req = target.https ? https.request(reqOpts) : http.request(reqOpts);

    const onConnected = (): void => {
      if (done || secured) return;
      secured = true;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        finish(new TransportError('timeout-read', `délai de réponse de ${opts.readTimeoutMs} ms dépassé`));
      }, opts.readTimeoutMs);
    };

    // Connect timer from the request's creation: covers DNS, TCP, TLS (and a wait for a free socket).
    timer = setTimeout(() => {
      finish(
        new TransportError(
          'timeout-connect',
          `connexion ${target.https ? 'TLS ' : ''}non établie en ${opts.connectTimeoutMs} ms avec ${target.label}`,
        ),
      );
    }, opts.connectTimeoutMs);

    req.on('socket', (socket) => {
      // A queued request handed a freed keep-alive socket has reusedSocket === false: ask the
      // socket itself, never wait for an event that already happened.
      if (req.reusedSocket || established.has(socket)) return onConnected();
      if (target.https) {
        socket.once('secureConnect', () => {
          established.add(socket);
          onConnected();
        });
      } else if (socket.connecting) {
        socket.once('connect', () => {
          established.add(socket);
          onConnected();
        });
      } else {
        established.add(socket);
        onConnected();
      }
    });

    req.on('error', (err) => {
      if (done) return;
      const e = classify(err, target, secured);
      if (e.kind === 'reset' && !gotResponse) {
        if (req.reusedSocket) {
          finish(new StaleSocketError('reset', e.message, undefined, undefined, e.code));
          return;
        }
        if (target.https) {
          // A server that checks the client certificate in its application layer (e.g. Node's
          // rejectUnauthorized) drops the connection right after the handshake, without a TLS alert.
          // From the client both look the same as a server crash: say both.
          finish(
            new TransportError(
              'reset',
              `connexion fermée par ${target.label} sans réponse (incident du serveur, ou certificat client refusé)`,
              undefined,
              undefined,
              e.code,
            ),
          );
          return;
        }
      }
      finish(e);
    });

    req.on('response', (res) => {
      gotResponse = true;
      const status = res.statusCode ?? 0;
      const contentType = (res.headers['content-type'] as string | undefined) ?? '';
      const announced = Number(res.headers['content-length']);
      if (announced > maxBytes) {
        res.resume();
        finish(new TransportError('too-large', `réponse de ${announced} octets refusée (limite ${maxBytes} octets)`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > maxBytes) {
          finish(new TransportError('too-large', `réponse de plus de ${maxBytes} octets refusée`));
          return;
        }
        chunks.push(chunk);
      });
      // (Errors are built only when still pending: an Error captures a stack, not for every answer.)
      res.on('error', (err) => {
        if (!done) finish(classify(err, target, true));
      });
      res.on('close', () => {
        if (!done) finish(new TransportError('reset', `réponse interrompue par ${target.label}`));
      });
      res.on('end', () => {
        if (done) return;
        const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        if (!res.complete) {
          finish(new TransportError('reset', `réponse interrompue par ${target.label}`));
          return;
        }
        if ((status < 200 || status >= 300) && !(status >= 400 && looksLikeXml(contentType, buf))) {
          const excerpt = sanitize(buf.subarray(0, 4096).toString('utf8'));
          finish(new TransportError('http', `HTTP ${status}${excerpt ? ' : ' + excerpt : ''}`, status, excerpt));
          return;
        }
        finish(null, { status, contentType, body: buf, reusedSocket: req.reusedSocket });
      });
    });

    req.end(payload);
  });
}

/**
 * The agents of one client: keep-alive, TLS material loaded once into a SecureContext.
 * `close()` destroys every socket (pooled or in use).
 */
export class SoapTransport {
  readonly httpsAgent: https.Agent;
  readonly httpAgent: http.Agent;

  constructor(tlsMaterial: TlsMaterial = {}, agentOptions: AgentOptions = {}) {
    const common = {
      keepAlive: true,
      maxSockets: agentOptions.maxSockets ?? 256,
      maxFreeSockets: agentOptions.maxFreeSockets ?? 256,
      timeout: agentOptions.freeSocketTimeoutMs ?? 4000,
      scheduling: 'lifo' as const,
    };
    const hasMaterial = tlsMaterial.pfx || tlsMaterial.cert || tlsMaterial.key || tlsMaterial.ca;
    const secureContext = hasMaterial
      ? tls.createSecureContext({
          pfx: tlsMaterial.pfx,
          passphrase: tlsMaterial.passphrase,
          cert: tlsMaterial.cert,
          key: tlsMaterial.key,
          ca: tlsMaterial.ca,
        })
      : undefined;
    this.httpsAgent = new https.Agent({
      ...common,
      secureContext,
      rejectUnauthorized: tlsMaterial.rejectUnauthorized ?? true,
      maxCachedSessions: 256,
    });
    this.httpAgent = new http.Agent(common);
  }

  /** POST on this client's agents (`opts.agent` is ignored). */
  post(url: string, body: string | Buffer, opts: PostOptions): Promise<SoapHttpResponse> {
    let target: Target;
    try {
      target = targetOf(url);
    } catch (err) {
      return Promise.reject(err);
    }
    return send(target, body, opts, target.https ? this.httpsAgent : this.httpAgent);
  }

  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}
