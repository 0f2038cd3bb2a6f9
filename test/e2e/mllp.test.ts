/**
 * End to end, GAP side: the runtime started as `npm start` starts it (tab "GAP HL7 (MLLP)" of the
 * shipped flow, embedded AMC simulator), fed by the GAP simulator over MLLP.
 *
 * 1. A small day: every message acknowledged AA with MSA-2 = MSH-10, every message processed
 *    (journal DONE / IGNORED), every admission went through the online chain (annuaire, then IDB
 *    when the AMC is in ROC), as recorded in the journal's service exchanges.
 * 2. Crash: SIGKILL while thousands of messages stream, restart on the same journal, the GAP
 *    simulator resends what was not acknowledged; every control id ends stored and processed once,
 *    resends are recognised as duplicates, nothing acknowledged is lost.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { GapSimulator } from '../../simulator/gap';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, processOutput } from '../support/patient-data';

/** The patient identifiers of what the GAP simulator sent. */
const patientsOf = (messages: Parameters<typeof encodeGapMessage>[0][]) =>
  mergeIdentifiers(...messages.map((msg) => identifiersFromHl7(decodeFrame(encodeGapMessage(msg)).text)));

jest.setTimeout(240000);

const ADMISSIONS = new Set(['ADT^A01', 'ADT^A04', 'ADT^A05']);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function mllpPortOf(rt: StartedRuntime): number {
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  if (!m) throw new Error(`no MLLP port printed:\n${rt.output()}`);
  return Number(m[1]);
}

function query<T = any>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** Waits until nothing is left RECEIVED or PROCESSING in the journal. */
async function drained(file: string, timeoutMs = 120000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [{ n }] = query<{ n: number }>(
      file,
      "SELECT count(*) AS n FROM inbound WHERE state IN ('RECEIVED', 'PROCESSING', 'HELD', 'FAILED')",
    );
    if (n === 0) return;
    if (Date.now() > until) throw new Error(`${n} messages still not processed`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let dir: string;
let rt: StartedRuntime | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-mllp-e2e-'));
});

