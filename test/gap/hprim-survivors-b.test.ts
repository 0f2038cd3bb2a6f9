/**
 * The HPRIM drop-directory watcher (lib/gap/hprim-watcher.ts), one poll at a time: what mutation
 * testing found untested in the second half of a poll. The order of files written at the same time,
 * close() in the middle of a poll, the cooldown after a disk problem and a file taken by someone
 * else, when a file is complete (empty files, a size or mtime that changes alone), when a file that
 * fails to read is "recent" (our observation, its mtime, an mtime in the future), deferred files
 * (not read again until they change or go quiet), files refused before reading (too large), files
 * that change between the listing and the read or during the read, and the outcomes emitted.
 *
 * No timers: the watcher is not started, each test calls poll() itself (intervalMs is only used
 * for the cooldown) and sets the clock (Date.now) when the quiet period matters.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HprimDropWatcher, type FileOutcome, type WatcherOptions } from '../../lib/gap/hprim-watcher';

const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const ADM = fs.readFileSync(path.join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const SORTIE = fs.readFileSync(path.join(FIX, 'hprim-own-adm-sortie-8859-15-crlf.hpr'));
const VENUE_XML = fs.readFileSync(path.join(FIX, 'hprimxml-own-venue-debiteurs.xml'));
/** ADM cut inside the second patient's P record: reads as TRUNCATED. */
const ADM_CUT = ADM.subarray(0, Buffer.byteLength(ADM.toString('utf8').slice(0, ADM.toString('utf8').indexOf('|OP|UF1010'))));
const Q = 10_000;
/** The real fs.promises functions, taken before any spy replaces them. */
const realReadFile = fs.promises.readFile.bind(fs.promises);
const realReaddir = fs.promises.readdir.bind(fs.promises);

let dir: string;
let w: HprimDropWatcher | undefined;
let files: FileOutcome[];
let admissions: string[];
let problems: string[];
let waiting: number[];
let deferred: { file: string; codes: string[] }[];

const IN = () => path.join(dir, 'in');
const inFile = (name: string) => path.join(IN(), name);
const ls = (sub: string) =>
  fs
    .readdirSync(path.join(dir, sub))
    .filter((f) => !f.startsWith('.'))
    .sort();
/** Writes a file in the drop directory; with `mtimeS`, sets its modification time (seconds). */
const drop = (name: string, data: string | Buffer, mtimeS?: number) => {
  fs.writeFileSync(inFile(name), data);
  if (mtimeS !== undefined) fs.utimesSync(inFile(name), mtimeS, mtimeS);
};
const setMtime = (name: string, mtimeS: number) => fs.utimesSync(inFile(name), mtimeS, mtimeS);
const mtimeOf = (name: string) => fs.statSync(inFile(name)).mtimeMs;

/** A watcher on fresh directories, not started (no timer): the tests poll it themselves. */
function watcher(options: Partial<WatcherOptions> = {}): HprimDropWatcher {
  for (const sub of ['in', 'processed', 'error', 'ack']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  w = new HprimDropWatcher({
    inputDir: IN(),
    processedDir: path.join(dir, 'processed'),
    errorDir: path.join(dir, 'error'),
    ackDir: path.join(dir, 'ack'),
    intervalMs: 600_000,
    quietMs: 0,
    ...options,
  });
  w.on('file', (o) => files.push(o));
  w.on('admission', (o, i) => admissions.push(`${o.file}#${i}`));
  w.on('problem', (m) => problems.push(m));
  w.on('poll', (p) => waiting.push(p.waiting));
  w.on('deferred', (d) => deferred.push(d));
  return w;
}

/** One poll, at the clock `now` when given; resolves with the poll's count of waiting files. */
async function poll(now?: number): Promise<number> {
  if (now !== undefined) jest.spyOn(Date, 'now').mockReturnValue(now);
  await w!.poll();
  return waiting[waiting.length - 1];
}

/** Counts the reads of one file (fs.promises.readFile, which the watcher uses), still reading it. */
function countReads(full: string): () => number {
  let n = 0;
  jest.spyOn(fs.promises, 'readFile').mockImplementation(((p: fs.PathLike, ...rest: unknown[]) => {
    if (p === full) n++;
    return (realReadFile as (...a: unknown[]) => Promise<Buffer>)(p, ...rest);
  }) as typeof fs.promises.readFile);
  return () => n;
}

/** The reads of the drop directory list its entries in this order of names. */
function listInOrder(order: 'ascending' | 'descending'): void {
  jest.spyOn(fs.promises, 'readdir').mockImplementation((async (...args: unknown[]) => {
    const entries = (await (realReaddir as (...a: unknown[]) => Promise<fs.Dirent[]>)(...args)).sort((a, b) => (a.name < b.name ? -1 : 1));
    return order === 'ascending' ? entries : entries.reverse();
  }) as typeof fs.promises.readdir);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-hprim-surv-b-'));
  files = [];
  admissions = [];
  problems = [];
  waiting = [];
  deferred = [];
});

