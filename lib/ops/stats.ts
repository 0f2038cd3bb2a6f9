/**
 * The dashboard's in-process aggregator: service exchanges (IDB, SIM, CLC, DEL… with outcome,
 * code, latency and AMC) counted in one-minute buckets, per service and per AMC, kept for a
 * bounded window (default 24 h). Latency percentiles (p50/p95) come from the samples of each
 * bucket (at most `maxSamplesPerBucket` kept per bucket, reservoir-free: the first ones, then
 * every n-th, so a storm stays bounded).
 *
 * Fed by `record()` — from a bus of events when one exists, or by {@link DossierExchangeFeed},
 * which polls the journal's dossiers for exchanges stored since its last look. Pure TypeScript,
 * clock injected.
 */
import type { DossierPage, DossierQuery } from '../store/journal';
import type { DossierRecord } from '../dossier/dossier';

export type Outcome = 'OK' | 'KO' | 'TECHNIQUE';

export interface ExchangeSample {
  at: number;
  service: string;
  /** The AMC's number (10 digits), when known. */
  amc?: string;
  outcome: Outcome;
  /** First message code of a KO (e.g. 6001, BR-TIMEOUT). */
  code?: string;
  latencyMs: number;
}

interface Bucket {
  minute: number;
  count: number;
  ok: number;
  ko: number;
  technical: number;
  latencies: number[];
  seen: number;
}

export interface SeriesPoint {
  /** Start of the minute (ISO). */
  t: string;
  count: number;
  ok: number;
  ko: number;
  technical: number;
  p50?: number;
  p95?: number;
}

export interface SeriesTotals {
  count: number;
  ok: number;
  ko: number;
  technical: number;
  p50?: number;
  p95?: number;
}

export interface StatsSnapshot {
  windowMinutes: number;
  /** Per service, then per AMC: one point per minute of the window (oldest first). */
  services: Record<string, { totals: SeriesTotals; points: SeriesPoint[] }>;
  amcs: Record<string, { totals: SeriesTotals; points: SeriesPoint[] }>;
  totals: SeriesTotals;
  /** KO and technical KO codes, most frequent first. */
  topKo: Array<{ code: string; service: string; count: number }>;
  /** Ratio of technical KO per AMC over the last `recentMinutes` (alerts). */
  recent: { minutes: number; perAmc: Record<string, SeriesTotals>; all: SeriesTotals };
}

const MINUTE = 60_000;

/** Nearest-rank percentile of sorted values, rounded to the millisecond. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (!sorted.length) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[i]);
}

export interface StatsOptions {
  /** Minutes kept (default 1440). */
  keepMinutes?: number;
  maxSamplesPerBucket?: number;
  /** Distinct AMC series kept (default 200): beyond, counted under `autres`. */
  maxAmcs?: number;
  now?: () => number;
}

export class OpsStats {
  private readonly byService = new Map<string, Map<number, Bucket>>();
  private readonly byAmc = new Map<string, Map<number, Bucket>>();
  private readonly koCodes = new Map<number, Map<string, number>>();
  private readonly keepMinutes: number;
  private readonly maxSamples: number;
  private readonly maxAmcs: number;
  readonly now: () => number;
  recorded = 0;

  constructor(o: StatsOptions = {}) {
    this.keepMinutes = o.keepMinutes ?? 1440;
    this.maxSamples = o.maxSamplesPerBucket ?? 500;
    this.maxAmcs = o.maxAmcs ?? 200;
    this.now = o.now ?? Date.now;
  }

  /** Forgets everything recorded (tests; a runtime stopped). */
  reset(): void {
    this.byService.clear();
    this.byAmc.clear();
    this.koCodes.clear();
    this.recorded = 0;
  }

  record(s: ExchangeSample): void {
    const minute = Math.floor(s.at / MINUTE) * MINUTE;
    if (minute < this.oldest()) return;
    this.recorded++;
    const svc = s.service.toUpperCase();
    this.add(this.byService, svc, minute, s);
    let amc = s.amc ?? 'inconnue';
    if (!this.byAmc.has(amc) && this.byAmc.size >= this.maxAmcs) amc = 'autres';
    this.add(this.byAmc, amc, minute, s);
    if (s.outcome !== 'OK') {
      const codes = this.koCodes.get(minute) ?? new Map<string, number>();
      this.koCodes.set(minute, codes);
      const k = `${svc}|${s.code ?? (s.outcome === 'TECHNIQUE' ? 'TECHNIQUE' : 'KO')}`;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }
    this.prune();
  }

