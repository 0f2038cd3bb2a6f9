/**
 * Message browser benchmark: fills the inbound table with N messages (default 1,000,000, 60 days,
 * 300,000 venues, 200,000 patients, one FAILED in 5,000; direct SQL inserts: the fill is not what
 * is measured), then times the GET /roc/ops/messages queries (lib/ops/messages searchMessages)
 * one message's detail and the dashboard's summary (built every 5 s for the alerts). Writes bench/results/ops-messages.json.
 * Run after the build: `node dist/bench/ops-messages.js [count]` (a count prints only, unless `--write`).
 */
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../lib/store/sqlite';
import { messageDetail, parseMessageQuery, searchMessages } from '../lib/ops/messages';
import { buildSummary } from '../lib/ops/summary';
import { OpsStats } from '../lib/ops/stats';
import { ROOT } from './common';

const DAY = 86_400_000;

async function main(): Promise<void> {
  const arg = process.argv.slice(2).find((a) => /^\d+$/.test(a));
  const n = arg ? Number(arg) : 1_000_000;
  const write = !arg || process.argv.includes('--write');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roc-bench-ops-'));
  const file = path.join(dir, 'journal.sqlite');
  const tpl = readFileSync(path.join(ROOT, 'test', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
  try {
    await new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 }).close();
    const db = new Database(file);
    db.pragma('synchronous = OFF');
    const ins = db.prepare(
      `INSERT INTO inbound (received_at, channel, sending_app, sending_facility, control_id, event, charset, okey, size, dedup, state, updated_at, raw)
       VALUES (?, 'mllp:2575', 'CPAGE', 'CHU-NORD', ?, 'ADT^A01', 'utf8', ?, ?, ?, ?, ?, ?)`,
    );
    const now = Date.now();
    const t0 = now - 60 * DAY;
    const fillStart = Date.now();
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const venue = String(250000000 + (i % 300000));
        const raw = Buffer.from(
          tpl
            .replace('250100421^', `${venue}^`)
            .replace('481516^', `${100000 + (i % 200000)}^`)
            .replace('A01-UTF8-0001', `B${i}`),
        );
        const at = t0 + Math.floor((i * 60 * DAY) / n);
        ins.run(at, `B${i}`, `PV1-19:${venue}`, raw.length, `CPAGE|CHU-NORD|B${i}`, i % 5000 === 0 ? 'FAILED' : 'DONE', at, raw);
      }
    })();
    db.close();
    const fillMs = Date.now() - fillStart;
    const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    const results: Record<string, { ms: number; items: number; scanned?: number }> = {};
    const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
    const day = iso(t0 + 30 * DAY);
    const cases: Array<[string, Record<string, string>]> = [
      ['firstPage', {}],
      ['deepPage', { after: String(Math.floor(n / 2)) }],
      ['venue', { venue: String(250000000 + 12345) }],
      ['stateFailed', { state: 'FAILED' }],
      ['oneDay', { from: day, to: day }],
      ['stateFailedOneDay', { state: 'FAILED', from: day, to: day }],
      ['stateFailed30Days', { state: 'FAILED', from: iso(t0), to: day }],
      ['ippLast7DaysNotFound', { ipp: '154321' }],
      ['ipp7DaysEnding20DaysAgo', { ipp: '154321', from: iso(t0 + 33 * DAY), to: iso(t0 + 40 * DAY) }],
      ['ndaEveryRowMatches', { nda: '25010042' }],
    ];
    for (const [name, q] of cases) {
      const s = process.hrtime.bigint();
      const page = await searchMessages(j, parseMessageQuery(q));
      const ms = Number(process.hrtime.bigint() - s) / 1e6;
      results[name] = {
        ms: Number(ms.toFixed(1)),
        items: page.items.length,
        ...(page.scanned !== undefined ? { scanned: page.scanned } : {}),
      };
    }
    const s = process.hrtime.bigint();
    await messageDetail(j, Math.floor(n * 0.77));
    results.detail = { ms: Number((Number(process.hrtime.bigint() - s) / 1e6).toFixed(1)), items: 1 };
    const t = process.hrtime.bigint();
    await buildSummary(j, { senders: [{ id: 'out', destination: 'mllp:127.0.0.1:2576', connected: true }] }, new OpsStats());
    results.summary = { ms: Number((Number(process.hrtime.bigint() - t) / 1e6).toFixed(1)), items: 1 };
    await j.close();
    const out = { messages: n, fillMs, node: process.version, loadavg: os.loadavg().map((x) => Number(x.toFixed(2))), results };
    console.log(JSON.stringify(out, null, 2));
    if (write) {
      mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
      writeFileSync(path.join(ROOT, 'bench', 'results', 'ops-messages.json'), JSON.stringify(out, null, 2) + '\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
