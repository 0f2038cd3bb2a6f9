/**
 * End to end, the whole GAP round trip with `npm start`: the GAP simulator streams a day of
 * admissions over MLLP, every message is acknowledged, each admission with an AMC goes through
 * the online chain against the AMC simulator, and the GAP receives the bridge's answers (HL7 with
 * the ZRC segment) on its own MLLP listener — one per online result, in per-venue order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { GapAnswerListener, GapSimulator } from '../../simulator/gap';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, processOutput } from '../support/patient-data';

jest.setTimeout(180000);

function query<T = any>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 120000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

let dir: string;
let rt: StartedRuntime | undefined;
let listener: GapAnswerListener | undefined;

afterEach(async () => {
  if (rt) await rt.stop();
  if (listener) await listener.stop();
  rt = undefined;
  listener = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

it('the GAP streams a day, every message is acknowledged, admissions go through the online chain and the GAP receives the answers', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-gap-answers-'));
  listener = new GapAnswerListener();
  const { port: answerPort } = await listener.start();
  rt = await startRuntimeProcess(
    { ROC_MLLP_PORT: '0', ROC_GAP_ANSWER_PORT: String(answerPort), ROC_USER_DIR: dir, ROC_DEV_CERT_DIR: path.join(dir, 'certs') },
    60000,
  );
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  expect(m).not.toBeNull();
  const journal = path.join(dir, 'roc-journal.sqlite');

  const messages = [...gapDay({ messages: 150, venues: 10, seed: 31 })];
  const sim = new GapSimulator({ port: Number(m![1]), connections: 2, window: 4 });
  const stats = await sim.run(messages);
  expect(stats.byCode).toEqual({ AA: messages.length });
  expect(stats.unmatchedAcks).toBe(0);

  // every inbound message processed; every answer the bridge queued was delivered and acknowledged
  await until(
    'inbound processed',
    () =>
      query<{ n: number }>(journal, "SELECT count(*) AS n FROM inbound WHERE state IN ('RECEIVED','PROCESSING','HELD','FAILED')")[0].n ===
      0,
  );
  await until('answers acknowledged', () => {
    const rows = query<{ state: string; n: number }>(journal, 'SELECT state, count(*) AS n FROM outbound GROUP BY state');
    return rows.length > 0 && rows.every((r) => r.state === 'ACKED');
  });
  const outbound = query<{ n: number }>(journal, 'SELECT count(*) AS n FROM outbound')[0].n;
  await until('answers received', () => listener!.received.length >= outbound);

  // one answer per online outcome: IDB results, plus directory KOs (AMC unknown / not in ROC)
  const ex = query<{ service: string; outcome: string; n: number }>(
    journal,
    'SELECT service, outcome, count(*) AS n FROM exchanges GROUP BY 1, 2',
  );
  const count = (service: string, outcome?: string) =>
    ex.filter((e) => e.service === service && (!outcome || e.outcome === outcome)).reduce((s, e) => s + e.n, 0);
  expect(count('IDB')).toBeGreaterThan(5);
  expect(outbound).toBe(count('IDB') + count('DEL') + count('CLC') + (count('ANNUAIRE') - count('ANNUAIRE', 'OK')));
  expect(listener.received.length).toBe(outbound);
  // the answers carry the ROC result segment, rights OK and KO both present in a day
  const texts = listener.received.map((r) => r.text);
  expect(texts.every((t) => /(^|\r)ZRC\|/.test(t))).toBe(true);
  expect(texts.some((t) => /ZRC\|[^\r]*\|OK\|/.test(t))).toBe(true);
  // the answers to the GAP carry the patient (they are for the GAP); the bridge's own log does not
  expectNoPatientData(
    processOutput(rt),
    mergeIdentifiers(...messages.map((msg) => identifiersFromHl7(decodeFrame(encodeGapMessage(msg)).text))),
  );
});