  private oldest(): number {
    return Math.floor(this.now() / MINUTE) * MINUTE - (this.keepMinutes - 1) * MINUTE;
  }

  private add(m: Map<string, Map<number, Bucket>>, key: string, minute: number, s: ExchangeSample): void {
    let series = m.get(key);
    if (!series) m.set(key, (series = new Map()));
    let b = series.get(minute);
    if (!b) series.set(minute, (b = { minute, count: 0, ok: 0, ko: 0, technical: 0, latencies: [], seen: 0 }));
    b.count++;
    if (s.outcome === 'OK') b.ok++;
    else if (s.outcome === 'KO') b.ko++;
    else b.technical++;
    b.seen++;
    if (Number.isFinite(s.latencyMs) && s.latencyMs >= 0) {
      if (b.latencies.length < this.maxSamples) b.latencies.push(s.latencyMs);
      else if (b.seen % Math.ceil(b.seen / this.maxSamples) === 0) b.latencies[b.seen % this.maxSamples] = s.latencyMs;
    }
  }

  private lastPrune = 0;
  private prune(): void {
    const oldest = this.oldest();
    if (oldest === this.lastPrune) return;
    this.lastPrune = oldest;
    for (const m of [this.byService, this.byAmc]) {
      for (const [k, series] of m) {
        for (const minute of series.keys()) if (minute < oldest) series.delete(minute);
        if (!series.size) m.delete(k);
      }
    }
    for (const minute of this.koCodes.keys()) if (minute < oldest) this.koCodes.delete(minute);
  }

  private series(
    series: Map<number, Bucket>,
    from: number,
    to: number,
    collect?: number[],
  ): { totals: SeriesTotals; points: SeriesPoint[] } {
    const points: SeriesPoint[] = [];
    const all: number[] = [];
    const totals: SeriesTotals = { count: 0, ok: 0, ko: 0, technical: 0 };
    for (let m = from; m <= to; m += MINUTE) {
      const b = series.get(m);
      const p: SeriesPoint = { t: new Date(m).toISOString(), count: 0, ok: 0, ko: 0, technical: 0 };
      if (b) {
        p.count = b.count;
        p.ok = b.ok;
        p.ko = b.ko;
        p.technical = b.technical;
        const sorted = [...b.latencies].sort((x, y) => x - y);
        p.p50 = percentile(sorted, 50);
        p.p95 = percentile(sorted, 95);
        all.push(...b.latencies);
        collect?.push(...b.latencies);
        totals.count += b.count;
        totals.ok += b.ok;
        totals.ko += b.ko;
        totals.technical += b.technical;
      }
      points.push(p);
    }
    all.sort((x, y) => x - y);
    const p50 = percentile(all, 50);
    const p95 = percentile(all, 95);
    if (p50 !== undefined) totals.p50 = p50;
    if (p95 !== undefined) totals.p95 = p95;
    return { totals, points };
  }

  /** The last `windowMinutes` minutes (default 60), one point per minute. */
  snapshot(windowMinutes = 60, recentMinutes = 10): StatsSnapshot {
    this.prune();
    const to = Math.floor(this.now() / MINUTE) * MINUTE;
    const w = Math.max(1, Math.min(this.keepMinutes, windowMinutes));
    const from = to - (w - 1) * MINUTE;
    const services: StatsSnapshot['services'] = {};
    const latencies: number[] = [];
    for (const [k, s] of this.byService) services[k] = this.series(s, from, to, latencies);
    const amcs: StatsSnapshot['amcs'] = {};
    for (const [k, s] of this.byAmc) amcs[k] = this.series(s, from, to);
    const totals: SeriesTotals = { count: 0, ok: 0, ko: 0, technical: 0 };
    for (const s of Object.values(services)) {
      totals.count += s.totals.count;
      totals.ok += s.totals.ok;
      totals.ko += s.totals.ko;
      totals.technical += s.totals.technical;
    }
    latencies.sort((x, y) => x - y);
    if (latencies.length) {
      totals.p50 = percentile(latencies, 50);
      totals.p95 = percentile(latencies, 95);
    }
    const codes = new Map<string, number>();
    for (const [minute, m] of this.koCodes) {
      if (minute < from) continue;
      for (const [k, n] of m) codes.set(k, (codes.get(k) ?? 0) + n);
    }
    const topKo = [...codes.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([k, count]) => {
        const [service, code] = k.split('|');
        return { service, code, count };
      });
    const rFrom = to - (Math.max(1, recentMinutes) - 1) * MINUTE;
    const perAmc: Record<string, SeriesTotals> = {};
    const recentAll: SeriesTotals = { count: 0, ok: 0, ko: 0, technical: 0 };
    for (const [k, s] of this.byAmc) {
      const t = this.series(s, rFrom, to).totals;
      perAmc[k] = t;
      recentAll.count += t.count;
      recentAll.ok += t.ok;
      recentAll.ko += t.ko;
      recentAll.technical += t.technical;
    }
    return { windowMinutes: w, services, amcs, totals, topKo, recent: { minutes: recentMinutes, perAmc, all: recentAll } };
  }
}

