/**
 * The HPRIM drop-directory watcher (lib/gap/hprim-watcher.ts), what mutation testing left open in
 * its first half: the default pattern and options (0 means the default), the acknowledgement's
 * application code, names taken in processed/ (timestamp, -2, -3), a move across file systems
 * (EXDEV: copy then remove), file handles closed, the state file at start (a clean file left as
 * it is, a CRLF blank line, a torn tail that parses, a bad line before a torn tail, compaction
 * past twice the limit), close() from inside a poll, and the bookkeeping of files that disappear
 * (quiet period, retry delay, deferred notice start again).
 * Real temp directories; the watcher is started with an interval of an hour and polled by hand
 * (`poll()`), the clock set with jest's fake Date where the quiet period matters.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HprimDropWatcher, STATE_FILE, type FileOutcome, type WatcherOptions } from '../../lib/gap/hprim-watcher';

const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const ADM = fs.readFileSync(path.join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const SORTIE = fs.readFileSync(path.join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
const VENUE_XML = fs.readFileSync(path.join(FIX, 'hprimxml-own-venue-debiteurs.xml'));
const MOUVEMENT_XML = fs.readFileSync(path.join(FIX, 'hprimxml-own-mouvement-8859-15.xml'));
/** Only Date is faked (set at `now`): fs, promises and the watcher's (hour-long) timer run for real. */
function fakeDate(now: number): void {
  jest.useFakeTimers({
    now,
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
}
const T0 = new Date('2026-12-06T10:00:00.000Z').getTime();

let dir: string;
let w: HprimDropWatcher | undefined;
let files: FileOutcome[];
let admissions: string[];
let problems: string[];
let waiting: number[];
let deferred: { file: string; codes: string[] }[];

const IN = () => path.join(dir, 'in');
const sub = (s: string) => path.join(dir, s);
const ls = (s: string) =>
  fs.existsSync(sub(s))
    ? fs
        .readdirSync(sub(s))
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
const drop = (name: string, data: string | Buffer) => fs.writeFileSync(path.join(IN(), name), data);
const statePath = () => path.join(dir, 'processed', STATE_FILE);
const stateLines = () => fs.readFileSync(statePath(), 'utf8').split('\n').filter(Boolean);
const entry = (name: string, sha: string, size: number) =>
  JSON.stringify({ name, size, sha256: sha.repeat(64), outcome: 'ok', ack: `${name}.ACK`, at: '2026-12-01T08:00:00.000Z' });

/** Started with an interval of an hour: after the first (automatic) poll, the test polls by hand. */
async function open(options: Partial<WatcherOptions> = {}): Promise<HprimDropWatcher> {
  await w?.close();
  const watcher = new HprimDropWatcher({
    inputDir: IN(),
    processedDir: sub('processed'),
    errorDir: sub('error'),
    ackDir: sub('ack'),
    intervalMs: 3_600_000,
    quietMs: 0,
    ...options,
  });
  w = watcher;
  watcher.on('file', (o) => files.push(o));
  watcher.on('admission', (o, i) => admissions.push(`${o.file}#${i}`));
  watcher.on('problem', (m) => problems.push(m));
  watcher.on('poll', (p) => waiting.push(p.waiting));
  watcher.on('deferred', (d) => deferred.push(d));
  const first = new Promise((resolve) => watcher.once('poll', resolve));
  await watcher.start();
  await first;
  return watcher;
}

/** Two polls: a stable file (quiet period 0) is taken at the second. */
async function take(watcher: HprimDropWatcher): Promise<void> {
  await watcher.poll();
  await watcher.poll();
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-hprim-surv-a-'));
  fs.mkdirSync(IN());
  files = [];
  admissions = [];
  problems = [];
  waiting = [];
  deferred = [];
});

afterEach(async () => {
  jest.restoreAllMocks();
  jest.useRealTimers();
  await w?.close();
  w = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HPRIM watcher options: what a node configuration left empty or at 0 means', () => {
  it('without a pattern: *.hpr and *.xml are taken, any case; other names are left in place', async () => {
    const watcher = await open({ pattern: undefined });
    drop('ADM20260312A.HPR', ADM);
    drop('EVT-20260312-000123.xml', VENUE_XML);
    drop('ADM20260315B.txt', SORTIE);
    await take(watcher);
    expect(files.map((f) => f.file).sort()).toEqual(['ADM20260312A.HPR', 'EVT-20260312-000123.xml']);
    expect(ls('in')).toEqual(['ADM20260315B.txt']);
  });

  it('maxBytes 0 and stateLimit 0 mean the defaults (20 MB, 10000): a file is read, its copy recognised', async () => {
    const watcher = await open({ maxBytes: 0, stateLimit: 0 });
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    drop('ADM20260312A-renvoi.HPR', ADM);
    await take(watcher);
    expect(files.map((f) => [f.file, f.ok, f.duplicate])).toEqual([
      ['ADM20260312A.HPR', true, false],
      ['ADM20260312A-renvoi.HPR', true, true],
    ]);
    expect(admissions).toEqual(['ADM20260312A.HPR#1', 'ADM20260312A.HPR#2']);
  });

  it('the application code in the acknowledgement: ROCBRIDGE by default (also when empty), else the one configured', async () => {
    const ackSender = (name: string) => fs.readFileSync(path.join(sub('ack'), name), 'utf8').split('|')[4];
    let watcher = await open();
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    expect(ackSender('ADM20260312A.HPR.ACK')).toBe('ROCBRIDGE');
    watcher = await open({ application: '' });
    drop('ADM20260315B.hpr', SORTIE);
    await take(watcher);
    expect(ackSender('ADM20260315B.hpr.ACK')).toBe('ROCBRIDGE');
    watcher = await open({ application: 'PASSERELLE-45' });
    drop('EVT-20260312-000123.xml', VENUE_XML);
    await take(watcher);
    const acq = fs.readFileSync(path.join(sub('ack'), 'EVT-20260312-000123.acq.xml'), 'utf8');
    expect(acq).toContain('<emetteur><agents><agent categorie="application"><code>PASSERELLE-45</code>');
  });
});

describe('HPRIM watcher: moving the file', () => {
  it('a name taken three times in processed/ gets the timestamp, then -2, then -3', async () => {
    fakeDate(T0);
    fs.mkdirSync(sub('processed'));
    for (const taken of ['X.hpr', '20261206T100000000Z-X.hpr', '20261206T100000000Z-2-X.hpr'])
      fs.writeFileSync(path.join(sub('processed'), taken), 'older');
    const watcher = await open();
    drop('X.hpr', ADM);
    await take(watcher);
    expect(files[0].movedTo).toBe(path.join(sub('processed'), '20261206T100000000Z-3-X.hpr'));
    expect(fs.readFileSync(files[0].movedTo as string).equals(ADM)).toBe(true);
  });

  it('processed/ on another file system (rename says EXDEV): the file is copied there, then removed from the drop directory', async () => {
    const rename = fs.promises.rename.bind(fs.promises);
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (path.dirname(String(from)) === IN()) throw Object.assign(new Error('EXDEV: cross-device link not permitted'), { code: 'EXDEV' });
      return rename(from, to);
    });
    const watcher = await open();
    drop('ADM20260312A.HPR', ADM);
    drop('scan.hpr', 'pas du HPRIM');
    await take(watcher);
    expect(problems).toEqual([]);
    expect(files.map((f) => [f.file, f.ok])).toEqual([
      ['ADM20260312A.HPR', true],
      ['scan.hpr', false],
    ]);
    expect(fs.readFileSync(path.join(sub('processed'), 'ADM20260312A.HPR')).equals(ADM)).toBe(true);
    expect(ls('error')).toEqual(['scan.hpr']);
    expect(ls('in')).toEqual([]);
  });

  it('a rename refused for another reason (EPERM) is not papered over by a copy: said, the file stays, not emitted', async () => {
    const rename = fs.promises.rename.bind(fs.promises);
    jest.spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
      if (path.dirname(String(from)) === IN())
        throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM', path: String(from) });
      return rename(from, to);
    });
    const watcher = await open();
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    expect(problems).toEqual(['HPRIM : ADM20260312A.HPR non traité, nouvel essai plus tard (EPERM sur ADM20260312A.HPR)']);
    expect(files).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    expect(ls('processed')).toEqual([]);
  });

  it('every file handle opened (acknowledgements, state lines, compaction) is closed', async () => {
    const open_ = fs.promises.open.bind(fs.promises);
    const handles: fs.promises.FileHandle[] = [];
    jest.spyOn(fs.promises, 'open').mockImplementation(async (...args: Parameters<typeof fs.promises.open>) => {
      const fh = await open_(...args);
      handles.push(fh);
      return fh;
    });
    const watcher = await open({ stateLimit: 1 });
    drop('A.hpr', ADM);
    drop('B.hpr', SORTIE);
    drop('C.hpr', 'pas du HPRIM');
    await take(watcher);
    expect(files).toHaveLength(3);
    expect(stateLines().map((l) => JSON.parse(l).name)).toEqual(['C.hpr']); // compacted (3 lines > 2 × 1)
    expect(handles.length).toBeGreaterThanOrEqual(7); // 3 acknowledgements, 3 state lines, 1 compaction
    expect(handles.filter((h) => h.fd !== -1)).toEqual([]);
  });
});

