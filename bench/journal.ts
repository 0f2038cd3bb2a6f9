/**
 * Journal benchmark: 100,000 PAM-FR ADT^A01 messages sent over 8 real MLLP/TCP connections
 * (127.0.0.1) to the MllpListener that roc-mllp-in runs (lib/gap/mllp-listener.ts): it deframes,
 * parses (lib/hl7 receive()), appends to the SQLite journal (group commit) and writes each ACK
 * only after its commit resolved, with its caps, deadlines and backpressure in place.
 * Intake: while the senders run, the messages the listener dispatches are parked (at most
 * `maxInFlight` = 512 in processing), so the intake figure is persist + ACK. Dispatch: then every
 * message is completed as it comes out of the listener (VenueDispatcher start → complete per
 * message, one in processing per venue, plus the listener's parse of each dispatched message).
 *
 * Runs: synchronous FULL and NORMAL; senders with 1 message in flight per connection (strict MLLP)
 * and with a window of 64 (pipelined). Client and server share this process and the 2 cores.
 * Writes bench/results/journal.json. Run after the build:
 * `node dist/bench/journal.js [count] [FULL,NORMAL] [64,1] [commitWindowMs]` (with a second
 * argument the run is partial: printed only, no results file).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { MllpListener } from '../lib/gap/mllp-listener';
import { FS, frame } from '../lib/hl7/mllp';
import { SqliteJournal } from '../lib/store/sqlite';
import { ROOT } from './common';

interface RunResult {
  synchronous: 'FULL' | 'NORMAL';
  connections: number;
  inFlightPerConnection: number;
  messages: number;
  seconds: number;
  persistedAndAckedPerSecond: number;
  commits: number;
  meanBatch: number;
  largestBatch: number;
  rowsAfterReopen: number;
  dbMegabytes: number;
  dispatch: { messages: number; seconds: number; perSecond: number };
  /** 1-minute load average of the (shared) machine before and after the run. */
  loadAverage: [number, number];
}

/** One sender: writes its frames keeping at most `window` unacknowledged; resolves when all are ACKed. */
function send(port: number, frames: Buffer[], window: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let sent = 0;
    let acked = 0;
    let refused = 0;
    const pump = () => {
      const chunk: Buffer[] = [];
      while (sent < frames.length && sent - acked < window) chunk.push(frames[sent++]);
      if (chunk.length) socket.write(chunk.length === 1 ? chunk[0] : Buffer.concat(chunk));
    };
    socket.on('connect', pump);
    socket.on('data', (data) => {
      for (let i = 0; i < data.length; i++) if (data[i] === FS) acked++;
      if (data.includes('MSA|AA') === false && data.includes('MSA|CA') === false) refused++;
      if (acked === frames.length) {
        socket.end();
        resolve(refused);
      } else pump();
    });
    socket.on('error', reject);
  });
}

/** Messages the listener hands out at once (the old mini-listener drained with next(512)). */
const MAX_IN_FLIGHT = 512;

