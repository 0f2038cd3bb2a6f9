/**
 * The dashboard's aggregator: per-minute buckets per service and AMC, p50/p95, top KO codes, the
 * window kept bounded; and its feed from the journal's dossiers (each exchange counted once).
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DossierExchangeFeed, OpsStats, percentile, sampleFromEvent } from '../../lib/ops/stats';
import { SqliteJournal } from '../../lib/store/sqlite';
import { dossier } from '../store/dossier-fixtures';

const T0 = Date.parse('2026-12-06T08:00:00Z');

describe('OpsStats', () => {
  it('counts per minute, per service and per AMC, with p50/p95 and the top KO codes', () => {
    let t = T0;
    const s = new OpsStats({ now: () => t });
    for (let i = 1; i <= 100; i++) s.record({ at: T0, service: 'idb', amc: '0775685365', outcome: 'OK', latencyMs: i * 10 });
    s.record({ at: T0 + 61_000, service: 'CLC', amc: '0775685365', outcome: 'KO', code: '6022', latencyMs: 300 });
    s.record({ at: T0 + 62_000, service: 'IDB', amc: '0312345678', outcome: 'KO', code: '6001', latencyMs: 200 });
    s.record({ at: T0 + 63_000, service: 'IDB', amc: '0312345678', outcome: 'KO', code: '6001', latencyMs: 200 });
    s.record({ at: T0 + 64_000, service: 'IDB', outcome: 'TECHNIQUE', code: 'BR-TIMEOUT', latencyMs: 30_000 });
    t = T0 + 90_000;
    const snap = s.snapshot(5);
    expect(snap.windowMinutes).toBe(5);
    expect(snap.services.IDB.points).toHaveLength(5);
    expect(snap.services.IDB.points[3]).toMatchObject({ t: '2026-12-06T08:00:00.000Z', count: 100, ok: 100, p50: 500, p95: 950 });
    expect(snap.services.IDB.points[4]).toMatchObject({ count: 3, ko: 2, technical: 1 });
    expect(snap.services.CLC.totals).toMatchObject({ count: 1, ko: 1 });
    expect(Object.keys(snap.amcs).sort()).toEqual(['0312345678', '0775685365', 'inconnue']);
    expect(snap.totals).toMatchObject({ count: 104, ok: 100, ko: 3, technical: 1, p50: 490, p95: 960 });
    expect(snap.topKo).toEqual([
      { service: 'IDB', code: '6001', count: 2 },
      { service: 'CLC', code: '6022', count: 1 },
      { service: 'IDB', code: 'BR-TIMEOUT', count: 1 },
    ]);
    // later: the old minutes leave the window, then the store
    t = T0 + 3 * 3600_000;
    expect(s.snapshot(60).totals.count).toBe(0);
  });

  it('keeps a bounded number of latency samples per bucket and a bounded window', () => {
    const t = T0;
    const s = new OpsStats({ now: () => t, maxSamplesPerBucket: 50, keepMinutes: 10 });
    for (let i = 0; i < 10_000; i++) s.record({ at: T0, service: 'IDB', outcome: 'OK', latencyMs: i % 100 });
    s.record({ at: T0 - 3600_000, service: 'IDB', outcome: 'OK', latencyMs: 1 }); // older than kept: ignored
    const p = s.snapshot(1).services.IDB.points[0];
    expect(p.count).toBe(10_000);
    expect(p.p95).toBeLessThan(100);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([12.994587000001047], 95)).toBe(13);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('DossierExchangeFeed', () => {
  let dir: string;
  let j: SqliteJournal;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'roc-ops-feed-'));
    j = new SqliteJournal({ file: path.join(dir, 'j.db'), retentionDays: 0, purgeIntervalMs: 0 });
  });
  afterEach(async () => {
    await j.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records each exchange of the dossiers once, with its AMC', async () => {
    const now = Date.now();
    const stats = new OpsStats();
    const feed = new DossierExchangeFeed(j, stats);
    const at = (ms: number) => new Date(now - ms).toISOString();
    const d = dossier('250100421', 'ADMIS');
    d.couverture = { ...(d.couverture ?? {}), numeroAmc: '0775685365' } as typeof d.couverture;
    d.echanges = [{ service: 'idb', requestId: 'R1', status: 'OK', technical: false, latencyMs: 420, at: at(5000) }];
    await j.saveDossier(d);
    expect(await feed.poll()).toBe(1);
    expect(await feed.poll()).toBe(0);
    d.echanges.push({
      service: 'clc',
      requestId: 'R2',
      status: 'KO',
      technical: true,
      code: 'BR-TIMEOUT',
      latencyMs: 30_000,
      at: at(1000),
    });
    await j.saveDossier(d);
    expect(await feed.poll()).toBe(1);
    const snap = stats.snapshot(10);
    expect(snap.amcs['0775685365'].totals).toMatchObject({ count: 2, ok: 1, technical: 1 });
    expect(snap.topKo).toEqual([{ service: 'CLC', code: 'BR-TIMEOUT', count: 1 }]);
  });
});

describe('sampleFromEvent (the event bus of lib/events, schema 1)', () => {
  it('reads the answered service events (technical KO included), ignores the others', () => {
    const at = '2026-12-06T08:00:01.000Z';
    expect(sampleFromEvent({ event: 'answered', at, service: 'idb', outcome: 'OK', latencyMs: 412.5, amc: '0775685365' })).toEqual({
      at: Date.parse(at),
      service: 'idb',
      outcome: 'OK',
      latencyMs: 412.5,
      amc: '0775685365',
    });
    expect(sampleFromEvent({ event: 'answered', at, service: 'clc', outcome: 'KO', code: '6022', latencyMs: 80 })?.outcome).toBe('KO');
    expect(sampleFromEvent({ event: 'answered', at, service: 'idb', outcome: 'KO', technical: true, code: 'BR-TIMEOUT' })?.outcome).toBe(
      'TECHNIQUE',
    );
    expect(sampleFromEvent({ event: 'failed', at, service: 'del', code: 'ECONNRESET' })).toBeUndefined();
    expect(sampleFromEvent({ event: 'received', at })).toBeUndefined();
    expect(sampleFromEvent({ event: 'queue', at, service: 'idb' })).toBeUndefined();
  });
});