afterEach(async () => {
  jest.restoreAllMocks();
  await w?.close();
  w = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HPRIM watcher: order of the files, close() during a poll', () => {
  it('files written at the same time are taken by name, whatever order the directory lists them in; older ones first', async () => {
    watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    for (const name of ['ADM-C.hpr', 'ADM-A.hpr', 'ADM-D.hpr', 'ADM-B.hpr']) drop(name, ADM, t);
    drop('ADM-Z.hpr', SORTIE, t - 60);
    listInOrder('descending');
    await poll();
    await poll();
    expect(files.map((f) => f.file)).toEqual(['ADM-Z.hpr', 'ADM-A.hpr', 'ADM-B.hpr', 'ADM-C.hpr', 'ADM-D.hpr']);
    for (const name of ['ADM-G.hpr', 'ADM-E.hpr', 'ADM-H.hpr', 'ADM-F.hpr']) drop(name, ADM, t);
    listInOrder('ascending');
    await poll();
    await poll();
    expect(files.slice(5).map((f) => f.file)).toEqual(['ADM-E.hpr', 'ADM-F.hpr', 'ADM-G.hpr', 'ADM-H.hpr']);
  });

  it('close() while a poll goes through the files: the files after the current one are left for later', async () => {
    const watcher1 = watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop('ADM20260312A.HPR', ADM, t - 60);
    drop('ADM20260315B.hpr', SORTIE, t);
    await poll();
    watcher1.on('file', () => void watcher1.close());
    await poll();
    expect(files.map((f) => f.file)).toEqual(['ADM20260312A.HPR']);
    expect(ls('in')).toEqual(['ADM20260315B.hpr']);
    expect(ls('processed')).toEqual(['ADM20260312A.HPR']);
  });
});

describe('HPRIM watcher: disk problems and files taken by someone else', () => {
  it('a file that could not be acknowledged is retried once the cooldown is over (five intervals when longer than 30 s), not before', async () => {
    watcher({ intervalMs: 100_000 });
    fs.rmSync(path.join(dir, 'ack'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ack'), 'pas un répertoire');
    drop('ADM20260312A.HPR', ADM);
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    await poll(t0);
    await poll(t0);
    expect(problems).toEqual([
      `HPRIM : ADM20260312A.HPR non traité, nouvel essai plus tard (ENOTDIR sur ADM20260312A.HPR.ACK.${process.pid}.tmp)`,
    ]);
    fs.rmSync(path.join(dir, 'ack'));
    fs.mkdirSync(path.join(dir, 'ack'));
    await poll(t0 + 30_000);
    await poll(t0 + 499_999);
    expect(files).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
    await poll(t0 + 500_000);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ file: 'ADM20260312A.HPR', ok: true, ackFile: 'ADM20260312A.HPR.ACK' });
    expect(admissions).toEqual(['ADM20260312A.HPR#1', 'ADM20260312A.HPR#2']);
    expect(problems).toHaveLength(1);
  });

  it('ENOENT while the file is still there (acknowledgement directory removed) is a problem, not "taken by someone else"', async () => {
    watcher();
    fs.rmSync(path.join(dir, 'ack'), { recursive: true });
    drop('ADM20260312A.HPR', ADM);
    await poll();
    await poll();
    expect(problems).toEqual([
      `HPRIM : ADM20260312A.HPR non traité, nouvel essai plus tard (ENOENT sur ADM20260312A.HPR.ACK.${process.pid}.tmp)`,
    ]);
    await poll();
    expect(problems).toHaveLength(1); // in its cooldown: not tried again at once
    expect(files).toEqual([]);
    expect(ls('in')).toEqual(['ADM20260312A.HPR']);
  });

  it('a disk error other than ENOENT is said even when the file is gone meanwhile; without a path, the message names none', async () => {
    watcher();
    drop('ADM20260312A.HPR', ADM);
    await poll(); // seen once: complete at the next poll
    jest.spyOn(fs.promises, 'readFile').mockImplementation(async (file) => {
      fs.rmSync(String(file)); // removed by the GAP while our read fails
      throw Object.assign(new Error('erreur d’entrée-sortie'), { code: 'EIO' });
    });
    await poll();
    expect(problems).toEqual(['HPRIM : ADM20260312A.HPR non traité, nouvel essai plus tard (EIO)']);
    expect(files).toEqual([]);
  });

  it('a file taken by someone else between the listing and its reading is left silently', async () => {
    const watcher1 = watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop('ADM20260312A.HPR', ADM, t - 60);
    drop('ADM20260315B.hpr', SORTIE, t);
    await poll();
    fs.mkdirSync(path.join(dir, 'autre'));
    watcher1.on('file', () => fs.renameSync(inFile('ADM20260315B.hpr'), path.join(dir, 'autre', 'ADM20260315B.hpr')));
    await poll();
    await poll();
    expect(problems).toEqual([]);
    expect(files.map((f) => f.file)).toEqual(['ADM20260312A.HPR']);
    expect(ls('in')).toEqual([]);
    expect(ls('error')).toEqual([]);
  });
});