async function run(
  template: string,
  count: number,
  connections: number,
  window: number,
  synchronous: 'FULL' | 'NORMAL',
  commitWindowMs = 0,
): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roc-journal-bench-'));
  const file = path.join(dir, 'journal.db');
  const errors: string[] = [];
  // Intake: dispatched messages are parked; dispatch: each is completed as it comes out.
  let draining = false;
  const parked: number[] = [];
  let drained: () => void = () => undefined;
  const allDone = new Promise<void>((r) => (drained = r));
  let listener: MllpListener | undefined;
  const complete = (id: number) =>
    listener!.complete(id).then(
      () => {
        if (listener!.stats.completed === count) drained();
      },
      (e: Error) => errors.push(e.message),
    );
  try {
    listener = new MllpListener(
      { host: '127.0.0.1', port: 0, journalFile: file, synchronous, commitWindowMs, channel: 'mllp:bench', maxInFlight: MAX_IN_FLIGHT },
      (m) => {
        if (draining) void complete(m.journalId);
        else parked.push(m.journalId);
      },
      (text) => errors.push(text),
    );
    await listener.start();
    const port = listener.port;
    const perConn: Buffer[][] = Array.from({ length: connections }, () => []);
    for (let i = 0; i < count; i++) {
      const venue = String(250100000 + (i % 5000));
      const text = template.replace('A01-UTF8-0001', `BENCH-${i}`).replace('250100421^', `${venue}^`);
      perConn[i % connections].push(frame(Buffer.from(text, 'utf8')));
    }
    const loadBefore = os.loadavg()[0];
    const t0 = process.hrtime.bigint();
    const refused = await Promise.all(perConn.map((f) => send(port, f, window)));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (refused.some((r) => r > 0)) throw new Error('some messages were not acknowledged AA/CA');
    if (listener.stats.acked !== count) throw new Error(`the listener acknowledged ${listener.stats.acked} of ${count} messages`);
    const stats = { ...listener.journal.stats };

    // Drain through the listener: complete every message it hands out, per-venue order kept.
    const d0 = process.hrtime.bigint();
    draining = true;
    for (const id of parked.splice(0)) void complete(id);
    if (count > 0) await allDone;
    const dSeconds = Number(process.hrtime.bigint() - d0) / 1e9;
    const done = listener.stats.completed;
    await listener.close();
    listener = undefined;
    if (errors.length) throw new Error(`listener errors: ${errors.slice(0, 3).join(' | ')}`);

    const reopened = new SqliteJournal({ file, synchronous });
    const counts = await reopened.counts();
    await reopened.close();
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    if (counts.DONE !== count) throw new Error(`${counts.DONE} of ${count} messages DONE after reopening`);
    const bytes = statSync(file).size + (existsSync(file + '-wal') ? statSync(file + '-wal').size : 0);
    return {
      synchronous,
      connections,
      inFlightPerConnection: window,
      messages: count,
      seconds: Number(seconds.toFixed(3)),
      persistedAndAckedPerSecond: Math.round(count / seconds),
      commits: stats.commits,
      meanBatch: Number((stats.writes / Math.max(1, stats.commits)).toFixed(1)),
      largestBatch: stats.largestBatch,
      rowsAfterReopen: rows,
      dbMegabytes: Number((bytes / 1048576).toFixed(1)),
      dispatch: { messages: done, seconds: Number(dSeconds.toFixed(3)), perSecond: Math.round(done / dSeconds) },
      loadAverage: [Number(loadBefore.toFixed(2)), Number(os.loadavg()[0].toFixed(2))],
    };
  } finally {
    if (listener) await listener.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const root = ROOT;
  const count = Number(process.argv[2] ?? 100_000);
  const template = readFileSync(path.join(root, 'test', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
  const runs: RunResult[] = [];
  const syncs = (process.argv[3] ?? 'FULL,NORMAL').split(',') as Array<'FULL' | 'NORMAL'>;
  const windows = (process.argv[4] ?? '64,1').split(',').map(Number);
  const windowMs = process.argv[5] ? Number(process.argv[5]) : 0;
  for (const synchronous of syncs) {
    for (const window of windows) {
      const r = await run(template, count, 8, window, synchronous, windowMs);
      console.log(
        `synchronous=${synchronous} 8 conn × ${window} in flight: ${r.persistedAndAckedPerSecond} msg/s persisted+ACKed ` +
          `(${r.commits} commits, mean batch ${r.meanBatch}); dispatch ${r.dispatch.perSecond} msg/s`,
      );
      runs.push(r);
    }
  }
  const out = {
    benchmark: 'journal',
    at: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    messageBytes: Buffer.byteLength(template),
    venues: 5000,
    note:
      'Client and the shipped MllpListener (lib/gap/mllp-listener.ts) in one process over 127.0.0.1. An ACK is written only after the append promise resolved (row committed). ' +
      'FULL fsyncs the WAL at every group commit (survives power loss); NORMAL survives a process kill. ' +
      'inFlightPerConnection 1 = strict MLLP (next message only after the ACK): throughput is then bound by commit latency (fsync) × 8 connections. ' +
      'The machine is shared (see loadAverage): figures vary run to run. dispatch = after the intake, the listener hands out every message (maxInFlight 512, VenueDispatcher start, a parse) and each is completed at once.',
    runs,
  };
  if (process.argv[3] !== undefined) return; // partial run: printed only
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'journal.json'), JSON.stringify(out, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