describe('HPRIM watcher: the state file at start', () => {
  it('a clean state file (and an empty one) is left as it is: not rewritten at every start', async () => {
    fs.mkdirSync(sub('processed'));
    const clean = `${entry('A.hpr', 'a', 1200)}\n${entry('B.hpr', 'b', 800)}\n`;
    fs.writeFileSync(statePath(), clean);
    const ino = fs.statSync(statePath()).ino;
    await open();
    expect(fs.statSync(statePath()).ino).toBe(ino);
    expect(fs.readFileSync(statePath(), 'utf8')).toBe(clean);
    await w?.close();
    fs.writeFileSync(statePath(), '');
    const inoEmpty = fs.statSync(statePath()).ino;
    await open();
    expect(fs.statSync(statePath()).ino).toBe(inoEmpty);
    expect(problems).toEqual([]);
  });

  it('a blank line saved with CRLF (the file opened in a Windows editor) is no unreadable line', async () => {
    const watcher = await open();
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    await watcher.close();
    const line = stateLines()[0];
    fs.writeFileSync(statePath(), `${line}\r\n\r\n`);
    const ino = fs.statSync(statePath()).ino;
    files = [];
    const again = await open();
    expect(problems).toEqual([]);
    expect(fs.statSync(statePath()).ino).toBe(ino); // nothing to compact
    drop('ADM20260312A.HPR', ADM);
    await take(again);
    expect(files).toMatchObject([{ duplicate: true }]);
  });

  it('a torn last line that parses (crash before its newline): both entries kept, the newline restored before the next append', async () => {
    const first = await open();
    drop('ADM20260312A.HPR', ADM);
    drop('ADM20260315B.hpr', SORTIE);
    await take(first);
    await first.close();
    const [a, b] = stateLines();
    fs.writeFileSync(statePath(), `${a}\n${b}`); // the newline of the last append lost
    const watcher = await open();
    expect(fs.readFileSync(statePath(), 'utf8')).toBe(`${a}\n${b}\n`);
    drop('EVT-20260312-000123.xml', VENUE_XML);
    await take(watcher);
    await watcher.close();
    files = [];
    const again = await open();
    expect(problems).toEqual([]);
    expect(stateLines()).toHaveLength(3);
    drop('ADM20260312A.HPR', ADM);
    drop('ADM20260315B.hpr', SORTIE);
    drop('EVT-20260312-000123.xml', VENUE_XML);
    await take(again);
    expect(files.map((f) => f.duplicate)).toEqual([true, true, true]);
  });

  it('an unreadable line before a torn last line is still counted and set aside (only the last line may be torn)', async () => {
    fs.mkdirSync(sub('processed'));
    fs.writeFileSync(statePath(), `${entry('A.hpr', 'a', 1200)}\n{"name":"B.hpr","si\n${entry('C.hpr', 'c', 900)}\n{"name":"D.hp`);
    await open();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain("fichier d'état illisible (1 ligne(s))");
    expect(stateLines().map((l) => JSON.parse(l).name)).toEqual(['A.hpr', 'C.hpr']);
  });

  it('stateLimit 2: the file grows to four lines, compacted to the newest two at the fifth', async () => {
    const watcher = await open({ stateLimit: 2 });
    const names = () => stateLines().map((l) => JSON.parse(l).name);
    const five: [string, string | Buffer][] = [
      ['A.hpr', ADM],
      ['B.hpr', SORTIE],
      ['C.xml', VENUE_XML],
      ['D.xml', MOUVEMENT_XML],
      ['E.hpr', 'pas du HPRIM'],
    ];
    for (const [name, data] of five.slice(0, 4)) {
      drop(name, data);
      await take(watcher);
    }
    expect(names()).toEqual(['A.hpr', 'B.hpr', 'C.xml', 'D.xml']);
    drop(...five[4]);
    await take(watcher);
    expect(names()).toEqual(['D.xml', 'E.hpr']);
  });
});

