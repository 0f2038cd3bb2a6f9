/**
 * A second answer after a kill (issue 7, finding 5): a message processed again after a SIGKILL
 * must not send the GAP a second answer with a new MSH-10.
 *
 * A child process runs the GAP intake and the answer path (MllpListener → IDB result → answer →
 * MllpAnswerSender, see answers-crash-child.js). 20 admissions (one venue each) are sent and
 * acknowledged; the child answers each twice (IDB and SIM results), and completes the n-th one only n × 40 ms after its answer
 * is queued. It is SIGKILLed once a few are complete: the others are answered (queued, sent or
 * even acknowledged by the GAP) but not complete, so the restarted child processes them again. The
 * GAP (a test MLLP server on port 0) must then hold exactly one MSH-10 per (message, service) —
 * an answer whose ACK was lost in the kill may come twice, with the SAME MSH-10 (the GAP spots
 * the copy) — and every answer is acknowledged in the journal.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MllpDeframer, frame } from '../../lib/hl7/mllp';
import { ackContextFromBytes, buildAck } from '../../lib/hl7/ack';
import { decodeFrame } from '../../lib/hl7/charset';
import { parseEr7 } from '../../lib/hl7/er7';
import { openSqliteJournal } from '../../lib/store/sqlite';

jest.setTimeout(90_000);

const CHILD = path.join(__dirname, 'answers-crash-child.js');
const TEMPLATE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'hl7', 'pamfr-own-adt-a01-amo-amc-utf8.hl7'), 'utf8');
const COUNT = 20;
const venueOf = (i: number) => String(250300000 + i);

/** The GAP's answer listener: ACKs every answer AA, remembers (venue, service, MSH-10). */
class Gap {
  readonly answers: Array<{ venue: string; service: string; controlId: string }> = [];
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  async start(): Promise<void> {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      const deframer = new MllpDeframer();
      socket.on('data', (chunk) => {
        for (const ev of deframer.push(chunk)) {
          if (ev.kind !== 'frame') continue;
          const m = parseEr7(decodeFrame(ev.bytes).text);
          this.answers.push({ venue: m.get('PV1-19'), service: m.get('ZRC-1'), controlId: m.get('MSH-10') });
          socket.write(frame(buildAck(ackContextFromBytes(ev.bytes), { code: 'AA', application: 'GAP' }).bytes));
        }
      });
    });
    const server = this.server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.port = (server.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}

interface Child {
  proc: ChildProcess;
  lines: string[];
  port: Promise<number>;
  exited: Promise<void>;
  stderr: string[];
}

function startChild(file: string, gapPort: number, delayMs: number): Child {
  const proc = spawn(process.execPath, [CHILD, file, String(gapPort), String(delayMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const stderr: string[] = [];
  let resolvePort!: (p: number) => void;
  const port = new Promise<number>((r) => (resolvePort = r));
  let buf = '';
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      if (line.startsWith('PORT ')) resolvePort(Number(line.slice(5)));
    }
  });
  proc.stderr!.on('data', (d: Buffer) => stderr.push(d.toString('utf8')));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return { proc, lines, port, exited, stderr };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Sends the admissions over one MLLP connection; resolves when all are acknowledged (committed). */
async function sendAdmissions(port: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => socket.once('connect', () => r()).once('error', j));
  const deframer = new MllpDeframer();
  let acks = 0;
  const done = new Promise<void>((resolve) =>
    socket.on('data', (chunk) => {
      for (const ev of deframer.push(chunk)) if (ev.kind === 'frame' && /MSA\|AA/.test(ev.bytes.toString('latin1'))) acks++;
      if (acks === COUNT) resolve();
    }),
  );
  for (let i = 0; i < COUNT; i++) {
    const text = TEMPLATE.replace('A01-UTF8-0001', `CRASH-${i}`).replace('250100421^', `${venueOf(i)}^`);
    socket.write(frame(Buffer.from(text, 'utf8')));
  }
  await done;
  socket.destroy();
}

