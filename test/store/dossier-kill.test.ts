/**
 * Dossier saves across a real process kill: a child saves ROC dossier records (creations and
 * updates with optimistic concurrency) and prints each save as soon as it resolved; we SIGKILL it
 * mid-way, reopen the journal and check that every acknowledged save is there (that version or the
 * next one of the same venue, never an older one), with its columns and engagement index in step.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import { SqliteJournal } from '../../lib/store/sqlite';

jest.setTimeout(60_000);

// Plain JS child on the compiled library (global-setup builds dist/ before the tests run).
const CHILD = path.join(__dirname, 'dossier-save-child.js');
const BASE = Date.parse('2026-11-20T08:00:00Z');

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

/** Runs the child until `killAfter` saves are acknowledged, then SIGKILLs it; the last acknowledged version per key. */
function runUntil(
  file: string,
  sync: 'FULL' | 'NORMAL',
  killAfter: number,
): Promise<{ acked: Map<string, number>; count: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CHILD, file, sync], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const acked = new Map<string, number>();
    let count = 0;
    let partial = '';
    let stderr = '';
    let killed = false;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [key, v] = line.split(' ');
        acked.set(key, Math.max(acked.get(key) ?? 0, Number(v)));
        count++;
      }
      if (!killed && count >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      if (!killed) reject(new Error('the child ended before it was killed: ' + stderr.slice(0, 500)));
      else resolve({ acked, count, signal });
    });
  });
}

describe('dossier saves across SIGKILL', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'roc-dossier-kill-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const sync of ['FULL', 'NORMAL'] as const) {
    it(`synchronous=${sync}: every acknowledged save is in the journal after the kill`, async () => {
      const file = path.join(dir, 'journal.db');
      const { acked, count, signal } = await runUntil(file, sync, 1500);
      expect(signal).toBe('SIGKILL');
      expect(count).toBeGreaterThanOrEqual(1500);

      const raw = new Database(file);
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      raw.close();

      const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
      try {
        for (const [key, v] of acked) {
          const d = await j.loadDossier(key);
          expect(d && d.key).toBe(key);
          const stored = (Date.parse(d!.majLe) - BASE) / 1000;
          // that version, or the next one whose save was in flight at the kill
          expect([v, v + 1]).toContain(stored);
          if (stored === 3) expect((await j.dossierByEngagement(`ENG-${key.split('/').pop()}`))?.key).toBe(key);
        }
        // the columns agree with the records (one transaction per batch, nothing half-written)
        const counts = await j.countDossiersByState();
        let listed = 0;
        let after: string | undefined;
        do {
          const p = await j.listDossiers({ limit: 500, after });
          for (const s of p.items) {
            const d = (await j.loadDossier(s.key))!;
            expect(s.etat).toBe(d.etat);
            expect(s.engagements.map((e) => e.numero)).toEqual(d.engagements.map((e) => e.numero));
          }
          listed += p.items.length;
          after = p.next;
        } while (after);
        expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(listed);
        expect(listed).toBeGreaterThanOrEqual(acked.size);
      } finally {
        await j.close();
      }
    });
  }
});