describe('HPRIM watcher: when a file is complete', () => {
  it('with no quiet period, a file is taken at the second poll that finds it unchanged', async () => {
    watcher();
    drop('ADM20260312A.HPR', ADM);
    expect(await poll()).toBe(1);
    expect(files).toEqual([]);
    expect(await poll()).toBe(0);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, duplicate: false });
  });

  it('an empty file (a writer that has not started yet) gets five more polls; written meanwhile, it is read complete', async () => {
    watcher();
    drop('ADM20260312A.HPR', '');
    drop('vide.hpr', '');
    for (let i = 0; i < 4; i++) expect(await poll()).toBe(2);
    fs.writeFileSync(inFile('ADM20260312A.HPR'), ADM); // the writer starts
    expect(await poll()).toBe(2);
    expect(files).toEqual([]);
    expect(await poll()).toBe(0); // sixth poll: the empty file is refused, the written one taken
    expect(files.map((f) => [f.file, f.ok]).sort()).toEqual([
      ['ADM20260312A.HPR', true],
      ['vide.hpr', false],
    ]);
    expect(files.find((f) => f.file === 'vide.hpr')!.errors.map((e) => e.code)).toEqual(['NOT_HPRIM']);
    expect(admissions).toHaveLength(2);
  });

  it('a size that changes with the same mtime (a coarse clock on a share) is a change: quiet again before the file is taken', async () => {
    watcher({ quietMs: Q });
    const t = Math.floor(Date.now() / 1000) - 600;
    drop('ADM20260312A.HPR', ADM_CUT, t);
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    await poll(t0);
    fs.appendFileSync(inFile('ADM20260312A.HPR'), ADM.subarray(ADM_CUT.length));
    setMtime('ADM20260312A.HPR', t);
    expect(await poll(t0 + Q)).toBe(1);
    expect(files).toEqual([]);
    await poll(t0 + 2 * Q);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
    expect(admissions).toHaveLength(2);
  });

  it('a file rewritten in place with the same size but another mtime is a change: quiet again, then the new content is read', async () => {
    watcher({ quietMs: Q });
    const t = Math.floor(Date.now() / 1000) - 600;
    const draft = Buffer.from(ADM.toString('utf8').replace('ADM20260312A.HPR', 'ADM20260312Z.HPR'), 'utf8');
    expect(draft.length).toBe(ADM.length);
    drop('ADM20260312A.HPR', draft, t);
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    await poll(t0);
    drop('ADM20260312A.HPR', ADM, t + 2);
    expect(await poll(t0 + Q)).toBe(1);
    expect(files).toEqual([]);
    await poll(t0 + 2 * Q);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
    expect(files[0].result?.messageId).toBe('ADM20260312A.HPR');
  });

  it('a file dropped again under the same name, size and mtime right after being processed is observed from scratch', async () => {
    watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop('ADM20260312A.HPR', ADM, t);
    await poll();
    await poll();
    expect(files).toHaveLength(1);
    drop('ADM20260312A.HPR', ADM, t);
    expect(await poll()).toBe(1);
    expect(files).toHaveLength(1);
    expect(await poll()).toBe(0);
    expect(files[1]).toMatchObject({ duplicate: true, ok: true });
  });
});

