/**
 * The HPRIM drop-directory watcher (lib/gap/hprim-watcher.ts) alone, without Node-RED, against real
 * temp directories: when a file is taken (quiet period, `.ok` marker), a GAP writer that pauses in
 * the middle of a file, a file cut at its end and never completed, HPRIM XML whose comments or
 * CDATA sections mention DOCTYPE / ENTITY, and files refused before reading (too large, not HPRIM).
 * Polls are followed through the `poll` event; the only clock assertions are lower bounds (a file
 * can never be taken before its quiet period).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { HprimDropWatcher, DEFAULT_QUIET_MS, refusalText, type FileOutcome, type WatcherOptions } from '../../lib/gap/hprim-watcher';

const FIX = path.join(__dirname, '..', 'fixtures', 'hprim');
const ADM = fs.readFileSync(path.join(FIX, 'hprim-own-adm-2-patients-utf8-cr.hpr'));
const VENUE_XML = fs.readFileSync(path.join(FIX, 'hprimxml-own-venue-debiteurs.xml'), 'utf8');
const PATIENT_DATA = ['DUPRÉ', 'Hélène', 'LEFÈVRE', '19780314', '1978-03-14', '2780345123456', 'MARTIN'];

let dir: string;
let w: HprimDropWatcher | undefined;
let files: (FileOutcome & { at: number })[];
let admissions: number;
let deferred: { file: string; codes: string[] }[];
let problems: string[];

const IN = () => path.join(dir, 'in');
const ls = (sub: string) =>
  fs.existsSync(path.join(dir, sub))
    ? fs
        .readdirSync(path.join(dir, sub))
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];

async function start(options: Partial<WatcherOptions>): Promise<HprimDropWatcher> {
  w = new HprimDropWatcher({
    inputDir: IN(),
    processedDir: path.join(dir, 'processed'),
    errorDir: path.join(dir, 'error'),
    ackDir: path.join(dir, 'ack'),
    intervalMs: 50,
    ...options,
  });
  w.on('file', (o) => files.push({ ...o, at: Date.now() }));
  w.on('admission', () => admissions++);
  w.on('deferred', (d) => deferred.push(d));
  w.on('problem', (m) => problems.push(m));
  await w.start();
  return w;
}

/** Resolves after `n` more polls. */
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

/** Polls until `cond` holds (at most `max` polls, generous). */
async function until(watcher: HprimDropWatcher, cond: () => boolean, max = 400): Promise<void> {
  for (let i = 0; i < max && !cond(); i++) await polls(watcher, 1);
  expect(cond()).toBe(true);
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-hprim-watch-'));
  fs.mkdirSync(IN());
  files = [];
  admissions = 0;
  deferred = [];
  problems = [];
});

