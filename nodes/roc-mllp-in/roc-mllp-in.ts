/**
 * roc-mllp-in: the HL7 v2 (PAM-FR) MLLP listener of ROC Bridge (see lib/gap/mllp-listener.ts for the protocol
 * side). One output: one msg per committed message, in per-venue order. One input: the outcome
 * of the processing comes back (msg.hl7.journalId) → the message is DONE, or FAILED and its venue
 * held. Admin endpoints: GET /roc/journal/held, POST /roc/journal/release/:key.
 */
import path from 'node:path';
import type { NodeAPI, Node, NodeDef, NodeMessage } from '../common/red';
import { MLLP_IN_MIGRATIONS, migrate } from '../common/migrate';
import { journalOptionsOf, leaseJournal } from '../common/journal';
import type { Lease, SqliteJournal } from '../../lib/store';
import { LISTENER_DEFAULTS as LIMITS, MllpListener, type Dispatched, type ListenerOptions } from '../../lib/gap/mllp-listener';
import type { Hl7Charset } from '../../lib/hl7/profile';
import { operationsAct, operationsRead } from '../../lib/security/access';
import { registerOps, unmaskAsked } from '../common/ops';
import { maskOrderingKey } from '../../lib/dossier/view';
import { emitNodeEvent } from '../../lib/events/emitters';
import { auditAction } from '../../lib/security/audit';

const CHARSETS: Record<string, Hl7Charset> = {
  'iso-8859-15': 'iso-8859-15',
  utf8: 'utf8',
  'utf-8': 'utf8',
  latin1: 'latin1',
  'iso-8859-1': 'latin1',
};
const STATUS_EVERY_MS = 1000;

interface MllpInNode extends Node {
  listener?: MllpListener;
}

/** Active listeners, for the admin endpoints. */
const active = new Map<string, MllpInNode>();
/** TLS settings of a tls-config node (its addTLSOptions), for a server. */
type TlsConfigNode = { addTLSOptions?: (o: Record<string, unknown>) => Record<string, unknown> };

function tlsOf(RED: NodeAPI, def: NodeDef, passphrase: string | undefined): ListenerOptions['tls'] {
  if (def.usetls !== true && def.usetls !== 'true') return undefined;
  const cfg = def.tls ? (RED.nodes.getNode(String(def.tls)) as TlsConfigNode | null) : null;
  if (cfg?.addTLSOptions) {
    // Core tls-config, server side: its certificate and key; "verify server certificate" means
    // here: ask for a client certificate and refuse those its CA does not vouch for.
    const o = cfg.addTLSOptions({});
    const verify = o.rejectUnauthorized === true;
    return {
      cert: o.cert as string | Buffer | undefined,
      key: o.key as string | Buffer | undefined,
      ca: o.ca as string | Buffer | undefined,
      passphrase: o.passphrase as string | undefined,
      requestCert: verify,
    };
  }
  // 0.1 path fields, still honoured when no tls-config node is set.
  return {
    certFile: String(def.certFile || ''),
    keyFile: String(def.keyFile || ''),
    caFile: def.caFile ? String(def.caFile) : undefined,
    requestCert: def.requestCert === true || def.requestCert === 'true',
    passphrase,
  };
}

function num(v: unknown, dflt: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : dflt;
}

/** Sanitised failure reason: a short text, never the message content. */
function failureReason(msg: NodeMessage): string {
  const hl7 = (msg.hl7 ?? {}) as Record<string, unknown>;
  const roc = (msg.roc ?? {}) as Record<string, unknown>;
  const r = hl7.reason ?? roc.failed;
  if (typeof r === 'string' && r) return r.slice(0, 300);
  const err = msg.error as { message?: string; source?: { type?: string; id?: string } } | undefined;
  if (err?.source) return `erreur de traitement dans ${err.source.type ?? 'un nœud'} ${err.source.id ?? ''}`.trim();
  return 'échec du traitement';
}

const SERVICES = ['annuaire', 'idb', 'sim', 'clc', 'del'] as const;