describe('HPRIM watcher: a file that fails to read while recent waits', () => {
  const NAME = 'ADM20260312C.hpr';
  /** Drops the cut file with an mtime in whole seconds (the clock arithmetic is exact); returns its mtime. */
  const dropCut = (): number => {
    drop(NAME, ADM_CUT, Math.floor(Date.now() / 1000));
    return mtimeOf(NAME);
  };

  it('quiet for exactly the quiet period, by our observation and by its mtime: refused', async () => {
    watcher({ quietMs: Q });
    const m = dropCut();
    await poll(m);
    expect(await poll(m + Q - 1)).toBe(1);
    expect(files).toEqual([]);
    expect(await poll(m + Q)).toBe(0);
    expect(deferred).toEqual([]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ file: NAME, ok: false, format: 'hprim-sante' });
    expect(files[0].errors[0].code).toBe('TRUNCATED');
    expect(ls('error')).toEqual([NAME]);
  });

  it('a share whose clock runs a little ahead: modified less than the quiet period ago by its mtime, it waits (not read again) until quiet by its mtime too', async () => {
    watcher({ quietMs: Q });
    const m = dropCut();
    const reads = countReads(inFile(NAME));
    await poll(m - 6000); // first seen 6 s before its mtime
    expect(await poll(m + 4000)).toBe(1); // quiet for us, modified 4 s ago by its mtime
    expect(deferred).toEqual([{ file: NAME, codes: ['TRUNCATED'] }]);
    expect(files).toEqual([]);
    expect(reads()).toBe(1);
    expect(await poll(m + Q - 1)).toBe(1);
    expect(reads()).toBe(1); // unchanged and still recent: not read again
    expect(await poll(m + Q)).toBe(0);
    expect(reads()).toBe(2);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: false });
    expect(deferred).toHaveLength(1);
  });

  it('modified at this very instant by its mtime (age 0): it waits', async () => {
    watcher({ quietMs: Q });
    const m = dropCut();
    await poll(m - Q);
    expect(await poll(m)).toBe(1);
    expect(deferred).toEqual([{ file: NAME, codes: ['TRUNCATED'] }]);
    expect(files).toEqual([]);
  });

  it('an mtime far in the future is not trusted: quiet for the period by our observation, the cut file is refused', async () => {
    watcher({ quietMs: Q });
    const m = dropCut();
    await poll(m - 60_000);
    expect(await poll(m - 60_000 + Q)).toBe(0);
    expect(deferred).toEqual([]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ file: NAME, ok: false });
  });

  it('marker convention, a file copied with an old mtime: recent by our observation, it waits the quiet period before being refused', async () => {
    watcher({ quietMs: Q, completion: 'marker', pattern: '*' });
    const t = Math.floor(Date.now() / 1000) - 3600;
    drop(NAME, ADM_CUT, t);
    drop(`${NAME}.ok`, '');
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    expect(await poll(t0)).toBe(1);
    expect(deferred).toEqual([{ file: NAME, codes: ['TRUNCATED'] }]);
    expect(await poll(t0 + Q - 1)).toBe(1);
    expect(files).toEqual([]);
    expect(await poll(t0 + Q)).toBe(0);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ file: NAME, ok: false });
    expect(ls('in')).toEqual([]);
  });

  it('a waiting file that grows but is still cut is read again, still waits, and is said to wait only once', async () => {
    watcher({ quietMs: Q, completion: 'marker', pattern: '*' });
    drop(NAME, ADM.subarray(0, 300));
    drop(`${NAME}.ok`, '');
    const reads = countReads(inFile(NAME));
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    expect(await poll(t0)).toBe(1);
    expect(await poll(t0 + 500)).toBe(1);
    expect(reads()).toBe(1);
    fs.appendFileSync(inFile(NAME), ADM.subarray(300, 400));
    expect(await poll(t0 + 1000)).toBe(1);
    expect(reads()).toBe(2);
    expect(deferred).toHaveLength(1);
    expect(files).toEqual([]);
  });

  it('a waiting file completed with its mtime unchanged (size only) is read again at once and accepted', async () => {
    watcher({ quietMs: Q, completion: 'marker', pattern: '*' });
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(NAME, ADM_CUT, t);
    drop(`${NAME}.ok`, '');
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    await poll(t0);
    expect(deferred).toHaveLength(1);
    fs.appendFileSync(inFile(NAME), ADM.subarray(ADM_CUT.length));
    setMtime(NAME, t);
    expect(await poll(t0 + 1000)).toBe(0);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
    expect(admissions).toHaveLength(2);
  });

  it('a waiting file rewritten with the same size (mtime only) is read again at once and accepted', async () => {
    watcher({ quietMs: Q, completion: 'marker', pattern: '*' });
    const t = Math.floor(Date.now() / 1000) - 600;
    const notYet = Buffer.concat([Buffer.from('#'), ADM.subarray(1)]); // not HPRIM yet (no H record first)
    drop(NAME, notYet, t);
    drop(`${NAME}.ok`, '');
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    await poll(t0);
    expect(deferred).toEqual([{ file: NAME, codes: ['NOT_HPRIM'] }]);
    drop(NAME, ADM, t + 2);
    expect(await poll(t0 + 1000)).toBe(0);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
  });
});