afterEach(async () => {
  await w?.close();
  w = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('HPRIM drop directory: a file is taken when it is complete', () => {
  it('the quiet period defaults to 5 s and is configurable', () => {
    expect(DEFAULT_QUIET_MS).toBe(5000);
    expect(new HprimDropWatcher({ inputDir: IN() }).quietMs).toBe(5000);
    expect(new HprimDropWatcher({ inputDir: IN(), quietMs: 1500 }).quietMs).toBe(1500);
    expect(new HprimDropWatcher({ inputDir: IN(), quietMs: 0 }).quietMs).toBe(0);
  });

  it('a paused writer (half a file, a pause of many polls but shorter than the quiet period, then the rest): processed once, complete, nothing in error/', async () => {
    const quietMs = 4000;
    const watcher = await start({ quietMs });
    const full = path.join(IN(), 'ADM20260312A.HPR');
    const text = ADM.toString('utf8');
    const cut = Buffer.byteLength(text.slice(0, text.indexOf('|OP|UF1010'))); // inside the second patient's P record
    fs.writeFileSync(full, ADM.subarray(0, cut));
    const pausedAt = Date.now();
    await polls(watcher, 12); // the writer pauses: 12 polls at 50 ms, far longer than one poll
    const pause = Date.now() - pausedAt;
    expect(ls('in')).toEqual(['ADM20260312A.HPR']); // the half file is left alone
    expect(files).toEqual([]);
    fs.appendFileSync(full, ADM.subarray(cut)); // the writer resumes and finishes
    const doneAt = Date.now();
    await until(watcher, () => files.length === 1);
    await polls(watcher, 3);

    expect(pause).toBeLessThan(quietMs); // the scenario really was a pause shorter than the quiet period
    expect(files).toHaveLength(1); // once
    expect(files[0]).toMatchObject({ file: 'ADM20260312A.HPR', ok: true, duplicate: false, size: ADM.length, errors: [] });
    expect(files[0].at - doneAt).toBeGreaterThanOrEqual(quietMs - 100); // not before the quiet period
    expect(admissions).toBe(2); // complete: both patients
    expect(ls('processed')).toEqual(['ADM20260312A.HPR']);
    expect(fs.readFileSync(path.join(dir, 'processed', 'ADM20260312A.HPR')).equals(ADM)).toBe(true);
    expect(ls('error')).toEqual([]);
    expect(ls('ack')).toEqual(['ADM20260312A.HPR.ACK']);
    expect(ls('in')).toEqual([]);
  });

  it('a writer that keeps appending (every few polls) is never taken in the middle', async () => {
    const watcher = await start({ quietMs: 3000 });
    const full = path.join(IN(), 'ADM20260312B.hpr');
    const step = Math.ceil(ADM.length / 6);
    for (let off = 0; off < ADM.length; off += step) {
      fs.appendFileSync(full, ADM.subarray(off, off + step));
      await polls(watcher, 4);
      if (off + step < ADM.length) expect(files).toEqual([]);
    }
    await until(watcher, () => files.length === 1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
    expect(admissions).toBe(2);
    expect(ls('error')).toEqual([]);
  });

  it('a `.ok` marker takes the file at once, without waiting for the quiet period', async () => {
    const watcher = await start({ completion: 'marker', quietMs: 60_000, pattern: '*' });
    fs.writeFileSync(path.join(IN(), 'ADM20260312A.HPR'), ADM);
    await polls(watcher, 3);
    expect(files).toEqual([]); // no marker yet: not taken, however old
    const at = Date.now();
    fs.writeFileSync(path.join(IN(), 'ADM20260312A.HPR.ok'), '');
    await until(watcher, () => files.length === 1, 20);
    expect(files[0].at - at).toBeLessThan(30_000); // far from the 60 s quiet period
    expect(files[0]).toMatchObject({ ok: true });
    expect(admissions).toBe(2);
    expect(ls('in')).toEqual([]); // the marker is removed
    expect(ls('processed')).toEqual(['ADM20260312A.HPR']);
  });

  it('a file cut at its end and never completed is refused after the quiet period, with its ERR naming the place', async () => {
    const quietMs = 800;
    const watcher = await start({ quietMs });
    const text = ADM.toString('utf8');
    const half = Buffer.from(text.slice(0, text.indexOf('|OP|UF1010')), 'utf8');
    const writtenAt = Date.now();
    fs.writeFileSync(path.join(IN(), 'ADM20260312C.hpr'), half);
    await until(watcher, () => files.length === 1);
    expect(files[0].at - writtenAt).toBeGreaterThanOrEqual(quietMs - 100);
    expect(files[0]).toMatchObject({ ok: false, file: 'ADM20260312C.hpr' });
    expect(files[0].errors[0]).toMatchObject({ code: 'TRUNCATED', record: 'P' });
    expect(files[0].errors[0].line).toBeGreaterThan(1);
    expect(files[0].errors[0].field).toBeGreaterThan(1);
    expect(admissions).toBe(0);
    expect(ls('error')).toEqual(['ADM20260312C.hpr']);
    expect(ls('ack')).toEqual(['ADM20260312C.hpr.ERR']);
    const err = fs.readFileSync(path.join(dir, 'ack', 'ADM20260312C.hpr.ERR'), 'latin1');
    expect(err).toMatch(/ERR\|1\|[^\r]*\|ERREUR\|TRUNCATED\|/);
    for (const p of PATIENT_DATA) expect(err).not.toContain(p);
  });

  it('marker written before the data is complete: the cut file waits (not refused), the rest arrives, processed once', async () => {
    // a long quiet period costs nothing here: once the rest arrives, the marker takes the file at once
    const watcher = await start({ completion: 'marker', quietMs: 20_000, pattern: '*' });
    const full = path.join(IN(), 'ADM20260312D.HPR');
    const cut = ADM.length - 40;
    fs.writeFileSync(full, ADM.subarray(0, cut));
    fs.writeFileSync(`${full}.ok`, '');
    await until(watcher, () => deferred.length === 1, 40);
    expect(deferred[0].file).toBe('ADM20260312D.HPR');
    expect(deferred[0].codes.length).toBeGreaterThan(0);
    await polls(watcher, 5);
    expect(files).toEqual([]); // waiting, not refused
    expect(ls('ack')).toEqual([]);
    fs.appendFileSync(full, ADM.subarray(cut));
    await until(watcher, () => files.length === 1);
    await polls(watcher, 3);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ ok: true, size: ADM.length });
    expect(admissions).toBe(2);
    expect(ls('error')).toEqual([]);
    expect(ls('ack')).toEqual(['ADM20260312D.HPR.ACK']);
  });

  it('marker convention, a cut file that never completes: refused once the quiet period has passed', async () => {
    const quietMs = 600;
    const watcher = await start({ completion: 'marker', quietMs, pattern: '*' });
    const full = path.join(IN(), 'ADM20260312E.HPR');
    const writtenAt = Date.now();
    fs.writeFileSync(full, ADM.subarray(0, 300));
    fs.writeFileSync(`${full}.ok`, '');
    await until(watcher, () => files.length === 1);
    expect(files[0].at - writtenAt).toBeGreaterThanOrEqual(quietMs - 100);
    expect(files[0].ok).toBe(false);
    expect(deferred).toHaveLength(1); // said once while waiting
    expect(ls('error')).toEqual(['ADM20260312E.HPR']);
    expect(ls('in')).toEqual([]);
  });
});

describe('HPRIM XML in the drop directory: declarations, not words', () => {
  const acq = (name: string) =>
    new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(fs.readFileSync(path.join(dir, 'ack', name), 'utf8'))
      .acquittementsPatients;

  it('DOCTYPE in a CDATA section and ENTITY in a comment are accepted; a real DOCTYPE is refused with XML_DTD', async () => {
    const watcher = await start({ quietMs: 100 });
    const cdata = VENUE_XML.replace(
      "<libelle>GAP CH Sainte-Anne d'Orléans</libelle>",
      '<libelle><![CDATA[modèle <!DOCTYPE evenementsPatients SYSTEM "hprim.dtd"> & co]]></libelle>',
    ).replace('EVT-20260312-000123', 'EVT-CDATA');
    const comment = VENUE_XML.replace(
      '<evenementsPatients',
      '<!-- exporté sans <!ENTITY ni <!DOCTYPE (interdits) -->\n<evenementsPatients',
    ).replace('EVT-20260312-000123', 'EVT-COMMENT');
    const doctype = VENUE_XML.replace(
      '<evenementsPatients',
      '<!DOCTYPE evenementsPatients [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<evenementsPatients',
    ).replace('IPP0012345', '&b;');
    fs.writeFileSync(path.join(IN(), 'EVT-CDATA.xml'), cdata);
    fs.writeFileSync(path.join(IN(), 'EVT-COMMENT.xml'), comment);
    fs.writeFileSync(path.join(IN(), 'EVT-DTD.xml'), doctype);
    await until(watcher, () => files.length === 3);
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['EVT-CDATA.xml']).toMatchObject({ ok: true, errors: [] });
    expect(by['EVT-COMMENT.xml']).toMatchObject({ ok: true, errors: [] });
    expect(by['EVT-DTD.xml'].ok).toBe(false);
    expect(by['EVT-DTD.xml'].errors).toEqual([expect.objectContaining({ code: 'XML_DTD', line: 3 })]);
    expect(admissions).toBe(4);
    expect(ls('processed')).toEqual(['EVT-CDATA.xml', 'EVT-COMMENT.xml']);
    expect(ls('error')).toEqual(['EVT-DTD.xml']);
    expect(acq('EVT-CDATA.acq.xml').enteteMessageAcquittement['@_statut']).toBe('OK');
    expect(acq('EVT-COMMENT.acq.xml').enteteMessageAcquittement['@_statut']).toBe('OK');
    expect(acq('EVT-DTD.acq.xml').enteteMessageAcquittement['@_statut']).toBe('erreur');
    expect(acq('EVT-DTD.acq.xml').observations.observation.code).toBe('XML_DTD');
  });

  it('an external entity (XXE) in a dropped file is refused and nothing is read from the disk', async () => {
    const watcher = await start({ quietMs: 100 });
    const secret = path.join(dir, 'secret.txt');
    fs.writeFileSync(secret, 'SECRET-CLE-PRIVEE');
    fs.writeFileSync(
      path.join(IN(), 'EVT-XXE.xml'),
      VENUE_XML.replace('<evenementsPatients', `<!DOCTYPE x [<!ENTITY e SYSTEM "file://${secret}">]>\n<evenementsPatients`).replace(
        'IPP0012345',
        '&e;',
      ),
    );
    await until(watcher, () => files.length === 1);
    expect(files[0].errors[0].code).toBe('XML_DTD');
    expect(fs.readFileSync(path.join(dir, 'ack', 'EVT-XXE.acq.xml'), 'utf8')).not.toContain('SECRET');
    expect(problems).toEqual([]);
  });
});

