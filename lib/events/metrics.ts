/**
 * Prometheus metrics of the bridge (prom-client, its own registry): counters and latency
 * histograms fed from the event bus, gauges read at scrape time from the sources the runtime
 * gives (journal files, certificates, event publishers), Node.js process metrics.
 *
 * Labels are codes, node types, node ids, service names, AMC numbers and FINESS: never patient
 * data (the events carry none). AMC label values are bounded (`maxAmcLabels`, beyond: `other`) so a
 * flood of unknown AMC numbers cannot grow the registry without end.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RocEvent } from './schema';
import { events as processBus, type EventBus } from './bus';

export interface OpsSources {
  /** Journal files open now: a short name (file name) and its size in bytes (with -wal). */
  journals?: () => Array<{ name: string; bytes: number }>;
  /** Establishment certificates: FINESS and days left before expiry (negative: expired). */
  certificates?: () => Array<{ finess: string; daysLeft: number }>;
  /** Circuits not closed (AMC numbers, `annuaire` for the directory), per establishment. */
  circuits?: () => Array<{ finess: string; key: string; state: 'open' | 'half-open' }>;
  /** Event publishers (roc-events nodes). */
  publishers?: () => Array<{ id: string; connected: boolean; buffered: number; dropped: number; published: number; failed: number }>;
}

export interface OpsMetricsOptions {
  bus?: EventBus;
  sources?: OpsSources;
  /** Node.js process metrics (prom-client's default metrics), default true. */
  processMetrics?: boolean;
  maxAmcLabels?: number;
}

/** Latency buckets (seconds): an AMC answers in tens of ms to a few seconds; timeouts near 30 s. */
export const LATENCY_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

export class OpsMetrics {
  readonly registry = new Registry();
  readonly contentType: string;
  sources: OpsSources;
  private readonly unsubscribe: () => void;
  private readonly amcs = new Set<string>();
  private readonly maxAmcLabels: number;
  private readonly eventsTotal: Counter<'node' | 'event'>;
  private readonly answers: Counter<'service' | 'amc' | 'outcome' | 'technical'>;
  private readonly ko: Counter<'service' | 'amc' | 'code'>;
  private readonly latency: Histogram<'service' | 'amc'>;
  private readonly acks: Counter<'node' | 'code'>;
  private readonly failures: Counter<'node' | 'code'>;
  private readonly transitions: Counter<'state'>;
  private readonly queueDepth: Gauge<'node' | 'node_id' | 'queue'>;
  private readonly lastEvent: Gauge<'node'>;