let tmp: string;
const children: Child[] = [];
const gap = new Gap();
beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-answers-crash-'));
  await gap.start();
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    await c.exited;
  }
  await gap.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('after a SIGKILL, the messages processed again do not send the GAP a second answer with a new MSH-10', async () => {
  const file = path.join(tmp, 'journal.sqlite');
  // 1. First run: all admissions acknowledged; answers queued; a few completed, then the kill.
  const first = startChild(file, gap.port, 40);
  children.push(first);
  await sendAdmissions(await first.port);
  await until(() => first.lines.filter((l) => l.startsWith('ENQ ')).length === 2 * COUNT, 'every message answered (IDB, SIM)');
  await until(() => first.lines.filter((l) => l.startsWith('DONE ')).length >= 4, 'a few messages complete');
  first.proc.kill('SIGKILL');
  await first.exited;
  // What was not complete at the kill (from the journal: a DONE line may have been lost with the child).
  const probe = openSqliteJournal({ file, recoverSentOnOpen: false, retentionDays: 0 });
  const unfinished = new Set((await probe.pending()).map((p) => p.id));
  await probe.close();
  const answeredFirst = new Set(first.lines.filter((l) => l.startsWith('ENQ ')).map((l) => l.split(' ')[5]));
  expect(unfinished.size).toBeGreaterThan(0); // the kill caught answered-but-not-complete messages

  // 2. Restart: the messages not complete are handed out again and their answers rebuilt.
  const second = startChild(file, gap.port, 0);
  children.push(second);
  await second.port;
  const again = () => second.lines.filter((l) => l.startsWith('ENQ ')).map((l) => l.split(' '));
  await until(() => again().length === 2 * unfinished.size, 'the unfinished messages processed again');
  await until(() => second.lines.filter((l) => l.startsWith('DONE ')).length === unfinished.size, 'them complete');
  await until(() => new Set(gap.answers.map((a) => `${a.venue}|${a.service}`)).size === 2 * COUNT, 'two answers for every venue');
  // Every answer acknowledged in the journal (read beside the live child: it requeues nothing).
  const watcher = openSqliteJournal({ file, recoverSentOnOpen: false, retentionDays: 0 });
  try {
    const end = Date.now() + 30_000;
    while ((await watcher.browseOutbound({ states: ['QUEUED', 'SENT', 'ERROR'], limit: 1000 })).length > 0) {
      if (Date.now() > end) throw new Error('timed out waiting for every answer to be acknowledged');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await watcher.close();
  }
  second.proc.kill('SIGKILL');
  await second.exited;
  const j = openSqliteJournal({ file, recoverSentOnOpen: false, retentionDays: 0 });
  let outbound;
  let counts;
  try {
    outbound = await j.browseOutbound({ limit: 1000 });
    counts = await j.counts();
  } finally {
    await j.close();
  }

  // The GAP: exactly one MSH-10 per (message, service); each the MSH-10 of the first pass.
  const byVenue = new Map<string, Set<string>>();
  for (const a of gap.answers) {
    const key = `${a.venue}|${a.service}`;
    byVenue.set(key, (byVenue.get(key) ?? new Set()).add(a.controlId));
  }
  expect(byVenue.size).toBe(2 * COUNT);
  expect(new Set(gap.answers.map((a) => a.service))).toEqual(new Set(['IDB', 'SIM']));
  const twice = [...byVenue.entries()].filter(([, ids]) => ids.size !== 1).map(([v, ids]) => `${v}: ${[...ids].join(', ')}`);
  expect(twice).toEqual([]);
  expect(new Set([...byVenue.values()].map((s) => [...s][0]))).toEqual(answeredFirst);
  // The processed-again messages found their answer: none new, same answer id as the first pass.
  for (const p of again()) {
    expect(unfinished.has(Number(p[1]))).toBe(true);
    expect(p[4]).toBe('existing');
  }
  // One answer row per message, and every inbound message DONE exactly once.
  expect(outbound.map((r) => r.state)).toEqual(Array(2 * COUNT).fill('ACKED'));
  expect(counts.DONE).toBe(COUNT);
});