afterEach(async () => {
  if (rt) await rt.stop();
  rt = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const envFor = (port: number | string) => ({ ROC_MLLP_PORT: String(port), ROC_USER_DIR: dir, ROC_DEV_CERT_DIR: path.join(dir, 'certs') });

it('a day of admissions: every message acknowledged with MSA-2 = MSH-10 (original and enhanced mode), processed, admissions through annuaire → IDB', async () => {
  rt = await startRuntimeProcess(envFor(0), 60000);
  const port = mllpPortOf(rt);
  const journal = path.join(dir, 'roc-journal.sqlite');
  const sim = new GapSimulator({ port, connections: 2, window: 4, quirks: { newlineAfterFrame: true, oneByteEvery: 50 } });
  const messages = [...gapDay({ messages: 240, venues: 12, seed: 11 })];
  const stats = await sim.run(messages);
  expect(stats.acked).toBe(messages.length);
  expect(stats.byCode).toEqual({ AA: messages.length });
  expect(stats.unmatchedAcks).toBe(0);
  // the simulator matched each ACK by MSA-2: every control id it sent got its own
  expect(
    sim
      .journal()
      .map((e) => e.controlId)
      .sort(),
  ).toEqual(messages.map((m) => m.controlId).sort());

  // a GAP asking for enhanced acknowledgements (MSH-15/16 = AL): CA, then AA
  const enhanced = [...gapDay({ messages: 40, venues: 4, seed: 12, ackMode: 'enhanced', controlIdPrefix: 'ENH' })];
  const sim2 = new GapSimulator({ port, connections: 1, window: 4 });
  const stats2 = await sim2.run(enhanced);
  expect(stats2.byCode).toEqual({ CA: enhanced.length });
  // the simulator's run() settles on the last CA; the AA that follows it is recorded in its journal
  await new Promise((r) => setTimeout(r, 300));
  expect(sim2.journal().map((e) => e.applicationAck)).toEqual(enhanced.map(() => 'AA'));
  expect(stats2.unmatchedAcks).toBe(0);

  await drained(journal);
  const all = [...messages, ...enhanced];
  const rows = query<{ control_id: string; event: string; state: string; okey: string }>(
    journal,
    'SELECT control_id, event, state, okey FROM inbound ORDER BY id',
  );
  expect(rows).toHaveLength(all.length);
  expect(rows.map((r) => r.control_id).sort()).toEqual(all.map((m) => m.controlId).sort());
  for (const r of rows) expect(['DONE', 'IGNORED']).toContain(r.state);

  // every admitted venue (all carry an AMC) asked the directory once — its dossier keeps the rights:
  // the A01 after an A05 of the same venue asks nothing more — and those whose AMC is in ROC asked IDB
  const admitted = new Set(rows.filter((r) => ADMISSIONS.has(r.event)).map((r) => r.okey));
  expect(admitted.size).toBeGreaterThan(10);
  const asked = new Set(
    query<{ okey: string }>(journal, "SELECT DISTINCT okey FROM exchanges WHERE service = 'ANNUAIRE'").map((r) => r.okey),
  );
  expect([...admitted].filter((k) => !asked.has(k))).toEqual([]);
  const admissions = rows.filter((r) => ADMISSIONS.has(r.event)).length;
  const ex = query<{ service: string; outcome: string; n: number }>(
    journal,
    'SELECT service, outcome, count(*) AS n FROM exchanges GROUP BY 1, 2',
  );
  const count = (service: string, outcome?: string) =>
    ex.filter((e) => e.service === service && (!outcome || e.outcome === outcome)).reduce((s, e) => s + e.n, 0);
  expect(count('ANNUAIRE')).toBeGreaterThanOrEqual(admitted.size);
  expect(count('ANNUAIRE')).toBeLessThanOrEqual(admissions);
  expect(count('IDB')).toBe(count('ANNUAIRE', 'OK'));
  expect(count('IDB', 'OK')).toBeGreaterThan(0);
  expect(query(journal, 'SELECT * FROM held_keys')).toEqual([]);
  expectNoPatientData(processOutput(rt!), patientsOf(all));
});

it('SIGKILL while the GAP streams: nothing acknowledged is lost, the rest is resent, each control id processed once', async () => {
  const port = await freePort();
  const journal = path.join(dir, 'roc-journal.sqlite');
  rt = await startRuntimeProcess(envFor(port), 60000);
  expect(mllpPortOf(rt)).toBe(port);
  const total = 3000;
  const messages = [...gapDay({ messages: total, venues: 40, seed: 2027, controlIdPrefix: 'CRASH' })];
  const sim = new GapSimulator({ port, connections: 4, window: 16, ackTimeoutMs: 3000, reconnectDelayMs: 100, maxAttempts: 1000 });
  const run = sim.run(messages);

  // kill in the middle of the stream
  const until = Date.now() + 60000;
  while (sim.stats().acked < 1000) {
    if (Date.now() > until) throw new Error('the stream did not start');
    await new Promise((r) => setTimeout(r, 5));
  }
  const killed = new Promise((r) => rt!.proc.once('exit', r));
  rt.proc.kill('SIGKILL');
  await killed;
  const ackedBeforeKill = sim
    .journal()
    .filter((e) => e.ack)
    .map((e) => e.controlId);
  const unackedAtKill = new Set(
    sim
      .journal()
      .filter((e) => !e.ack)
      .map((e) => e.controlId),
  );
  expect(ackedBeforeKill.length).toBeGreaterThanOrEqual(1000);
  expect(ackedBeforeKill.length).toBeLessThan(total);

  // durability: every acknowledged message is in the journal file the killed process left
  const storedAfterKill = new Set(
    query<{ control_id: string }>(journal, "SELECT control_id FROM inbound WHERE state <> 'DUPLICATE'").map((r) => r.control_id),
  );
  for (const id of ackedBeforeKill) expect(storedAfterKill.has(id)).toBe(true);

  // restart on the same journal and port; the simulator reconnects and resends
  await rt.stop(); // already dead: only removes its scratch directory
  rt = await startRuntimeProcess(envFor(port), 60000);
  const stats = await run;
  expect(stats.acked).toBe(total);
  expect(stats.abandoned).toBe(0);
  expect(stats.byCode).toEqual({ AA: total });

  await drained(journal, 180000);
  const rows = query<{ control_id: string; state: string; attempts: number }>(journal, 'SELECT control_id, state, attempts FROM inbound');
  const processed = new Map<string, number>();
  let duplicates = 0;
  let rerun = 0;
  for (const r of rows) {
    if (r.state === 'DUPLICATE') {
      duplicates++;
      continue;
    }
    expect(['DONE', 'IGNORED']).toContain(r.state);
    processed.set(r.control_id, (processed.get(r.control_id) ?? 0) + 1);
    if (r.attempts > 1) rerun++;
  }
  // exactly one processed row per control id, for all of them
  expect(processed.size).toBe(total);
  for (const m of messages) expect(processed.get(m.controlId)).toBe(1);
  // every message not acknowledged at the kill was sent again (and stored once, above)
  const entries = new Map(sim.journal().map((e) => [e.controlId, e]));
  for (const id of unackedAtKill) expect(entries.get(id)!.ack).toBe('AA');
  const resent = [...unackedAtKill].filter((id) => entries.get(id)!.resentAfterDrop > 0);
  expect(resent.length).toBeGreaterThan(0);
  // a resent message that had been committed before the kill is a duplicate, not a second processing
  expect(duplicates).toBeLessThanOrEqual(resent.length);
  // messages interrupted in processing by the kill were processed again from the journal (at most once more)
  expect(rerun).toBeLessThanOrEqual(100);
  expect(rows.filter((r) => r.attempts > 2)).toEqual([]);
  expectNoPatientData(processOutput(rt!), patientsOf(messages));
});
