/**
 * DRE-ES numbering across a real process kill: a child writes numbered files (the journal allocates
 * the number in the transaction that records the file) and "sends" them to a drop directory; we
 * SIGKILL it at several points, between writing and sending included. After each kill: per AMC the
 * numbers are 1..N with no gap and no repeat, every file the child announced is there with its own
 * number in its bytes; the files left WRITTEN are sent by the recovery under the same name (the drop
 * directory holds each number once: nothing sent twice), and the next file takes N + 1.
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SqliteJournal } from '../../lib/store/sqlite';

jest.setTimeout(90_000);

const CHILD = path.join(__dirname, 'billing-file-child.js');
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

/** Runs the child until `killAfter` lines (W or S) were printed, then SIGKILLs it. */
function runUntil(
  file: string,
  drop: string,
  round: number,
  killAfter: number,
  killOn: 'W' | 'S',
): Promise<{ written: Set<string>; sent: Set<string> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file, drop, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const written = new Set<string>();
    const sent = new Set<string>();
    let partial = '';
    let stderr = '';
    let killed = false;
    let count = 0;
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [kind, amc, numero] = line.split(' ');
        (kind === 'W' ? written : sent).add(`${amc}/${numero}`);
        count++;
        // kill right after a W line: the file is written and not yet sent
        if (!killed && count >= killAfter && kind === killOn) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', () =>
      killed ? resolve({ written, sent }) : reject(new Error('the child ended by itself: ' + stderr.slice(0, 500))),
    );
  });
}

/** What the roc-dre-es node does at start: send again each file left WRITTEN, under its name. */
async function recover(j: SqliteJournal, drop: string): Promise<number> {
  const left = await j.listBillingFiles({ states: ['WRITTEN'] });
  for (const f of left) {
    const full = (await j.getBillingFile(f.id, { bytes: true }))!;
    const tmp = path.join(drop, `.${full.name}.tmp`);
    writeFileSync(tmp, full.bytes!);
    renameSync(tmp, path.join(drop, full.name));
    await j.markBillingFileSent(f.id);
  }
  return left.length;
}

it('no gap, no repeat, nothing sent twice across SIGKILLs between writing and sending', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roc-billing-kill-'));
  const drop = path.join(dir, 'drop');
  mkdirSync(drop);
  const file = path.join(dir, 'journal.sqlite');
  try {
    let recovered = 0;
    const announced = new Set<string>();
    for (const [round, killOn] of [
      [1, 'W'],
      [2, 'S'],
      [3, 'W'],
    ] as const) {
      const { written } = await runUntil(file, drop, round, 150 * round, killOn);
      for (const w of written) announced.add(w);
      const j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
      try {
        const files = await j.listBillingFiles({ limit: 10_000 });
        const byAmc = new Map<string, number[]>();
        for (const f of files) byAmc.set(f.amc, [...(byAmc.get(f.amc) ?? []), f.numero]);
        for (const [, nums] of byAmc) {
          const sorted = [...nums].sort((a, b) => a - b);
          expect(sorted).toEqual(sorted.map((_, i) => i + 1)); // 1..N: no gap, no repeat
        }
        for (const a of announced) {
          const [amc, numero] = a.split('/');
          const f = files.find((x) => x.amc === amc && x.numero === Number(numero));
          expect(f).toBeDefined();
          const bytes = (await j.getBillingFile(f!.id, { bytes: true }))!.bytes!.toString();
          expect(bytes.slice(29, 37)).toBe(numero.padStart(8, '0'));
        }
        // each file in a file row carries exactly one invoice, written in it
        for (const f of files) {
          const invs = (await j.listInvoiceBilling({ amc: f.amc })).filter((i) => i.fileId === f.id);
          expect(invs).toHaveLength(1);
        }
        recovered += await recover(j, drop);
        expect(await j.listBillingFiles({ states: ['WRITTEN'] })).toEqual([]);
        const names = readdirSync(drop).filter((n) => !n.startsWith('.'));
        expect(names.length).toBe(files.length); // one file per number, never two
        for (const n of names) expect(readFileSync(path.join(drop, n), 'utf8').slice(29, 37)).toBe(n.slice(-12, -4));
      } finally {
        await j.close();
      }
    }
    expect(recovered).toBeGreaterThanOrEqual(2); // the W kills left a written, unsent file behind
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