describe('HPRIM watcher: too large files are not read', () => {
  it('a too large file still being written waits (said once), then is refused without being read', async () => {
    watcher({ quietMs: Q, completion: 'marker', pattern: '*', maxBytes: 500 });
    const name = 'ADM20260312A.HPR';
    drop(name, ADM);
    drop(`${name}.ok`, '');
    const reads = countReads(inFile(name));
    const t0 = Date.now() + 86_400_000; // our clock a day after the files were written
    expect(await poll(t0)).toBe(1);
    expect(await poll(t0 + 1)).toBe(1);
    expect(deferred).toEqual([{ file: name, codes: ['FILE_TOO_LARGE'] }]);
    expect(files).toEqual([]);
    expect(await poll(t0 + Q)).toBe(0);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ file: name, ok: false, size: ADM.length, ackFile: 'ADM20260312A.HPR.ERR' });
    expect(files[0].errors.map((e) => e.code)).toEqual(['FILE_TOO_LARGE']);
    expect(files[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(reads()).toBe(0);
    expect(deferred).toHaveLength(1);
    expect(ls('error')).toEqual([name]);
  });

  it('a file of exactly the limit is read; too large ones of the same size are told apart by name (not by their bytes)', async () => {
    watcher({ maxBytes: ADM.length });
    drop('ADM20260312A.HPR', ADM);
    drop('EVT-1.xml', VENUE_XML);
    drop('EVT-2.xml', VENUE_XML);
    const reads = countReads(inFile('EVT-1.xml'));
    await poll();
    await poll();
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['ADM20260312A.HPR']).toMatchObject({ ok: true, errors: [] });
    expect(by['EVT-1.xml']).toMatchObject({ ok: false, duplicate: false, errors: [{ code: 'FILE_TOO_LARGE' }] });
    expect(by['EVT-2.xml']).toMatchObject({ ok: false, duplicate: false, errors: [{ code: 'FILE_TOO_LARGE' }] });
    expect(by['EVT-1.xml'].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(by['EVT-1.xml'].sha256).not.toBe(by['EVT-2.xml'].sha256);
    expect(by['EVT-1.xml'].sha256).not.toBe(createHash('sha256').update(VENUE_XML).digest('hex'));
    expect(reads()).toBe(0);
  });
});