/** What the feed needs of the journal. */
export interface DossierSource {
  listDossiers(q?: DossierQuery): Promise<DossierPage>;
  loadDossier(key: string): Promise<DossierRecord | undefined>;
}

/**
 * Feeds {@link OpsStats} from the journal: each `poll()` reads the dossiers stored since its last
 * look (most recent first, at most `maxPerPoll`) and records their exchanges newer than the
 * last one it recorded for that dossier. The first poll starts from now minus `backfillMinutes`.
 */
export class DossierExchangeFeed {
  private since: number;
  private readonly lastAt = new Map<string, string>();
  private readonly maxPerPoll: number;

  constructor(
    private readonly source: DossierSource,
    private readonly stats: OpsStats,
    o: { backfillMinutes?: number; maxPerPoll?: number } = {},
  ) {
    this.since = stats.now() - (o.backfillMinutes ?? 60) * MINUTE;
    this.maxPerPoll = o.maxPerPoll ?? 2000;
  }

  /** Returns how many exchanges were recorded. */
  async poll(): Promise<number> {
    const startedAt = this.stats.now();
    const keys: string[] = [];
    let after: string | undefined;
    let newest = this.since;
    outer: for (;;) {
      const page = await this.source.listDossiers({ limit: 500, ...(after ? { after } : {}) });
      for (const d of page.items) {
        const t = Date.parse(d.updatedAt);
        if (t < this.since) break outer;
        newest = Math.max(newest, t);
        keys.push(d.key);
        if (keys.length >= this.maxPerPoll) break outer;
      }
      if (!page.next) break;
      after = page.next;
    }
    let n = 0;
    for (const key of keys) {
      const d = await this.source.loadDossier(key);
      if (!d) continue;
      const last = this.lastAt.get(key);
      const amc = d.couverture?.numeroAmc;
      for (const x of d.echanges) {
        if (last !== undefined && x.at <= last) continue;
        if (Date.parse(x.at) < startedAt - 1440 * MINUTE) continue;
        this.stats.record({
          at: Date.parse(x.at),
          service: x.service,
          ...(amc ? { amc } : {}),
          outcome: x.technical ? 'TECHNIQUE' : x.status,
          ...(x.code ? { code: x.code } : {}),
          latencyMs: x.latencyMs,
        });
        n++;
      }
      const lastX = d.echanges[d.echanges.length - 1];
      if (lastX) this.lastAt.set(key, lastX.at > (last ?? '') ? lastX.at : (last as string));
    }
    if (this.lastAt.size > 50_000) this.lastAt.clear();
    // same-millisecond stores: look again from the newest seen (exchanges are deduplicated by time)
    this.since = newest;
    return n;
  }
}

/**
 * The shape of an operations event (lib/events RocEvent, schema 1) this aggregator reads: the
 * `answered` event of a service node. Structural, so lib/ops needs no import of it.
 */
export interface ServiceEventLike {
  event: string;
  at: string;
  service?: string;
  outcome?: 'OK' | 'KO';
  technical?: boolean;
  code?: string;
  latencyMs?: number;
  amc?: string;
}

/**
 * The sample of an `answered` service event (a technical KO is one too, `technical: true`), or
 * undefined for any other event (`failed` events name a node's failure, not an exchange: counting
 * them would count a technical KO twice).
 */
export function sampleFromEvent(e: ServiceEventLike): ExchangeSample | undefined {
  if (e.event !== 'answered' || !e.service) return undefined;
  const at = Date.parse(e.at);
  if (!Number.isFinite(at)) return undefined;
  const outcome: Outcome = e.technical ? 'TECHNIQUE' : e.outcome === 'OK' ? 'OK' : 'KO';
  const s: ExchangeSample = { at, service: e.service, outcome, latencyMs: e.latencyMs ?? NaN };
  if (e.amc) s.amc = e.amc;
  if (e.code) s.code = e.code;
  return s;
}