describe('HPRIM drop directory: files refused before reading, through lib/hprim readHprimFile', () => {
  it('too large (not read) and not HPRIM: refused with their codes, answered in the format the name suggests, caught text names the file', async () => {
    const watcher = await start({ quietMs: 100, maxBytes: 1000 });
    fs.writeFileSync(path.join(IN(), 'EVT-GROS.xml'), VENUE_XML); // 3 KB > 1000 bytes
    fs.writeFileSync(path.join(IN(), 'courrier.hpr'), 'Madame, Monsieur,\nveuillez trouver ci-joint…\n');
    await until(watcher, () => files.length === 2);
    const by = Object.fromEntries(files.map((f) => [f.file, f]));
    expect(by['EVT-GROS.xml']).toMatchObject({ ok: false, ackFile: 'EVT-GROS.acq.xml', errors: [{ code: 'FILE_TOO_LARGE' }] });
    expect(by['EVT-GROS.xml'].errors[0].message).toMatch(/^Fichier trop volumineux : \d+ octets, limite 1000$/);
    expect(by['EVT-GROS.xml'].format).toBeUndefined();
    expect(by['courrier.hpr']).toMatchObject({ ok: false, ackFile: 'courrier.hpr.ERR', errors: [{ code: 'NOT_HPRIM', line: 1 }] });
    expect(by['courrier.hpr'].format).toBeUndefined();
    expect(refusalText(by['courrier.hpr'])).toBe(
      "HPRIM : fichier courrier.hpr refusé, Ce n'est pas un fichier HPRIM (ni enregistrement H en tête, ni document XML) ; acquittement courrier.hpr.ERR, fichier déplacé en erreur",
    );
    expect(ls('ack')).toEqual(['EVT-GROS.acq.xml', 'courrier.hpr.ERR']);
    expect(ls('error')).toEqual(['EVT-GROS.xml', 'courrier.hpr']);
    const acq = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(
      fs.readFileSync(path.join(dir, 'ack', 'EVT-GROS.acq.xml'), 'utf8'),
    ).acquittementsPatients;
    expect(acq.enteteMessageAcquittement).toMatchObject({ '@_statut': 'erreur', identifiantMessageAcquitte: 'EVT-GROS.xml' });
    expect(acq.observations.observation.code).toBe('FILE_TOO_LARGE');
    expect(admissions).toBe(0);
  });
});
