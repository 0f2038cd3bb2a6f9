/**
 * roc-events: the configuration node of the operations event stream. Every event of the ROC
 * nodes (lib/events bus) is published at QoS 1 on `<prefix>/<finess>/<node type>/<event>`:
 * - mode `embedded` (default): to an MQTT broker (aedes) this node starts on 127.0.0.1:<port>
 *   (default 1884, beside a Mosquitto on 1883; 0 = any free port, shown in the status and log);
 * - mode `external`: to a broker of the site (host, port, TLS through a tls-config node, client
 *   id; user and password as credentials).
 * A broker away never blocks the flows: events wait in a bounded buffer (oldest dropped, counted).
 *
 * This module also serves the operations endpoints (RED.httpAdmin, like the other /roc/*
 * operations routes): GET /metrics (Prometheus; viewer and above, or the ROC_METRICS_TOKEN bearer
 * token), GET /health (liveness, no auth) and GET /health/ready (readiness, no auth, 200/503).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import type { NodeAPI, Node, NodeDef } from '../common/red';
import { events } from '../../lib/events/bus';
import { EventPublisher, checkPrefix, type MqttLike } from '../../lib/events/publisher';
import { EMBEDDED_DEFAULT_PORT, startEmbeddedBroker, type EmbeddedBroker } from '../../lib/events/broker';
import { connectExternal } from '../../lib/events/external';
import { OpsMetrics } from '../../lib/events/metrics';
import { directoryReachable, journalWritable, readiness, type DirectoryClientLike, type HealthCheck } from '../../lib/events/health';
import { journals } from '../../lib/store';
import { operationsRead, MIN_TOKEN_LENGTH } from '../../lib/security/access';

interface RocEventsNode extends Node {
  publisher?: EventPublisher;
  broker?: EmbeddedBroker;
  mode: 'embedded' | 'external';
  /** The embedded broker's port once it listens. */
  brokerPort?: number;
}

/** Live roc-events nodes (readiness, metrics). */
const active = new Map<string, RocEventsNode>();

type RedNodes = NodeAPI['nodes'] & { eachNode?(cb: (n: NodeDef) => void): void };

function num(v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined || v === null || v === '') return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= min && n <= max ? n : dflt;
}

/** The metrics of the process: one registry, subscribed once to the bus, whatever reloads the module. */
const METRICS_KEY = Symbol.for('roc-bridge.events.metrics');
function sharedMetrics(): OpsMetrics {
  const g = globalThis as unknown as Record<symbol, OpsMetrics | undefined>;
  return (g[METRICS_KEY] ??= new OpsMetrics());
}

function fileSize(f: string): number {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
}