  constructor(o: OpsMetricsOptions = {}) {
    this.sources = o.sources ?? {};
    this.maxAmcLabels = o.maxAmcLabels ?? 1000;
    this.contentType = this.registry.contentType;
    const registers = [this.registry];
    this.eventsTotal = new Counter({
      name: 'roc_events_total',
      help: 'Operations events, by node type and event',
      labelNames: ['node', 'event'],
      registers,
    });
    this.answers = new Counter({
      name: 'roc_service_answers_total',
      help: 'Answers of the ROC services (annuaire, IDB, SIM, CLC, DEL), by AMC and outcome',
      labelNames: ['service', 'amc', 'outcome', 'technical'],
      registers,
    });
    this.ko = new Counter({
      name: 'roc_service_ko_total',
      help: 'KO answers by reason code',
      labelNames: ['service', 'amc', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'roc_service_latency_seconds',
      help: 'Latency of the ROC service calls (seconds)',
      labelNames: ['service', 'amc'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.acks = new Counter({
      name: 'roc_gap_acks_total',
      help: 'HL7 ACKs: sent to the GAP (roc-mllp-in), received from it (roc-mllp-out)',
      labelNames: ['node', 'code'],
      registers,
    });
    this.failures = new Counter({
      name: 'roc_failures_total',
      help: 'Failures (event failed), by node type and code',
      labelNames: ['node', 'code'],
      registers,
    });
    this.transitions = new Counter({
      name: 'roc_dossier_transitions_total',
      help: 'Dossier state changes, by new state',
      labelNames: ['state'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'roc_queue_depth',
      help: 'Queue depths last reported by the nodes',
      labelNames: ['node', 'node_id', 'queue'],
      registers,
    });
    this.lastEvent = new Gauge({
      name: 'roc_last_event_timestamp_seconds',
      help: 'When the last event of a node type came (Unix time)',
      labelNames: ['node'],
      registers,
    });

    const sources = () => this.sources;
    new Gauge({
      name: 'roc_journal_size_bytes',
      help: 'Size of the journal files (database and write-ahead log)',
      labelNames: ['journal'],
      registers,
      collect() {
        this.reset();
        for (const j of safe(sources().journals)) this.set({ journal: j.name }, j.bytes);
      },
    });
    new Gauge({
      name: 'roc_certificate_expiry_days',
      help: 'Days before the establishment certificate expires (negative: expired)',
      labelNames: ['finess'],
      registers,
      collect() {
        this.reset();
        for (const c of safe(sources().certificates)) this.set({ finess: c.finess }, c.daysLeft);
      },
    });
    new Gauge({
      name: 'roc_circuit_state',
      help: 'Circuit breakers not closed, per AMC (key: AMC number, or annuaire): 1 half-open, 2 open; absent when closed',
      labelNames: ['finess', 'key'],
      registers,
      collect() {
        this.reset();
        for (const c of safe(sources().circuits)) this.set({ finess: c.finess, key: c.key }, c.state === 'open' ? 2 : 1);
      },
    });
    const pub = (name: string, help: string, pick: (p: ReturnType<NonNullable<OpsSources['publishers']>>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['publisher'],
        registers,
        collect() {
          this.reset();
          for (const p of safe(sources().publishers)) this.set({ publisher: p.id }, pick(p));
        },
      });
    pub('roc_events_broker_connected', 'The event publisher is connected to its MQTT broker (1) or not (0)', (p) => (p.connected ? 1 : 0));
    pub('roc_events_buffered', 'Events waiting for the MQTT broker', (p) => p.buffered);
    pub('roc_events_dropped', 'Events dropped because the buffer was full (since start)', (p) => p.dropped);
    pub('roc_events_published', 'Events published over MQTT (since start)', (p) => p.published);
    pub('roc_events_publish_failed', 'Publications the MQTT client reported failed (since start)', (p) => p.failed);
    if (o.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.unsubscribe = (o.bus ?? processBus).subscribe((e) => this.observe(e));
  }

  private amcLabel(amc: string | undefined): string {
    if (!amc) return 'none';
    if (this.amcs.has(amc)) return amc;
    if (this.amcs.size >= this.maxAmcLabels) return 'other';
    this.amcs.add(amc);
    return amc;
  }

  /** One event into the counters (the bus calls it). */
  observe(e: RocEvent): void {
    this.eventsTotal.inc({ node: e.node, event: e.event });
    this.lastEvent.set({ node: e.node }, Date.parse(e.at) / 1000);
    switch (e.event) {
      case 'answered': {
        if (!e.service || !e.outcome) break;
        const amc = this.amcLabel(e.amc);
        this.answers.inc({ service: e.service, amc, outcome: e.outcome, technical: e.technical ? 'true' : 'false' });
        if (e.outcome === 'KO') this.ko.inc({ service: e.service, amc, code: e.code ?? 'none' });
        if (e.latencyMs !== undefined) this.latency.observe({ service: e.service, amc }, e.latencyMs / 1000);
        break;
      }
      case 'acknowledged':
        this.acks.inc({ node: e.node, code: e.code ?? 'none' });
        break;
      case 'failed':
        this.failures.inc({ node: e.node, code: e.code ?? 'none' });
        break;
      case 'state':
        if (e.state) this.transitions.inc({ state: e.state });
        break;
    }
    if (e.queueDepth !== undefined) this.queueDepth.set({ node: e.node, node_id: e.nodeId, queue: e.queue ?? 'queue' }, e.queueDepth);
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.unsubscribe();
    this.registry.clear();
  }
}

function safe<T>(f: (() => T[]) | undefined): T[] {
  try {
    return f ? f() : [];
  } catch {
    return [];
  }
}