/** The online services the message went through (msg.roc.<service> results): outcome and code only. */
function exchangesOf(msg: NodeMessage): Array<{ service: string; outcome: string; engagement?: string; detail?: string }> {
  const roc = (msg.roc ?? {}) as Record<string, unknown>;
  const out: Array<{ service: string; outcome: string; engagement?: string; detail?: string }> = [];
  for (const s of SERVICES) {
    const r = roc[s] as
      { status?: string; technical?: boolean; messages?: Array<{ code?: string }>; engagement?: { numero?: string } } | undefined;
    if (!r || typeof r !== 'object' || typeof r.status !== 'string') continue;
    const x: { service: string; outcome: string; engagement?: string; detail?: string } = {
      service: s.toUpperCase(),
      outcome: r.technical ? 'TECHNIQUE' : r.status,
    };
    const code = r.messages?.[0]?.code;
    if (typeof code === 'string') x.detail = code.slice(0, 20);
    if (typeof r.engagement?.numero === 'string') x.engagement = r.engagement.numero;
    out.push(x);
  }
  return out;
}

export = function register(RED: NodeAPI): void {
  function RocMllpInNode(this: MllpInNode, saved: NodeDef) {
    RED.nodes.createNode(this, saved);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    const def = migrate(saved, MLLP_IN_MIGRATIONS) as NodeDef;
    const charset = CHARSETS[String(def.charset || 'iso-8859-15').toLowerCase()] ?? 'iso-8859-15';
    const port = num(def.port, 2575);
    let listener: MllpListener | undefined;
    let statusTimer: NodeJS.Timeout | undefined;
    let held = 0;
    let lastReceived = 0;
    let lastAt = Date.now();

    let reportedHeld = -1;
    const reportHeld = () => {
      if (held === reportedHeld) return;
      reportedHeld = held;
      emitNodeEvent('roc-mllp-in', node.id, 'queue', { queue: 'held', queueDepth: held });
    };
    const refreshHeld = () => {
      listener?.heldKeys().then(
        (h) => {
          held = h.length;
          reportHeld();
        },
        () => undefined,
      );
    };
    let reportedInFlight = -1;
    const showStatus = () => {
      if (!listener) return;
      if (listener.processing !== reportedInFlight) {
        reportedInFlight = listener.processing;
        emitNodeEvent('roc-mllp-in', node.id, 'queue', { queue: 'inflight', queueDepth: reportedInFlight });
      }
      const now = Date.now();
      const rate = Math.round(((listener.stats.received - lastReceived) * 1000) / Math.max(1, now - lastAt));
      lastReceived = listener.stats.received;
      lastAt = now;
      const text =
        RED._('roc-mllp-in.status.listening', { port: listener.port, connections: listener.connections, rate }) +
        (held ? ` · ${RED._('roc-mllp-in.status.held', { held })}` : '');
      node.status({ fill: held ? 'yellow' : 'green', shape: listener.connections ? 'dot' : 'ring', text });
    };

    let lease: Lease<SqliteJournal> | undefined;
    let leaseError: Error | undefined;
    try {
      lease = leaseJournal(
        RED,
        def,
        journalOptionsOf(def, (e) => node.warn(RED._('roc-mllp-in.log.listener', { text: e.message }))),
      );
    } catch (e) {
      leaseError = e as Error;
    }
    // One listener per journal: two dispatchers on one journal would both take the same work.
    const owner = lease?.claim('inbound', node.id);
    if (owner) {
      const file = lease?.file ?? '';
      void lease?.release();
      lease = undefined;
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-in.status.journalInUse') });
      node.error(RED._('roc-mllp-in.log.journalInUse', { file: path.basename(file), owner }));
    } else if (!lease) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-in.status.journalUnusable') });
      node.error(RED._('roc-mllp-in.log.journalUnusable', { reason: leaseError?.message ?? '' }));
    } else {
      const options: ListenerOptions = {
        host: String(def.host || '127.0.0.1'),
        port,
        defaultCharset: charset,
        journal: lease.journal,
        maxFrameSize: Math.max(1024, num(def.maxFrameSize, 1024 * 1024)),
        maxConnections: Math.max(1, num(def.maxConnections, LIMITS.maxConnections)),
        maxConnectionsPerAddress: num(def.maxConnectionsPerAddress, LIMITS.maxConnectionsPerAddress),
        idleTimeoutMs: num(def.idleTimeout, LIMITS.idleTimeoutMs / 1000) * 1000,
        frameTimeoutMs: num(def.frameTimeout, LIMITS.frameTimeoutMs / 1000) * 1000,
        ackBacklogBytes: Math.max(1024, num(def.ackBacklog, LIMITS.ackBacklogBytes)),
        maxAckBacklogBytes: Math.max(1024, num(def.maxAckBacklog, LIMITS.maxAckBacklogBytes)),
        maxInFlight: Math.max(1, num(def.maxInFlight, 100)),
        processingTimeoutMs: Math.max(0, num(def.processingTimeout, 300)) * 1000,
        application: 'ROC-BRIDGE',
        tls: tlsOf(RED, def, node.credentials?.passphrase),
        onAck: (code) => emitNodeEvent('roc-mllp-in', node.id, 'acknowledged', { code }),
      };
      // The text and msg.hl7 only: roc-hl7-admission is the one PAM-FR mapper (with the site's
      // coverage mapping). The listener's own reading only decides the ACK and the venue order.
      const onMessage = (m: Dispatched) => {
        const msg: NodeMessage = {
          payload: m.text,
          hl7: {
            controlId: m.record.controlId ?? m.intake.context.controlId,
            event: m.record.event,
            sender: [m.record.sendingApplication, m.record.sendingFacility].filter(Boolean).join('/'),
            charset: m.intake.charset,
            orderingKey: m.record.orderingKey,
            journalId: m.journalId,
            meaning: m.intake.meaning,
            attempts: m.record.attempts,
            receivedAt: m.record.receivedAt,
          },
        };
        emitNodeEvent('roc-mllp-in', node.id, 'received', { code: m.record.event?.replace(/\^/g, '_'), attempts: m.record.attempts });
        node.send(msg);
      };
      try {
        listener = new MllpListener(options, onMessage, (t) => node.warn(RED._('roc-mllp-in.log.listener', { text: t })));
        node.listener = listener;
        node.status({ fill: 'grey', shape: 'ring', text: RED._('roc-mllp-in.status.starting') });
        const starting = listener;
        starting.start().then(
          (loaded) => {
            // closed (redeployed) while it started: no status timer, not listed as active
            if (listener !== starting) return;
            active.set(node.id, node);
            held = loaded.held;
            reportHeld();
            if (loaded.resumed) node.log(RED._('roc-mllp-in.log.resumed', { resumed: loaded.resumed }));
            showStatus();
            statusTimer = setInterval(showStatus, STATUS_EVERY_MS);
          },
          (e: NodeJS.ErrnoException) => {
            if (listener !== starting) return;
            node.status({
              fill: 'red',
              shape: 'ring',
              text: RED._('roc-mllp-in.status.listenFailed', { code: e.code ?? RED._('roc-mllp-in.status.error') }),
            });
            node.error(RED._('roc-mllp-in.log.listenFailed', { port, reason: e.code ?? e.message }));
          },
        );
      } catch (e) {
        void lease.release();
        lease = undefined;
        node.status({ fill: 'red', shape: 'ring', text: RED._('roc-mllp-in.status.journalUnusable') });
        node.error(RED._('roc-mllp-in.log.journalUnusable', { reason: (e as Error).message }));
      }
    }

    node.on('input', (msg, _send, done) => {
      const hl7 = (msg.hl7 ?? {}) as Record<string, unknown>;
      const id = Number(hl7.journalId);
      if (!listener || !Number.isInteger(id) || !listener.owns(id)) {
        done(
          new Error(RED._('roc-mllp-in.errors.unknownJournalId', { id: Number.isInteger(id) ? id : RED._('roc-mllp-in.errors.absent') })),
        );
        return;
      }
      const roc = (msg.roc ?? {}) as Record<string, unknown>;
      const failed = hl7.status === 'FAILED' || (roc.failed !== undefined && roc.failed !== false && roc.failed !== null);
      if (failed) {
        emitNodeEvent('roc-mllp-in', node.id, 'failed', { code: 'HELD' });
        listener.fail(id, failureReason(msg)).then(
          () => {
            refreshHeld();
            done();
          },
          (e: Error) => done(e),
        );
      } else {
        listener.complete(id, hl7.status === 'IGNORED' ? 'IGNORED' : 'DONE', exchangesOf(msg)).then(
          () => done(),
          (e: Error) => done(e),
        );
      }
    });

    node.on('close', (_removed, done) => {
      active.delete(node.id);
      if (statusTimer) clearInterval(statusTimer);
      statusTimer = undefined;
      const l = listener;
      listener = undefined;
      node.listener = undefined;
      const mine = lease;
      lease = undefined;
      // The listener first (sockets, in-flight work), then this node's reference to the journal.
      (l ? l.close() : Promise.resolve())
        .catch(() => undefined)
        .then(() => mine?.release())
        .then(
          () => done(),
          () => done(),
        );
    });

    // exposed for the admin endpoints
    (node as unknown as { refreshHeld: () => void }).refreshHeld = refreshHeld;
  }

  // the operations dashboard and message browser (/roc/ops/…): once per runtime
  registerOps(RED);

  RED.nodes.registerType('roc-mllp-in', RocMllpInNode as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { passphrase: { type: 'password' } },
  });

  type Res = { status(n: number): Res; json(b: unknown): void };
  type Req = { params: Record<string, string>; query: Record<string, string | undefined> };

  // An IPP ordering key (PID-3:<IPP>) is masked unless an admin asks ?unmask=1 (audited).
  RED.httpAdmin.get('/roc/journal/held', operationsRead(RED.auth), (req: Req, res: Res) => {
    const unmask = unmaskAsked(req, res, { list: 'held' });
    if (unmask === undefined) return;
    const lists = [...active.values()].map((n) =>
      n.listener
        ? n.listener.heldKeys().then((keys) =>
            keys.map((k) => ({
              node: n.id,
              listener: n.name || `:${n.listener?.port}`,
              ...k,
              orderingKey: unmask ? k.orderingKey : maskOrderingKey(k.orderingKey),
            })),
          )
        : Promise.resolve([]),
    );
    Promise.all(lists).then(
      (all) => {
        if (unmask) auditAction(req as never, 'unmask', { list: 'held' }, 'ok', 200);
        res.json({ held: all.flat() });
      },
      () => res.status(500).json({ error: 'journal illisible' }),
    );
  });

  const releaseGuard = operationsAct(RED.auth, 'release', (req) => ({
    venue: req.params?.key,
    node: req.query?.node,
    mode: req.query?.mode === 'skip' ? 'skip' : 'retry',
  }));
  RED.httpAdmin.post('/roc/journal/release/:key', ...releaseGuard, (req: Req, res: Res) => {
    const key = req.params.key;
    const mode = req.query.mode === 'skip' ? 'skip' : 'retry';
    const wanted = req.query.node;
    (async () => {
      for (const n of active.values()) {
        if (wanted && n.id !== wanted) continue;
        const l = n.listener;
        if (!l) continue;
        const keys = await l.heldKeys();
        // the full key (PV1-19:250100421) or the bare venue/dossier number
        const found = keys.find((k) => k.orderingKey === key) ?? keys.find((k) => k.orderingKey.endsWith(':' + key));
        if (!found) continue;
        const ids = await l.release(found.orderingKey, mode);
        (n as unknown as { refreshHeld: () => void }).refreshHeld();
        return { status: 200, body: { released: found.orderingKey, node: n.id, mode, runnable: ids.length } };
      }
      return { status: 404, body: { error: `aucune venue en attente sous la clé ${key.slice(0, 60)}` } };
    })().then(
      (r) => res.status(r.status).json(r.body),
      () => res.status(500).json({ error: 'libération impossible (journal)' }),
    );
  });
};
