/**
 * The GAP tab marks a message done once its answer is queued — not before (a crash in between would
 * leave a message DONE and never answered), and not only once the GAP has acknowledged the answer
 * (its answer receiver being down would then hold every venue at the processing timeout).
 *
 * The runtime as `npm start` starts it, the GAP's answer receiver DOWN (a closed port): the GAP
 * simulator streams a small day; every inbound message ends processed (DONE / IGNORED), none waits
 * in PROCESSING, while the answers stay queued in the journal for when the receiver comes back.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { GapSimulator } from '../../simulator/gap';
import { gapDay } from '../../simulator/gap-day';

jest.setTimeout(180000);

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function query<T = any>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

let dir: string;
let rt: StartedRuntime | undefined;

afterAll(async () => {
  if (rt) await rt.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('with the GAP’s answer receiver down, every message is still processed and its answer waits in the queue', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-gap-feedback-'));
  const flowFile = path.join(dir, 'roc-bridge.json');
  fs.copyFileSync(path.resolve(__dirname, '..', '..', 'flows', 'roc-bridge.json'), flowFile);
  rt = await startRuntimeProcess(
    {
      ROC_FLOW_FILE: flowFile,
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(await closedPort()),
      ROC_USER_DIR: dir,
      ROC_DEV_CERT_DIR: path.join(dir, 'certs'),
      ROC_ANNUAIRE_URL: '',
    },
    120000,
  );
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  expect(m).not.toBeNull();
  const journal = path.join(dir, 'roc-journal.sqlite');

  const messages = [...gapDay({ messages: 40, venues: 6, seed: 8 })];
  const stats = await new GapSimulator({ port: Number(m![1]), connections: 1, window: 4 }).run(messages);
  expect(stats.byCode).toEqual({ AA: messages.length });

  // well within the listener's processing timeout (300 s): a message waiting for the answer's ACK would still be PROCESSING
  const end = Date.now() + 60000;
  let open = -1;
  while (Date.now() < end) {
    open = query<{ n: number }>(journal, "SELECT count(*) AS n FROM inbound WHERE state IN ('RECEIVED','PROCESSING','HELD','FAILED')")[0].n;
    if (open === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(open).toBe(0);
  const states = query<{ state: string; n: number }>(journal, 'SELECT state, count(*) AS n FROM inbound GROUP BY state');
  expect(states.reduce((s, r) => s + r.n, 0)).toBe(messages.length);
  // the answers: queued (never sent: nobody listens), one per online outcome, none lost
  const outbound = query<{ state: string; n: number }>(journal, 'SELECT state, count(*) AS n FROM outbound GROUP BY state');
  expect(outbound.length).toBeGreaterThan(0);
  expect(outbound.every((r) => r.state === 'QUEUED')).toBe(true);
  const answered = query<{ n: number }>(journal, 'SELECT count(DISTINCT inbound_id) AS n FROM outbound')[0].n;
  expect(answered).toBeGreaterThan(3);
});
