/**
 * The Prometheus metrics, parsed by a Prometheus text parser: counters and latency histograms
 * match a known workload; gauges from the sources (journal size, certificate expiry, publishers)
 * and the queue depths the nodes report; Node.js process metrics; AMC labels bounded; no patient
 * data in any label.
 */
import { EventBus } from '../../lib/events/bus';
import { OpsMetrics } from '../../lib/events/metrics';
import { parsePrometheus } from '../support/prometheus';

const FINESS = '750100125';
const AMCS = ['0123456789', '0987654321', '0555000111'];

/** The workload: 60 IDB answers over three AMCs (every 5th KO, every 10th technical), 20 ACKs, dossier states. */
function workload(bus: EventBus): void {
  for (let i = 0; i < 60; i++) {
    const ko = i % 5 === 0;
    bus.emit({
      node: 'roc-idb',
      nodeId: 'idb-1',
      event: 'answered',
      service: 'idb',
      outcome: ko ? 'KO' : 'OK',
      technical: ko && i % 10 === 0,
      code: ko ? (i % 10 === 0 ? 'BR-TIMEOUT' : 'BR-RIGHTS-CLOSED') : '0000',
      latencyMs: i % 2 ? 80 : 400, // 30 at 0.08 s, 30 at 0.4 s
      amc: AMCS[i % 3],
      finess: FINESS,
      dossierKey: `${FINESS}/V/2501004${String(i).padStart(2, '0')}`,
    });
  }
  for (let i = 0; i < 20; i++) bus.emit({ node: 'roc-mllp-in', nodeId: 'in-1', event: 'acknowledged', code: i < 18 ? 'AA' : 'AE' });
  bus.emit({ node: 'roc-mllp-in', nodeId: 'in-1', event: 'queue', queue: 'held', queueDepth: 7 });
  bus.emit({ node: 'roc-mllp-out', nodeId: 'out-1', event: 'queue', queue: 'error', queueDepth: 3 });
  bus.emit({ node: 'roc-mllp-out', nodeId: 'out-1', event: 'failed', code: 'ECONNREFUSED', queue: 'error', queueDepth: 4 });
  for (const state of ['ADMIS', 'DROITS_OK', 'DROITS_OK', 'ENGAGE'])
    bus.emit({ node: 'roc-dossier', nodeId: 'd-1', event: 'state', state, dossierKey: `${FINESS}/V/250100421` });
}

describe('metrics', () => {
  let m: OpsMetrics;
  afterEach(() => m?.close());

  it('counters and histograms match a known workload', async () => {
    const bus = new EventBus();
    m = new OpsMetrics({
      bus,
      sources: {
        journals: () => [{ name: 'roc-journal.sqlite', bytes: 4096 }],
        certificates: () => [{ finess: FINESS, daysLeft: 42 }],
        circuits: () => [
          { finess: FINESS, key: '0555000111', state: 'open' },
          { finess: FINESS, key: 'annuaire', state: 'half-open' },
        ],
        publishers: () => [{ id: 'events-1', connected: true, buffered: 2, dropped: 5, published: 80, failed: 0 }],
      },
    });
    workload(bus);
    const text = await m.metrics();
    const p = parsePrometheus(text);
    expect(p.types.roc_service_answers_total).toBe('counter');
    expect(p.types.roc_service_latency_seconds).toBe('histogram');
    expect(p.sum('roc_service_answers_total')).toBe(60);
    expect(p.sum('roc_service_answers_total', { service: 'idb', outcome: 'OK' })).toBe(48);
    expect(p.sum('roc_service_answers_total', { outcome: 'KO', technical: 'true' })).toBe(6);
    expect(p.sum('roc_service_answers_total', { amc: '0123456789' })).toBe(20);
    expect(p.sum('roc_service_ko_total', { code: 'BR-RIGHTS-CLOSED' })).toBe(6);
    expect(p.sum('roc_service_ko_total', { code: 'BR-TIMEOUT' })).toBe(6);
    expect(p.sum('roc_service_latency_seconds_count')).toBe(60);
    expect(p.sum('roc_service_latency_seconds_sum')).toBeCloseTo(30 * 0.08 + 30 * 0.4, 6);
    expect(p.sum('roc_service_latency_seconds_bucket', { le: '0.1' })).toBe(30);
    expect(p.sum('roc_service_latency_seconds_bucket', { le: '0.5' })).toBe(60);
    expect(p.sum('roc_gap_acks_total', { node: 'roc-mllp-in', code: 'AA' })).toBe(18);
    expect(p.sum('roc_gap_acks_total', { code: 'AE' })).toBe(2);
    expect(p.sum('roc_failures_total', { node: 'roc-mllp-out', code: 'ECONNREFUSED' })).toBe(1);
    expect(p.sum('roc_dossier_transitions_total', { state: 'DROITS_OK' })).toBe(2);
    expect(p.sum('roc_events_total')).toBe(60 + 20 + 3 + 4);
    expect(p.sum('roc_events_total', { node: 'roc-idb', event: 'answered' })).toBe(60);
    expect(p.find('roc_queue_depth', { node: 'roc-mllp-in', queue: 'held' })[0].value).toBe(7);
    expect(p.find('roc_queue_depth', { node: 'roc-mllp-out', queue: 'error' })[0].value).toBe(4);
    expect(p.find('roc_journal_size_bytes')[0]).toMatchObject({ labels: { journal: 'roc-journal.sqlite' }, value: 4096 });
    expect(p.find('roc_certificate_expiry_days')[0]).toMatchObject({ labels: { finess: FINESS }, value: 42 });
    expect(p.find('roc_events_dropped')[0].value).toBe(5);
    expect(p.find('roc_circuit_state', { key: '0555000111' })[0].value).toBe(2);
    expect(p.find('roc_circuit_state', { key: 'annuaire' })[0].value).toBe(1);
    expect(p.find('roc_events_broker_connected')[0].value).toBe(1);
    expect(p.find('roc_last_event_timestamp_seconds', { node: 'roc-idb' })[0].value).toBeGreaterThan(Date.now() / 1000 - 60);
    // Node.js process metrics
    expect(p.find('process_cpu_user_seconds_total')).toHaveLength(1);
    expect(p.find('nodejs_heap_size_used_bytes')).toHaveLength(1);
    // no dossier, venue or patient in a label
    expect(text).not.toMatch(/2501004\d\d|250100421/);
  });

  it('a source that throws leaves its gauge empty; the scrape still answers', async () => {
    const bus = new EventBus();
    m = new OpsMetrics({
      bus,
      processMetrics: false,
      sources: {
        journals: () => {
          throw new Error('EACCES');
        },
      },
    });
    const p = parsePrometheus(await m.metrics());
    expect(p.find('roc_journal_size_bytes')).toHaveLength(0);
  });

  it('AMC labels are bounded: beyond the limit, `other`', async () => {
    const bus = new EventBus();
    m = new OpsMetrics({ bus, processMetrics: false, maxAmcLabels: 2 });
    for (const amc of AMCS) bus.emit({ node: 'roc-sim', nodeId: 's', event: 'answered', service: 'sim', outcome: 'OK', amc, latencyMs: 1 });
    const p = parsePrometheus(await m.metrics());
    expect(
      p
        .find('roc_service_answers_total')
        .map((s) => s.labels.amc)
        .sort(),
    ).toEqual(['0123456789', '0987654321', 'other']);
  });
});