describe('HPRIM watcher: polling', () => {
  it('close() called from a poll listener: that poll is the last', async () => {
    const watcher = await open({ intervalMs: 50 });
    let after = 0;
    watcher.on('poll', () => {
      after++;
      void watcher.close();
    });
    await new Promise((resolve) => watcher.once('poll', resolve));
    await new Promise((resolve) => setTimeout(resolve, 250)); // 5 intervals
    expect(after).toBe(1);
  });

  it('a directory named like a file is not taken and no problem is said', async () => {
    const watcher = await open();
    fs.mkdirSync(path.join(IN(), 'ADM20260312A.HPR'));
    await take(watcher);
    await watcher.poll();
    expect(problems).toEqual([]);
    expect(files).toEqual([]);
    expect(waiting[waiting.length - 1]).toBe(0);
  });

  it('a file withdrawn and put back (same size and mtime) waits a full quiet period again', async () => {
    fakeDate(T0);
    const watcher = await open({ quietMs: 5000 });
    const full = path.join(IN(), 'ADM20260312A.HPR');
    drop('ADM20260312A.HPR', ADM);
    await watcher.poll();
    jest.setSystemTime(T0 + 1000);
    await watcher.poll(); // seen twice, not yet quiet
    fs.renameSync(full, path.join(dir, 'ADM20260312A.HPR'));
    await watcher.poll(); // gone
    jest.setSystemTime(T0 + 10_000);
    fs.renameSync(path.join(dir, 'ADM20260312A.HPR'), full); // same bytes, same mtime
    await watcher.poll();
    jest.setSystemTime(T0 + 11_000);
    await watcher.poll();
    expect(files).toEqual([]);
    expect(waiting.slice(-2)).toEqual([1, 1]);
    jest.setSystemTime(T0 + 15_000);
    await watcher.poll();
    expect(files).toMatchObject([{ file: 'ADM20260312A.HPR', ok: true }]);
  });

  it('a file that could not be acknowledged, withdrawn and dropped again once the disk is repaired, is taken without waiting for its retry delay', async () => {
    const watcher = await open();
    fs.rmSync(sub('ack'), { recursive: true });
    fs.writeFileSync(sub('ack'), 'not a directory');
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    expect(problems).toHaveLength(1);
    fs.rmSync(path.join(IN(), 'ADM20260312A.HPR'));
    await watcher.poll();
    fs.rmSync(sub('ack'));
    fs.mkdirSync(sub('ack'));
    drop('ADM20260312A.HPR', ADM);
    await take(watcher);
    expect(files).toMatchObject([{ file: 'ADM20260312A.HPR', ok: true }]);
    expect(problems).toHaveLength(1);
  });

  it('a cut file withdrawn and dropped again, cut again: the wait is said again', async () => {
    const watcher = await open({ completion: 'marker', quietMs: 60_000, pattern: '*' });
    drop('ADM20260312A.HPR', ADM.subarray(0, ADM.length - 40));
    drop('ADM20260312A.HPR.ok', '');
    await watcher.poll();
    expect(deferred).toHaveLength(1);
    fs.rmSync(path.join(IN(), 'ADM20260312A.HPR'));
    fs.rmSync(path.join(IN(), 'ADM20260312A.HPR.ok'));
    await watcher.poll();
    drop('ADM20260312A.HPR', ADM.subarray(0, ADM.length - 60));
    drop('ADM20260312A.HPR.ok', '');
    await watcher.poll();
    expect(deferred.map((d) => d.file)).toEqual(['ADM20260312A.HPR', 'ADM20260312A.HPR']);
    expect(files).toEqual([]);
  });

  it('marker convention: markers are not counted as files waiting, and a name with ".ok" inside is an ordinary file', async () => {
    const watcher = await open({ completion: 'marker', pattern: '*' });
    drop('ADM20260312.ok.hpr', ADM);
    drop('ADM20260312.ok.hpr.ok', '');
    drop('ADM20260315B.hpr', SORTIE); // no marker yet
    await watcher.poll();
    expect(files).toMatchObject([{ file: 'ADM20260312.ok.hpr', ok: true }]);
    expect(waiting[waiting.length - 1]).toBe(1);
    drop('ORPHELIN.hpr.ok', ''); // a marker without its file
    await watcher.poll();
    expect(waiting[waiting.length - 1]).toBe(1);
    expect(ls('in')).toEqual(['ADM20260315B.hpr', 'ORPHELIN.hpr.ok']);
  });

  it('stable convention with the pattern *: a file whose name ends in .ok is an ordinary file', async () => {
    const watcher = await open({ pattern: '*' });
    drop('ADM20260312A.ok', ADM);
    await take(watcher);
    expect(files).toMatchObject([{ file: 'ADM20260312A.ok', ok: true }]);
    expect(ls('processed')).toEqual(['ADM20260312A.ok']);
  });
});
