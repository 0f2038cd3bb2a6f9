/**
 * Durability across a real process kill: a child appends messages and prints each id as soon as
 * its append resolved (the moment the listener would send the ACK); we SIGKILL it mid-way, reopen
 * the database and check that every acknowledged message is there, intact, and the file is sound.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import { SqliteJournal } from '../../lib/store/sqlite';
import { VenueDispatcher } from '../../lib/store/dispatcher';

// Plain JS child on the compiled library (global-setup builds dist/ before the tests run).
const CHILD = path.join(__dirname, 'append-child.js');

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

function runUntil(
  file: string,
  sync: 'FULL' | 'NORMAL',
  killAfter: number,
): Promise<{ acked: Map<number, string>; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, file, sync, '10000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const acked = new Map<number, string>();
    let partial = '';
    let stderr = '';
    let killed = false;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [id, controlId] = line.split(' ');
        acked.set(Number(id), controlId);
      }
      if (!killed && acked.size >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (!killed) reject(new Error('the child ended before it was killed: ' + stderr.slice(0, 500)));
      else resolve({ acked, signal });
    });
  });
}

describe('journal durability across SIGKILL', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'roc-store-kill-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const sync of ['FULL', 'NORMAL'] as const) {
    it(`synchronous=${sync}: every message whose append resolved before the kill is in the journal, intact`, async () => {
      const file = path.join(dir, 'journal.db');
      const { acked, signal } = await runUntil(file, sync, 3000);
      expect(signal).toBe('SIGKILL');
      expect(acked.size).toBeGreaterThanOrEqual(3000);

      // The file is sound after the kill (WAL recovered on open).
      const raw = new Database(file);
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      const rows = raw
        .prepare('SELECT id, control_id, okey, state, size, length(raw) AS len, instr(raw, control_id) AS at FROM inbound ORDER BY id')
        .all() as Array<{
        id: number;
        control_id: string;
        okey: string;
        state: string;
        size: number;
        len: number;
        at: number;
      }>;
      raw.close();
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [id, controlId] of acked) {
        const row = byId.get(id);
        expect(row && row.control_id).toBe(controlId);
      }
      // Every stored row is whole: metadata and raw bytes agree, ids have no holes (batches are atomic).
      rows.forEach((r, i) => {
        expect(r.id).toBe(i + 1);
        expect(r.state).toBe('RECEIVED');
        expect(r.len).toBe(r.size);
        expect(r.at).toBeGreaterThan(0);
      });
      expect(rows.length).toBeGreaterThanOrEqual(acked.size);

      // Reopened, the journal resumes all of them (acknowledged, not processed), in id order.
      const journal = new SqliteJournal({ file });
      const dispatcher = new VenueDispatcher(journal);
      const { resumed } = await dispatcher.load();
      expect(resumed).toBe(rows.length);
      const first = await dispatcher.next(100);
      expect(first.map((m) => m.id)).toEqual(rows.slice(0, 40).map((r) => r.id)); // 40 venues: one each
      await journal.close();
    });
  }
});
