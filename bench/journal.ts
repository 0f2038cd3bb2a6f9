/**
 * Journal benchmark: 100,000 PAM-FR ADT^A01 messages sent over 8 real MLLP/TCP connections
 * (127.0.0.1) to an in-process listener that deframes, parses (lib/hl7 receive()), appends to the
 * SQLite journal (group commit), and answers each ACK only after its commit resolved.
 * Then the same journal is drained through the VenueDispatcher (start → complete per message).
 *
 * Runs: synchronous FULL and NORMAL; senders with 1 message in flight per connection (strict MLLP)
 * and with a window of 64 (pipelined). Client and server share this process and the 2 cores.
 * Writes bench/results/journal.json. Run after the build: `node dist/bench/journal.js [count]`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { acksFor, receive } from '../lib/hl7/intake';
import { FS, MllpDeframer, frame } from '../lib/hl7/mllp';
import { VenueDispatcher } from '../lib/store/dispatcher';
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

function listen(journal: SqliteJournal): Promise<net.Server> {
  const server = net.createServer((socket) => {
    const deframer = new MllpDeframer();
    socket.on('data', (chunk) => {
      for (const ev of deframer.push(chunk)) {
        if (ev.kind !== 'frame') continue;
        const intake = receive(ev.bytes);
        const a = intake.admission;
        journal
          .append({
            raw: ev.bytes,
            channel: 'mllp:bench',
            sendingApplication: a?.sendingApplication,
            sendingFacility: a?.sendingFacility,
            controlId: a?.controlId,
            event: a ? `${a.messageType}^${a.event}` : undefined,
            charset: intake.charset,
            orderingKey: a?.orderingKey,
            ignored: intake.ignored,
          })
          .then(
            () => {
              const plan = acksFor(intake, true);
              const ack = plan.commit ?? plan.application;
              if (ack && !socket.destroyed) socket.write(frame(ack.bytes));
            },
            () => {
              const plan = acksFor(intake, false);
              const ack = plan.commit ?? plan.application;
              if (ack && !socket.destroyed) socket.write(frame(ack.bytes));
            },
          );
      }
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
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

async function run(
  template: string,
  count: number,
  connections: number,
  window: number,
  synchronous: 'FULL' | 'NORMAL',
  autocheckpointPages?: number,
  windowMs = 0,
): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roc-journal-bench-'));
  const file = path.join(dir, 'journal.db');
  try {
    const journal = new SqliteJournal({ file, synchronous, autocheckpointPages, windowMs });
    const server = await listen(journal);
    const port = (server.address() as net.AddressInfo).port;
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
    await new Promise<void>((r) => server.close(() => r()));
    const stats = { ...journal.stats };

    // Drain through the dispatcher: start + complete for every message, per-venue order kept.
    const dispatcher = new VenueDispatcher(journal);
    await dispatcher.load();
    const d0 = process.hrtime.bigint();
    let done = 0;
    for (;;) {
      const batch = await dispatcher.next(512);
      if (batch.length === 0) break;
      await Promise.all(batch.map((m) => dispatcher.complete(m.id)));
      done += batch.length;
    }
    const dSeconds = Number(process.hrtime.bigint() - d0) / 1e9;
    await journal.close();

    const reopened = new SqliteJournal({ file, synchronous });
    const counts = await reopened.counts();
    await reopened.close();
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
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
  const checkpoint = process.argv[5] ? Number(process.argv[5]) : undefined;
  const windowMs = process.argv[6] ? Number(process.argv[6]) : 0;
  for (const synchronous of syncs) {
    for (const window of windows) {
      const r = await run(template, count, 8, window, synchronous, checkpoint, windowMs);
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
      'Client and listener in one process over 127.0.0.1. An ACK is written only after the append promise resolved (row committed). ' +
      'FULL fsyncs the WAL at every group commit (survives power loss); NORMAL survives a process kill. ' +
      'inFlightPerConnection 1 = strict MLLP (next message only after the ACK): throughput is then bound by commit latency (fsync) × 8 connections. ' +
      'The machine is shared (see loadAverage): figures vary run to run. dispatch = VenueDispatcher next(512) + complete() for each message after the intake.',
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
