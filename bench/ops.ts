/**
 * The operations endpoints under a storm: 1,000 events a second on the bus (five services × 50
 * AMCs × OK/KO codes, MLLP ACKs, dossier states, queue depths), each published over MQTT by the
 * embedded broker to a live subscriber and counted by the metrics, while /metrics is scraped over
 * HTTP every 250 ms. Reports the scrape time (p50, p95, max), the size of the exposition, what
 * the subscriber received and the event loop's delay. A measurement, never a test.
 * Writes bench/results/ops.json. Run after the build: `node dist/bench/ops.js` (or `npm run bench ops`).
 */
import { mkdirSync, writeFileSync } from 'fs';
import http from 'http';
import * as os from 'os';
import * as path from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import mqtt from 'mqtt';
import { EventBus } from '../lib/events/bus';
import { EventPublisher } from '../lib/events/publisher';
import { startEmbeddedBroker } from '../lib/events/broker';
import { OpsMetrics } from '../lib/events/metrics';
import { ROOT } from './common';

const RATE = Number(process.env.OPS_BENCH_RATE || 1000);
const SECONDS = Number(process.env.OPS_BENCH_SECONDS || 20);
const SCRAPE_EVERY_MS = 250;
const SERVICES = ['annuaire', 'idb', 'sim', 'clc', 'del'];
const AMCS = Array.from({ length: 50 }, (_, i) => String(77_000_000 + i * 1013).padStart(10, '0'));
const KO_CODES = ['6001', '6002', '6010', 'BR-TIMEOUT', 'BR-AMC-UNKNOWN'];

function pct(a: number[], p: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}
const r2 = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const bus = new EventBus();
  bus.configure({ secret: 'bench-secret-0123456789abcdef0123456789' });
  const metrics = new OpsMetrics({ bus });
  const broker = await startEmbeddedBroker({ port: 0 });
  const publisher = new EventPublisher(broker.client, { bus, bufferSize: 10_000 });
  metrics.sources = {
    publishers: () => [{ id: 'bench', connected: publisher.connected, ...publisher.stats }],
    certificates: () => [{ finess: '750100125', daysLeft: 120 }],
    journals: () => [{ name: 'roc-journal.sqlite', bytes: 1 << 30 }],
  };
  const sub = mqtt.connect(`mqtt://127.0.0.1:${broker.port}`, { reconnectPeriod: 0 });
  let received = 0;
  sub.on('message', () => received++);
  await new Promise<void>((resolve, reject) => {
    sub.once('connect', () => sub.subscribe('roc/#', { qos: 1 }, (e) => (e ? reject(e) : resolve())));
    sub.once('error', reject);
  });
  const server = http.createServer((req, res) => {
    metrics.metrics().then((text) => {
      res.writeHead(200, { 'content-type': metrics.contentType });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`;

  let i = 0;
  const emitOne = () => {
    const k = i++;
    switch (k % 10) {
      case 0:
        bus.emit({ node: 'roc-mllp-in', nodeId: 'gap-mllp', event: 'acknowledged', code: k % 100 ? 'AA' : 'AE' });
        break;
      case 1:
        bus.emit({
          node: 'roc-dossier',
          nodeId: 'dossier',
          event: 'state',
          state: 'DROITS_OK',
          code: 'ADMISSION',
          dossierKey: `750100125/V/2501${k}`,
        });
        break;
      case 2:
        bus.emit({ node: 'roc-mllp-out', nodeId: 'gap-answer', event: 'queue', queue: 'outbound', queueDepth: k % 17 });
        break;
      default: {
        const service = SERVICES[k % SERVICES.length];
        const ko = k % 7 === 0;
        bus.emit({
          node: `roc-${service}`,
          nodeId: service,
          event: 'answered',
          service,
          outcome: ko ? 'KO' : 'OK',
          technical: ko && k % 3 === 0,
          code: ko ? KO_CODES[k % KO_CODES.length] : '0000',
          latencyMs: 20 + (k % 400),
          amc: AMCS[k % AMCS.length],
          finess: '750100125',
          dossierKey: `750100125/V/2501${k}`,
        });
      }
    }
  };

  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const scrapes: number[] = [];
  let bytes = 0;
  const t0 = Date.now();
  const perTick = RATE / 100; // every 10 ms
  const storm = setInterval(() => {
    // keep to the rate even when a tick comes late
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    for (let n = 0; n < Math.max(perTick, due - i) && i < due + perTick; n++) emitOne();
  }, 10);
  const scrape = async () => {
    const s = performance.now();
    const res = await fetch(url);
    const text = await res.text();
    scrapes.push(performance.now() - s);
    bytes = text.length;
  };
  while (Date.now() - t0 < SECONDS * 1000) {
    await scrape();
    await new Promise((r) => setTimeout(r, SCRAPE_EVERY_MS));
  }
  clearInterval(storm);
  lag.disable();
  const elapsed = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500));

  const result = {
    benchmark: 'ops',
    at: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    loadAverage: os.loadavg().map(r2),
    storm: { targetPerSecond: RATE, seconds: r2(elapsed), events: i, perSecond: Math.round(i / elapsed) },
    scrape: {
      count: scrapes.length,
      p50Ms: r2(pct(scrapes, 50)),
      p95Ms: r2(pct(scrapes, 95)),
      maxMs: r2(Math.max(...scrapes)),
      bytes,
      series: (await metrics.metrics()).split('\n').filter((l) => l && !l.startsWith('#')).length,
    },
    mqtt: { published: publisher.stats.published, acknowledged: publisher.stats.acknowledged, dropped: publisher.stats.dropped, received },
    eventLoopDelay: { p50Ms: r2(lag.percentile(50) / 1e6), p99Ms: r2(lag.percentile(99) / 1e6), maxMs: r2(lag.max / 1e6) },
  };
  const out = path.join(ROOT, 'bench', 'results', 'ops.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));

  sub.end(true);
  publisher.close();
  metrics.close();
  await broker.close();
  await new Promise<void>((r) => server.close(() => r()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