export = function register(RED: NodeAPI): void {
  const nodes = RED.nodes as RedNodes;
  /** Every node of the flows of a type, with its live instance. */
  const liveOf = <T>(type: string): Array<{ def: NodeDef; live: T | undefined }> => {
    const out: Array<{ def: NodeDef; live: T | undefined }> = [];
    nodes.eachNode?.((n) => {
      if (n.type === type) out.push({ def: n, live: (RED.nodes.getNode(n.id) as T | null) ?? undefined });
    });
    return out;
  };

  function RocEvents(this: RocEventsNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this; // eslint-disable-line @typescript-eslint/no-this-alias -- used in callbacks
    node.mode = def.mode === 'external' ? 'external' : 'embedded';
    const prefix = String(def.prefix ?? '').trim() || 'roc';
    const badPrefix = checkPrefix(prefix);
    if (badPrefix) {
      node.error(RED._('roc-events.log.badPrefix', { prefix: prefix.slice(0, 40) }));
      return;
    }
    events.configure({ dossierIds: def.dossierIds === 'venue' ? 'venue' : 'opaque' });
    const bufferSize = num(def.bufferSize, 10_000, 1, 1_000_000);
    const finess = String(def.finess ?? '').trim() || undefined;
    let closed = false;

    if (node.mode === 'embedded') {
      const port = num(def.port, EMBEDDED_DEFAULT_PORT, 0, 65535);
      // The publisher exists at once (events buffer while the broker starts).
      const onConnect: Array<() => void> = [];
      const client: MqttLike = {
        get connected() {
          return !!node.broker?.client.connected;
        },
        publish: (topic, payload, opts, cb) => node.broker!.client.publish(topic, payload, opts, cb),
        on: (_e, fn) => onConnect.push(fn),
      };
      node.publisher = new EventPublisher(client, { prefix, finess, bufferSize });
      startEmbeddedBroker({ port, prefix }).then(
        (b) => {
          if (closed) return void b.close();
          node.broker = b;
          node.brokerPort = b.port;
          node.log(RED._('roc-events.log.embedded', { port: b.port, prefix }));
          for (const fn of onConnect) fn();
        },
        (e: NodeJS.ErrnoException) => {
          node.error(RED._('roc-events.log.embeddedFailed', { port, reason: e.code ?? e.message }));
        },
      );
    } else {
      const host = String(def.host ?? '').trim();
      if (!host) {
        node.error(RED._('roc-events.log.noHost'));
        return;
      }
      let tlsOptions: tls.ConnectionOptions | undefined;
      if (def.usetls === true || def.usetls === 'true') {
        const tlsNode = RED.nodes.getNode(String(def.tls ?? '')) as { addTLSOptions?: (o: object) => object } | null;
        tlsOptions = (tlsNode?.addTLSOptions?.({}) as tls.ConnectionOptions | undefined) ?? {};
      }
      const client = connectExternal({
        host,
        port: num(def.port, tlsOptions ? 8883 : 1883, 1, 65535),
        tls: tlsOptions,
        clientId: String(def.clientId ?? '').trim() || undefined,
        username: node.credentials?.user || undefined,
        password: node.credentials?.password || undefined,
      });
      node.publisher = new EventPublisher(client, { prefix, finess, bufferSize });
      let wasConnected = false;
      client.on('connect', () => {
        wasConnected = true;
        node.log(RED._('roc-events.log.connected', { host, prefix }));
      });
      client.on('offline', () => {
        if (wasConnected) node.warn(RED._('roc-events.log.offline', { host }));
        wasConnected = false;
      });
      (node as unknown as { external: typeof client }).external = client;
    }
    active.set(node.id, node);

    node.on('close', (_removed, done) => {
      closed = true;
      active.delete(node.id);
      node.publisher?.close();
      const external = (node as unknown as { external?: { end(force: boolean, o: object, cb: () => void): void } }).external;
      const b = node.broker;
      node.broker = undefined;
      const stop = b
        ? b.close()
        : external
          ? new Promise<void>((r) => {
              // never connected: mqtt.js may not call back; the socket is destroyed either way
              const t = setTimeout(r, 1000);
              external.end(true, {}, () => {
                clearTimeout(t);
                r();
              });
            })
          : Promise.resolve();
      stop.then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('roc-events', RocEvents as unknown as (this: Node, def: NodeDef) => void, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });

  // ---------------------------------------------------------------------------------------------
  // Operations endpoints

  const metrics = sharedMetrics();
  metrics.sources = {
    journals: () => journals.files().map((f) => ({ name: path.basename(f), bytes: fileSize(f) + fileSize(f + '-wal') })),
    certificates: () =>
      liveOf<{ certificate?: { daysLeft: number } }>('roc-establishment')
        .filter((e) => e.live?.certificate)
        .map((e) => ({ finess: String(e.def.finessGeographique ?? e.def.id), daysLeft: e.live!.certificate!.daysLeft })),
    circuits: () =>
      liveOf<{ client?: { breaker: { snapshot(): Array<{ key: string; state: 'closed' | 'open' | 'half-open' }> } } }>(
        'roc-establishment',
      ).flatMap((e) =>
        (e.live?.client?.breaker.snapshot() ?? [])
          .filter((b) => b.state !== 'closed' && /^(\d{1,10}|annuaire)$/.test(b.key))
          .map((b) => ({ finess: String(e.def.finessGeographique ?? e.def.id), key: b.key, state: b.state as 'open' | 'half-open' })),
      ),
    publishers: () =>
      [...active.values()].filter((n) => n.publisher).map((n) => ({ id: n.id, connected: n.publisher!.connected, ...n.publisher!.stats })),
  };

  type Res = {
    status(n: number): Res;
    set(h: Record<string, string>): Res;
    json(b: unknown): void;
    send(b: string): void;
  };
  type Req = { headers: Record<string, string | string[] | undefined> };

  RED.httpAdmin.get('/health', (_req: Req, res: Res) => {
    res.status(200).set({ 'Cache-Control': 'no-store' }).json({ status: 'ok' });
  });

  RED.httpAdmin.get('/health/ready', (_req: Req, res: Res) => {
    const probes = [
      (): HealthCheck[] => journals.files().map((f) => journalWritable(f)),
      (): HealthCheck[] =>
        [...active.values()].map((n) => ({
          name: `events:${n.mode}`,
          ok: !!n.publisher?.connected,
          ...(n.publisher?.connected ? {} : { detail: 'broker not connected' }),
        })),
      (): HealthCheck[] =>
        liveOf<{ client?: DirectoryClientLike }>('roc-establishment').map((e) =>
          directoryReachable(`directory:${String(e.def.finessGeographique ?? e.def.id)}`, e.live?.client),
        ),
    ];
    readiness(probes).then(
      (r) => res.status(r.status).set({ 'Cache-Control': 'no-store' }).json(r.body),
      () => res.status(503).set({ 'Cache-Control': 'no-store' }).json({ status: 'not ready', checks: [] }),
    );
  });

  // A Prometheus scraper has no Node-RED login: ROC_METRICS_TOKEN (≥ 24 characters) as a bearer
  // token reads /metrics (and only /metrics); otherwise viewer and above.
  const token = process.env.ROC_METRICS_TOKEN ?? '';
  if (token && token.length < MIN_TOKEN_LENGTH) RED.log.warn(RED._('roc-events.log.shortToken', { min: MIN_TOKEN_LENGTH }));
  const tokenDigest = token.length >= MIN_TOKEN_LENGTH ? createHash('sha256').update(token).digest() : undefined;
  const viewer = operationsRead(RED.auth) as unknown as (req: Req, res: Res, next: () => void) => void;
  const metricsGuard = (req: Req, res: Res, next: () => void) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    if (tokenDigest && m && timingSafeEqual(createHash('sha256').update(m[1]).digest(), tokenDigest)) return next();
    return viewer(req, res, next);
  };
  RED.httpAdmin.get('/metrics', metricsGuard, (_req: Req, res: Res) => {
    metrics.metrics().then(
      (text) => res.status(200).set({ 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }).send(text),
      () => res.status(500).json({ error: 'metrics unavailable' }),
    );
  });
};
