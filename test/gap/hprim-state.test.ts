/**
 * The HPRIM drop-directory watcher (lib/gap/hprim-watcher.ts) alone, on what mutation testing
 * (issue 12) found tested only through the Node-RED node: its configuration, the file-name
 * patterns, which files it takes and in what order, a file never processed twice (the state file:
 * duplicates, a crash between acknowledging and moving, a restart, an unreadable or torn state
 * line, the state limit and its compaction), names already taken in processed/, a drop directory
 * that disappears, and a file that cannot be acknowledged (disk problem) retried later, not refused.
 * Real temp directories, fast polls (50 ms), quiet period 0 unless said.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HprimDropWatcher, STATE_FILE, patternToRegExp, type FileOutcome, type WatcherOptions } from '../../lib/gap/hprim-watcher';

const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const ADM = fs.readFileSync(path.join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const SORTIE = fs.readFileSync(path.join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));

let dir: string;
let w: HprimDropWatcher | undefined;
let files: FileOutcome[];
let admissions: string[];
let problems: string[];
let waiting: number[];

const IN = () => path.join(dir, 'in');
const ls = (sub: string) =>
  fs.existsSync(path.join(dir, sub))
    ? fs
        .readdirSync(path.join(dir, sub))
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
const drop = (name: string, data: string | Buffer) => fs.writeFileSync(path.join(IN(), name), data);
const statePath = () => path.join(dir, 'processed', STATE_FILE);
const stateLines = () => fs.readFileSync(statePath(), 'utf8').split('\n').filter(Boolean);

async function start(options: Partial<WatcherOptions> = {}): Promise<HprimDropWatcher> {
  await w?.close();
  w = new HprimDropWatcher({
    inputDir: IN(),
    processedDir: path.join(dir, 'processed'),
    errorDir: path.join(dir, 'error'),
    ackDir: path.join(dir, 'ack'),
    intervalMs: 50,
    quietMs: 0,
    ...options,
  });
  w.on('file', (o) => files.push(o));
  w.on('admission', (o, i) => admissions.push(`${o.file}#${i}`));
  w.on('problem', (m) => problems.push(m));
  w.on('poll', (p) => waiting.push(p.waiting));
  await w.start();
  return w;
}

function polls(watcher: HprimDropWatcher, n: number): Promise<void> {
  return new Promise((resolve) => {
    let k = 0;
    const on = () => {
      if (++k >= n) {
        watcher.off('poll', on);
        resolve();
      }
    };
    watcher.on('poll', on);
  });
}

async function until(watcher: HprimDropWatcher, cond: () => boolean, max = 400): Promise<void> {
  for (let i = 0; i < max && !cond(); i++) await polls(watcher, 1);
  expect(cond()).toBe(true);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-hprim-state-'));
  fs.mkdirSync(IN());
  files = [];
  admissions = [];
  problems = [];
  waiting = [];
});

afterEach(async () => {
  jest.useRealTimers();
  await w?.close();
  w = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HPRIM watcher: configuration', () => {
  it('refuses a missing drop directory, and a processed, error or ack directory equal to it', () => {
    expect(() => new HprimDropWatcher({ inputDir: '' })).toThrow('HPRIM : répertoire de dépôt non configuré');
    for (const [key, what] of [
      ['processedDir', 'traités'],
      ['errorDir', 'en erreur'],
      ['ackDir', 'des acquittements'],
    ] as const)
      expect(() => new HprimDropWatcher({ inputDir: IN(), [key]: IN() + path.sep })).toThrow(
        `HPRIM : le répertoire ${what} doit être différent du répertoire de dépôt`,
      );
  });

  it('defaults: processed/, error/, ack/ inside the drop directory, a poll every 2 s (at least 50 ms), stable files', () => {
    const d = new HprimDropWatcher({ inputDir: path.join(IN(), '.') });
    expect([d.inputDir, d.processedDir, d.errorDir, d.ackDir]).toEqual([
      IN(),
      path.join(IN(), 'processed'),
      path.join(IN(), 'error'),
      path.join(IN(), 'ack'),
    ]);
    expect(d.intervalMs).toBe(2000);
    expect(d.completion).toBe('stable');
    expect(new HprimDropWatcher({ inputDir: IN(), intervalMs: 10 }).intervalMs).toBe(50);
    expect(new HprimDropWatcher({ inputDir: IN(), intervalMs: 700 }).intervalMs).toBe(700);
    expect(new HprimDropWatcher({ inputDir: IN(), completion: 'marker' }).completion).toBe('marker');
    expect(new HprimDropWatcher({ inputDir: IN(), completion: 'other' as 'stable' }).completion).toBe('stable');
    expect(new HprimDropWatcher({ inputDir: IN(), quietMs: -1 }).quietMs).toBe(5000);
  });
});

describe('HPRIM watcher: file-name patterns', () => {
  it('globs separated by commas, semicolons or spaces, case-insensitive, the whole name', () => {
    const re = patternToRegExp('*.hpr, *.xml;ADM?.txt  ');
    for (const name of ['ADM20260312A.HPR', 'x.hpr', 'evt.XML', 'ADM1.txt']) expect(re.test(name)).toBe(true);
    for (const name of ['x.hpr.tmp', 'xhpr', 'ADM12.txt', 'ADM.txt', 'a.hprx', 'notes.xml.bak']) expect(re.test(name)).toBe(false);
  });

  it('other characters are literal; no pattern takes every name', () => {
    const re = patternToRegExp('a+b(1).hpr');
    expect(re.test('a+b(1).hpr')).toBe(true);
    expect(re.test('aab1.hpr')).toBe(false);
    expect(re.test('a+b(1)xhpr')).toBe(false);
    expect(patternToRegExp(' , ').test('anything.at-all')).toBe(true);
    expect(patternToRegExp('$^').test('$^')).toBe(true);
  });

  it('takes only the matching regular files: not other names, not a .tmp being written, not a directory', async () => {
    const watcher = await start({ pattern: '*.hpr;*.tmp' });
    drop('notes.txt', 'rien');
    drop('ADM20260312A.hpr.tmp', ADM);
    fs.mkdirSync(path.join(IN(), 'sub.hpr'));
    drop('ADM20260312A.hpr', ADM);
    drop('ADM20260312A.hpr.ok', ''); // not ours to remove with the stable-file convention
    await until(watcher, () => files.length === 1);
    await polls(watcher, 3);
    expect(files.map((f) => f.file)).toEqual(['ADM20260312A.hpr']);
    expect(ls('in')).toEqual(['ADM20260312A.hpr.ok', 'ADM20260312A.hpr.tmp', 'notes.txt', 'sub.hpr']);
    expect(admissions).toEqual(['ADM20260312A.hpr#1', 'ADM20260312A.hpr#2']);
  });

  it('files are taken in the order they were written (modification time, then name)', async () => {
    const t = Date.now() / 1000;
    for (const [name, age] of [
      ['B.hpr', 60],
      ['C.hpr', 120],
      ['A.hpr', 60],
    ] as const) {
      drop(name, name === 'C.hpr' ? ADM : SORTIE);
      fs.utimesSync(path.join(IN(), name), t - age, t - age);
    }
    const watcher = await start();
    await until(watcher, () => files.length === 3);
    expect(files.map((f) => f.file)).toEqual(['C.hpr', 'A.hpr', 'B.hpr']);
    expect(files.map((f) => f.duplicate)).toEqual([false, false, true]); // B has A's bytes
  });

  it('counts the files waiting to be complete in each poll', async () => {
    const watcher = await start({ quietMs: 60_000 });
    drop('A.hpr', ADM);
    await polls(watcher, 2);
    expect(waiting[waiting.length - 1]).toBe(1);
    expect(files).toEqual([]);
  });
});

describe('HPRIM watcher: a file is never processed twice', () => {
  it('the same bytes again, under its name or another: moved aside without emission nor new acknowledgement', async () => {
    const watcher = await start();
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    expect(files[0]).toMatchObject({ ok: true, duplicate: false, ackFile: 'ADM20260312A.HPR.ACK', size: ADM.length });
    expect(files[0].movedTo).toBe(path.join(dir, 'processed', 'ADM20260312A.HPR'));
    expect(stateLines()).toHaveLength(1);
    expect(JSON.parse(stateLines()[0])).toMatchObject({
      name: 'ADM20260312A.HPR',
      size: ADM.length,
      outcome: 'ok',
      ack: 'ADM20260312A.HPR.ACK',
    });

    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 2);
    drop('ADM-renvoi.hpr', ADM);
    await until(watcher, () => files.length === 3);
    expect(files[1]).toMatchObject({ ok: true, duplicate: true, ackFile: 'ADM20260312A.HPR.ACK', sha256: files[0].sha256 });
    expect(files[1].movedTo).toMatch(/[/\\]processed[/\\]\d{8}T\d{9}Z-ADM20260312A\.HPR$/);
    expect(files[2]).toMatchObject({ duplicate: true, movedTo: path.join(dir, 'processed', 'ADM-renvoi.hpr') });
    expect(admissions).toHaveLength(2);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
    expect(stateLines()).toHaveLength(1);
  });

  it('a refused file dropped again goes to error/ again, answered once', async () => {
    const watcher = await start();
    drop('scan.hpr', 'pas du HPRIM');
    await until(watcher, () => files.length === 1);
    drop('scan.hpr', 'pas du HPRIM');
    await until(watcher, () => files.length === 2);
    expect(files[1]).toMatchObject({ ok: false, duplicate: true, ackFile: 'scan.hpr.ERR' });
    expect(ls('error')).toHaveLength(2);
    expect(ls('processed')).toEqual([]);
    expect(ls('ack')).toEqual(['scan.hpr.ERR']);
    expect(JSON.parse(stateLines()[0])).toMatchObject({ outcome: 'error' });
  });

  it('after a restart: a file left in place by a crash after the state line is moved without emission; a changed file is new', async () => {
    let watcher = await start();
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    await watcher.close();
    fs.renameSync(path.join(dir, 'processed', 'ADM20260312A.HPR'), path.join(IN(), 'ADM20260312A.HPR'));
    files = [];
    admissions = [];
    watcher = await start();
    drop('ADM20260315B.hpr', SORTIE);
    await until(watcher, () => files.length === 2);
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['ADM20260312A.HPR']).toMatchObject({ duplicate: true });
    expect(by['ADM20260315B.hpr']).toMatchObject({ duplicate: false, ok: true });
    expect(admissions).toEqual(['ADM20260315B.hpr#1']);
    expect(ls('processed')).toEqual(['ADM20260312A.HPR', 'ADM20260315B.hpr']);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK', 'ADM20260315B.hpr.ACK']);
    expect(stateLines()).toHaveLength(2);
  });

  it('a name taken twice in processed/ gets the timestamp, then -2', async () => {
    jest.useFakeTimers({
      now: new Date('2026-12-06T10:00:00.000Z'),
      doNotFake: [
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
        'setImmediate',
        'clearImmediate',
        'nextTick',
        'queueMicrotask',
        'hrtime',
        'performance',
      ],
    });
    fs.mkdirSync(path.join(dir, 'processed'));
    fs.writeFileSync(path.join(dir, 'processed', 'X.hpr'), 'older');
    fs.writeFileSync(path.join(dir, 'processed', '20261206T100000000Z-X.hpr'), 'older still');
    const watcher = await start();
    drop('X.hpr', ADM);
    await until(watcher, () => files.length === 1);
    expect(files[0].movedTo).toBe(path.join(dir, 'processed', '20261206T100000000Z-2-X.hpr'));
    expect(ls('ack')).toEqual(['X.hpr.ACK']);
  });

  it('a state file with an unreadable line: a copy set aside, the problem said once, the good lines still known, compacted', async () => {
    let watcher = await start();
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    await watcher.close();
    fs.writeFileSync(statePath(), '{"name":"x","si\n[]\n' + fs.readFileSync(statePath(), 'utf8'));
    files = [];
    watcher = await start();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^HPRIM : fichier d'état illisible \(2 ligne\(s\)\), copie mise de côté \(\.roc-hprim-in\.state\.jsonl\.\d{8}T\d{9}Z\.corrupt\) ; les fichiers de ces lignes ne seront plus reconnus$/,
    );
    expect(fs.readdirSync(path.join(dir, 'processed')).filter((f) => f.endsWith('.corrupt'))).toHaveLength(1);
    expect(stateLines()).toHaveLength(1); // compacted: the good line only
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    expect(files[0].duplicate).toBe(true);
  });

  it('a torn last line (a crash during the append) is dropped silently and compacted away', async () => {
    fs.mkdirSync(path.join(dir, 'processed'));
    const good = JSON.stringify({ name: 'S.hpr', size: SORTIE.length, sha256: 'f'.repeat(64), outcome: 'ok', at: '2026-12-01T00:00:00Z' });
    fs.writeFileSync(statePath(), `${good}\n{"name":"ADM20260312A.HPR","size":12`);
    const watcher = await start();
    expect(problems).toEqual([]);
    expect(stateLines()).toEqual([good]);
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    expect(files[0]).toMatchObject({ duplicate: false, ok: true });
  });

  it('a line without the sha256 or the size is unreadable too', async () => {
    fs.mkdirSync(path.join(dir, 'processed'));
    fs.writeFileSync(statePath(), '{"name":"a","size":1}\n{"name":"b","sha256":"00"}\nnull\n');
    await start();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("fichier d'état illisible (3 ligne(s))");
    expect(fs.readFileSync(statePath(), 'utf8')).toBe('');
  });

  it('stateLimit: the oldest entries are forgotten, the state file compacted past twice the limit', async () => {
    const watcher = await start({ stateLimit: 1 });
    drop('A.hpr', ADM);
    await until(watcher, () => files.length === 1);
    drop('B.hpr', SORTIE);
    await until(watcher, () => files.length === 2);
    expect(stateLines()).toHaveLength(2);
    drop('C.hpr', 'pas du HPRIM');
    await until(watcher, () => files.length === 3);
    expect(stateLines().map((l) => JSON.parse(l).name)).toEqual(['C.hpr']); // 3 lines > 2 × 1: compacted
    // A was forgotten (only the newest entry is kept): read and acknowledged again
    drop('A.hpr', ADM);
    await until(watcher, () => files.length === 4);
    expect(files[3]).toMatchObject({ duplicate: false, ok: true });
    await watcher.close();
    // a restart with more lines than the limit keeps the newest
    files = [];
    const again = await start({ stateLimit: 1 });
    expect(stateLines().map((l) => JSON.parse(l).name)).toEqual(['A.hpr']);
    drop('C.hpr', 'pas du HPRIM');
    await until(again, () => files.length === 1);
    expect(files[0].duplicate).toBe(false);
  });
});

describe('HPRIM watcher: the disk', () => {
  it('a drop directory that disappears is said once (with its code), polls go on, files are read when it is back', async () => {
    const watcher = await start();
    await polls(watcher, 1);
    fs.rmSync(IN(), { recursive: true });
    await until(watcher, () => problems.length === 1);
    await polls(watcher, 3);
    expect(problems).toEqual(['HPRIM : relevé du répertoire de dépôt impossible (ENOENT), nouvel essai à chaque relevé']);
    expect(waiting[waiting.length - 1]).toBe(0);
    fs.mkdirSync(IN());
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => files.length === 1);
    // gone again: said again (a poll succeeded in between)
    fs.rmSync(IN(), { recursive: true });
    await until(watcher, () => problems.length === 2);
  });

  it('a file that cannot be acknowledged is not refused: the problem is said, the file stays, retried later (not at every poll)', async () => {
    const watcher = await start();
    await polls(watcher, 1);
    fs.rmSync(path.join(dir, 'ack'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ack'), 'not a directory');
    drop('ADM20260312A.HPR', ADM);
    await until(watcher, () => problems.length === 1);
    expect(problems[0]).toMatch(
      /^HPRIM : ADM20260312A\.HPR non traité, nouvel essai plus tard \(ENOTDIR sur ADM20260312A\.HPR\.ACK\.\d+\.tmp\)$/,
    );
    await polls(watcher, 5);
    expect(problems).toHaveLength(1); // not retried at every poll
    expect(files).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    expect(ls('error')).toEqual([]);
    // the disk repaired, a restart takes it
    fs.rmSync(path.join(dir, 'ack'));
    await watcher.close();
    const again = await start();
    await until(again, () => files.length === 1);
    expect(files[0]).toMatchObject({ ok: true, ackFile: 'ADM20260312A.HPR.ACK' });
  });

  it('marker convention: the marker is removed with the file, also for a duplicate', async () => {
    const watcher = await start({ completion: 'marker', pattern: '*' });
    drop('A.hpr', ADM);
    drop('A.hpr.ok', '');
    await until(watcher, () => files.length === 1);
    drop('B.hpr', ADM);
    drop('B.hpr.ok', '');
    await until(watcher, () => files.length === 2);
    expect(files[1].duplicate).toBe(true);
    expect(ls('in')).toEqual([]);
    expect(ls('processed')).toEqual(['A.hpr', 'B.hpr']);
  });

  it('start() twice polls once per interval, not twice', async () => {
    const watcher = await start({ intervalMs: 100 });
    await watcher.start();
    const from = waiting.length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(waiting.length - from).toBeLessThanOrEqual(13); // about 10; a second polling loop would double it
  });

  it('close() during a poll waits for it; start() twice starts once', async () => {
    const watcher = await start();
    await watcher.start();
    drop('A.hpr', ADM);
    await until(watcher, () => files.length === 1);
    await watcher.close();
    drop('B.hpr', SORTIE);
    await new Promise((r) => setTimeout(r, 200));
    expect(files).toHaveLength(1);
    expect(ls('in')).toEqual(['B.hpr']);
  });
});