describe('HPRIM watcher: a file that changes between the listing and the end of its reading is looked at again', () => {
  const A = 'ADM20260312A.HPR';
  const B = 'ADM20260315B.hpr';
  const half = Math.floor(SORTIE.length / 2);

  it('changed in size only (mtime kept) after the listing: not read in this poll; read complete once unchanged again', async () => {
    const watcher1 = watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(A, ADM, t - 60);
    drop(B, SORTIE.subarray(0, half), t);
    await poll();
    watcher1.once('file', () => {
      fs.appendFileSync(inFile(B), SORTIE.subarray(half));
      setMtime(B, t);
    });
    expect(await poll()).toBe(1);
    expect(files.map((f) => f.file)).toEqual([A]);
    await poll();
    await poll();
    expect(files.map((f) => [f.file, f.ok, f.size])).toEqual([
      [A, true, ADM.length],
      [B, true, SORTIE.length],
    ]);
    expect(problems).toEqual([]);
  });

  it('touched (mtime only) after the listing: not read in this poll', async () => {
    const watcher1 = watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(A, ADM, t - 60);
    drop(B, SORTIE, t);
    await poll();
    watcher1.once('file', () => setMtime(B, t + 2));
    expect(await poll()).toBe(1);
    expect(files.map((f) => f.file)).toEqual([A]);
    expect(ls('in')).toEqual([B]);
  });

  /** The read of B done through `during`, which may change the file around the real read. */
  function readB(during: (real: () => Promise<Buffer>) => Promise<Buffer>): void {
    jest.spyOn(fs.promises, 'readFile').mockImplementationOnce((async (p: fs.PathLike) => {
      expect(p).toBe(inFile(B));
      return during(() => realReadFile(p));
    }) as typeof fs.promises.readFile);
  }

  it('appended to right after the read (mtime kept): what was read is a prefix, not taken in this poll', async () => {
    watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(B, SORTIE.subarray(0, half), t);
    await poll();
    readB(async (real) => {
      const bytes = await real();
      fs.appendFileSync(inFile(B), SORTIE.subarray(half));
      setMtime(B, t);
      return bytes;
    });
    expect(await poll()).toBe(1);
    expect(files).toEqual([]);
    await poll();
    await poll();
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: SORTIE.length });
  });

  it('read while the writer rewrote it (more bytes read than its size, same size and mtime after): not taken in this poll', async () => {
    watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(B, SORTIE, t);
    await poll();
    readB(async (real) => {
      fs.appendFileSync(inFile(B), 'OBX|1|suite\r');
      const bytes = await real();
      fs.truncateSync(inFile(B), SORTIE.length);
      setMtime(B, t);
      return bytes;
    });
    expect(await poll()).toBe(1);
    expect(files).toEqual([]);
    expect(ls('in')).toEqual([B]);
  });

  it('rewritten with the same size during the read (mtime changed): not taken in this poll', async () => {
    watcher();
    const t = Math.floor(Date.now() / 1000) - 600;
    drop(B, SORTIE, t);
    await poll();
    readB(async (real) => {
      const bytes = await real();
      setMtime(B, t + 2);
      return bytes;
    });
    expect(await poll()).toBe(1);
    expect(files).toEqual([]);
    expect(ls('in')).toEqual([B]);
  });
});

describe('HPRIM watcher: the outcomes emitted', () => {
  it('accepted: its format and the reader result; refused before reading: neither; a duplicate: no errors, not waiting', async () => {
    watcher();
    drop('ADM20260312A.HPR', ADM);
    drop('courrier.hpr', 'Madame, Monsieur,\nveuillez trouver ci-joint…\n');
    await poll();
    expect(await poll()).toBe(0);
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['ADM20260312A.HPR']).toMatchObject({ ok: true, format: 'hprim-sante' });
    expect(by['ADM20260312A.HPR'].result?.admissions).toHaveLength(2);
    expect(by['courrier.hpr']).toStrictEqual({
      file: 'courrier.hpr',
      duplicate: false,
      size: by['courrier.hpr'].size,
      sha256: by['courrier.hpr'].sha256,
      ok: false,
      errors: [expect.objectContaining({ code: 'NOT_HPRIM', line: 1 })],
      ackFile: 'courrier.hpr.ERR',
      movedTo: path.join(dir, 'error', 'courrier.hpr'),
    });
    drop('ADM-renvoi.hpr', ADM);
    await poll();
    expect(await poll()).toBe(0);
    expect(files[2]).toStrictEqual({
      file: 'ADM-renvoi.hpr',
      duplicate: true,
      size: ADM.length,
      sha256: by['ADM20260312A.HPR'].sha256,
      ok: true,
      errors: [],
      ackFile: 'ADM20260312A.HPR.ACK',
      movedTo: path.join(dir, 'processed', 'ADM-renvoi.hpr'),
    });
    expect(admissions).toEqual(['ADM20260312A.HPR#1', 'ADM20260312A.HPR#2']);
  });
});
