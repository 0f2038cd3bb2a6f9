/**
 * The drop-directory watcher behind roc-hprim-in. Pure Node (fs.promises + setTimeout polling), no
 * Node-RED import, so it is usable and testable alone.
 *
 * One poll: list the input directory → keep regular files matching the patterns → a file is taken
 * once it is complete (its size and mtime unchanged for the quiet period — a time, several polls —,
 * or its `<name>.ok` marker present) → read, sha-256 → already acknowledged (state file)? moved aside without being emitted :
 * lib/hprim readHprimFile() (format detection, reading, the acknowledgement's name and bytes) →
 * acknowledgement written (atomically: .tmp then rename) → state line appended (fsync) → admissions
 * emitted → file moved to processed/ or error/ (timestamp prefix when the name is taken).
 *
 * A file whose reading fails while it may still be growing (it changed during the read, or it was
 * modified less than the quiet period ago) is not refused: it waits, and is read again once it has
 * stayed unchanged for the quiet period; only then is it refused. A writer that pauses longer than
 * a poll (but less than the quiet period) thus ends with its file processed once, complete.
 *
 * The commit point is the state file: a crash after it and before the move leaves the file in the
 * input directory, and the next poll moves it without emitting it again. A crash before it means
 * the file is read, acknowledged and emitted again (at least once, never silently lost).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  readHprimFile,
  refusalText as hprimRefusalText,
  type HprimFileReading,
  type HprimFormat,
  type HprimIssue,
  type HprimReadResult,
} from '../hprim';
import type { Charset } from '../model/charset';

export type { HprimFormat };

export interface WatcherOptions {
  inputDir: string;
  /** Default `<inputDir>/processed`. */
  processedDir?: string;
  /** Default `<inputDir>/error`. */
  errorDir?: string;
  /** Default `<inputDir>/ack`. */
  ackDir?: string;
  /** Milliseconds between polls (default 2000, at least 50). */
  intervalMs?: number;
  /** Comma/space separated glob patterns on the file name, case-insensitive (default `*.hpr, *.xml`). */
  pattern?: string;
  /** `stable` (default): size+mtime unchanged for `quietMs`; `marker`: `<name>.ok` present. */
  completion?: 'stable' | 'marker';
  /**
   * Quiet period in milliseconds (default 5000): with `stable`, a file is taken once its size and
   * mtime have not changed for this long (and across at least two polls). With either convention,
   * a file that fails to read while modified less than this long ago waits instead of being refused.
   */
  quietMs?: number;
  /** Larger files are refused (default 20 MB). */
  maxBytes?: number;
  /** HPRIM Santé charset when H-15 is absent and the bytes are not UTF-8 (default ISO 8859-15). */
  defaultCharset?: Charset;
  /** Our application code in acknowledgements (default ROCBRIDGE). */
  application?: string;
  /** State entries kept (oldest dropped first; default 10000). */
  stateLimit?: number;
}

export interface FileOutcome {
  file: string;
  format?: HprimFormat;
  ok: boolean;
  /** Already acknowledged: moved without being emitted. */
  duplicate: boolean;
  result?: HprimReadResult;
  /** Errors (reader errors, or the node's own refusal). Place-naming, no patient data. */
  errors: HprimIssue[];
  ackFile?: string;
  movedTo?: string;
  sha256: string;
  size: number;
}

interface StateEntry {
  name: string;
  size: number;
  sha256: string;
  outcome: 'ok' | 'error';
  ack?: string;
  at: string;
}

/**
 * The state: one JSON line per acknowledged file, appended and fsynced (constant cost per file).
 * Compacted (rewritten atomically, newest `stateLimit` entries) at start when longer than that or
 * when a crash left a torn last line.
 */
export const STATE_FILE = '.roc-hprim-in.state.jsonl';
const EMPTY_STABLE_POLLS = 5;
export const DEFAULT_QUIET_MS = 5000;

/** What the watcher knows of a file in the drop directory between polls. */
interface Seen {
  size: number;
  mtimeMs: number;
  /** When this size+mtime was first observed (our clock). */
  since: number;
  /** Later polls that found the same size+mtime. */
  polls: number;
}

/** `*.hpr, *.xml` → one case-insensitive RegExp. */
export function patternToRegExp(pattern: string): RegExp {
  const parts = pattern
    .split(/[,;\s]+/) // \s is the set trim() removes: the parts need no trim
    .filter(Boolean)
    .map((p) =>
      p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.'),
    );
  return new RegExp(`^(?:${parts.length ? parts.join('|') : '.*'})$`, 'i');
}

function stamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(d.getUTCMilliseconds(), 3)}Z`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.access(p);
    return true;
  } catch {
    return false;
  }
}

/** A free name in dir: `name`, else `<timestamp>-name` (then `-2`, `-3`… on a clash). */
async function freeName(dir: string, name: string): Promise<string> {
  if (!(await exists(path.join(dir, name)))) return name;
  const base = `${stamp(new Date())}-${name}`;
  let candidate = base;
  for (let k = 2; await exists(path.join(dir, candidate)); k++) candidate = `${base.slice(0, 19)}-${k}${base.slice(19)}`;
  return candidate;
}

async function move(from: string, dir: string, name: string): Promise<string> {
  const target = path.join(dir, await freeName(dir, name));
  try {
    await fsp.rename(from, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    await fsp.copyFile(from, target);
    await fsp.unlink(from);
  }
  return target;
}

/** Write then rename, so a reader never sees a half-written file; fsync for durability. */
async function writeAtomic(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

export interface WatcherEvents {
  /** One admission read from an accepted file (index is 1-based). */
  admission: (outcome: FileOutcome, index: number) => void;
  /** A file finished: accepted, refused or recognised as already acknowledged. */
  file: (outcome: FileOutcome) => void;
  /** Something went wrong outside a file's content (directory, disk, state file). No patient data. */
  problem: (message: string) => void;
  /** After every poll (for status displays and tests). */
  poll: (info: { waiting: number }) => void;
  /** A file that failed to read while it may still be written waits for the quiet period (codes only). */
  deferred: (info: { file: string; codes: string[] }) => void;
}

export class HprimDropWatcher extends EventEmitter {
  readonly inputDir: string;
  readonly processedDir: string;
  readonly errorDir: string;
  readonly ackDir: string;
  readonly intervalMs: number;
  readonly completion: 'stable' | 'marker';
  readonly quietMs: number;
  private readonly re: RegExp;
  private readonly maxBytes: number;
  private readonly defaultCharset?: Charset;
  private readonly application: string;
  private readonly stateLimit: number;
  /** name → last seen size/mtime, since when, and how many later polls found it unchanged. */
  private seen = new Map<string, Seen>();
  /** name → size/mtime of a file whose reading failed while it was recent: waits for the quiet period. */
  private deferred = new Map<string, { size: number; mtimeMs: number }>();
  /** name → time before which a failed file is not retried (disk/ack problems, not content). */
  private cooldown = new Map<string, number>();
  /** `<sha256>:<size>` → entry, in insertion order (oldest first). */
  private state = new Map<string, StateEntry>();
  /** Lines in the state file (compacted when twice the limit). */
  private stateLines = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closed = false;
  private pollProblem?: string;
  private started = false;

  constructor(options: WatcherOptions) {
    super();
    if (!options.inputDir) throw new Error('HPRIM : répertoire de dépôt non configuré');
    this.inputDir = path.resolve(options.inputDir);
    this.processedDir = path.resolve(options.processedDir || path.join(this.inputDir, 'processed'));
    this.errorDir = path.resolve(options.errorDir || path.join(this.inputDir, 'error'));
    this.ackDir = path.resolve(options.ackDir || path.join(this.inputDir, 'ack'));
    for (const [what, dir] of [
      ['traités', this.processedDir],
      ['en erreur', this.errorDir],
      ['des acquittements', this.ackDir],
    ] as const) {
      if (dir === this.inputDir) throw new Error(`HPRIM : le répertoire ${what} doit être différent du répertoire de dépôt`);
    }
    this.intervalMs = Math.max(50, Number(options.intervalMs) || 2000);
    this.re = patternToRegExp(options.pattern ?? '*.hpr, *.xml');
    this.completion = options.completion === 'marker' ? 'marker' : 'stable';
    this.quietMs = Number(options.quietMs) >= 0 ? Number(options.quietMs) : DEFAULT_QUIET_MS; // undefined → NaN → default
    this.maxBytes = Number(options.maxBytes) > 0 ? Number(options.maxBytes) : 20 * 1024 * 1024;
    this.defaultCharset = options.defaultCharset;
    this.application = options.application || 'ROCBRIDGE';
    this.stateLimit = Number(options.stateLimit) > 0 ? Number(options.stateLimit) : 10000;
  }

  override on<E extends keyof WatcherEvents>(event: E, listener: WatcherEvents[E]): this {
    return super.on(event, listener);
  }

  /** Create the directories, load the state, start polling (first poll at once). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const d of [this.inputDir, this.processedDir, this.errorDir, this.ackDir]) await fsp.mkdir(d, { recursive: true });
    await this.loadState();
    this.schedule(0);
  }

  /** Stop polling; resolves once the poll in progress (if any) has finished. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.poll()
        .catch((err: Error) => {
          // said once until it changes or a poll succeeds (a missing share must not flood the log)
          const m = `HPRIM : relevé du répertoire de dépôt impossible (${(err as NodeJS.ErrnoException).code ?? err.name}), nouvel essai à chaque relevé`;
          if (m !== this.pollProblem) this.emit('problem', m);
          this.pollProblem = m;
          this.emit('poll', { waiting: 0 });
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.intervalMs);
        });
    }, ms);
  }

  private statePath(): string {
    return path.join(this.processedDir, STATE_FILE);
  }

  private async loadState(): Promise<void> {
    let raw: string;
    try {
      raw = await fsp.readFile(this.statePath(), 'utf8');
    } catch {
      return; // first start
    }
    const lines = raw.split('\n');
    const tornTail = !raw.endsWith('\n') && raw.length > 0;
    let bad = 0;
    lines.forEach((l, i) => {
      if (!l.trim()) return;
      try {
        const e = JSON.parse(l) as StateEntry;
        if (!e || typeof e.sha256 !== 'string' || typeof e.size !== 'number') throw new Error('shape');
        this.remember(e);
      } catch {
        // a torn last line is what a crash during an append leaves: the file was not acknowledged
        if (!(tornTail && i === lines.length - 1)) bad++;
      }
    });
    if (bad) {
      const aside = `${this.statePath()}.${stamp(new Date())}.corrupt`;
      await fsp.copyFile(this.statePath(), aside).catch(() => undefined);
      this.emit(
        'problem',
        `HPRIM : fichier d'état illisible (${bad} ligne(s)), copie mise de côté (${path.basename(aside)}) ; les fichiers de ces lignes ne seront plus reconnus`,
      );
    }
    this.stateLines = lines.filter((l) => l.trim()).length;
    if (bad || tornTail || this.stateLines > this.state.size) await this.compact();
  }

  private remember(e: StateEntry): void {
    const key = `${e.sha256}:${e.size}`;
    this.state.delete(key);
    this.state.set(key, e);
    while (this.state.size > this.stateLimit) this.state.delete(this.state.keys().next().value as string);
  }

  private async compact(): Promise<void> {
    this.stateLines = this.state.size;
    await writeAtomic(this.statePath(), [...this.state.values()].map((e) => JSON.stringify(e) + '\n').join(''));
  }

  private known(sha256: string, size: number): StateEntry | undefined {
    return this.state.get(`${sha256}:${size}`);
  }

  private async record(entry: StateEntry): Promise<void> {
    const fh = await fsp.open(this.statePath(), 'a');
    try {
      await fh.appendFile(JSON.stringify(entry) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.remember(entry);
    if (++this.stateLines > 2 * this.stateLimit) await this.compact();
  }

  /** One pass over the input directory. Exposed for tests and for an on-demand scan. */
  async poll(): Promise<void> {
    const entries = await fsp.readdir(this.inputDir, { withFileTypes: true });
    this.pollProblem = undefined;
    const names = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    for (const name of [...this.seen.keys()]) if (!names.has(name)) this.seen.delete(name);
    for (const name of [...this.cooldown.keys()]) if (!names.has(name)) this.cooldown.delete(name);
    for (const name of [...this.deferred.keys()]) if (!names.has(name)) this.deferred.delete(name);
    // in the order the files were written: modification time, then name
    const candidates: { name: string; size: number; mtimeMs: number }[] = [];
    for (const name of names) {
      if (!this.re.test(name) || name.endsWith('.tmp') || (this.completion === 'marker' && /\.ok$/i.test(name))) continue;
      try {
        const st = await fsp.stat(path.join(this.inputDir, name));
        candidates.push({ name, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // gone meanwhile
      }
    }
    candidates.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.name < b.name ? -1 : 1)); // names of one listing are distinct
    let waiting = 0;
    for (const { name, size, mtimeMs } of candidates) {
      if (this.closed) break;
      const until = this.cooldown.get(name);
      if (until !== undefined && until > Date.now()) continue;
      const seen = this.observe(name, size, mtimeMs);
      if (!this.complete(name, seen, names)) {
        waiting++;
        continue;
      }
      // read before and failed while recent: read again only once it changed or went quiet
      const d = this.deferred.get(name);
      if (d && d.size === size && d.mtimeMs === mtimeMs && this.recent(seen)) {
        waiting++;
        continue;
      }
      try {
        if (await this.handle(name, path.join(this.inputDir, name), seen)) {
          this.seen.delete(name);
          this.deferred.delete(name);
        } else waiting++;
        this.cooldown.delete(name);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT' && !(await exists(path.join(this.inputDir, name)))) continue; // taken by someone else
        this.cooldown.set(name, Date.now() + Math.max(30000, this.intervalMs * 5));
        this.emit(
          'problem',
          `HPRIM : ${name} non traité, nouvel essai plus tard (${e.code ?? e.name}${e.path ? ' sur ' + path.basename(e.path) : ''})`,
        );
      }
    }
    this.emit('poll', { waiting });
  }

  /** The file's size+mtime as seen by this poll, compared with the previous ones. */
  private observe(name: string, size: number, mtimeMs: number): Seen {
    const prev = this.seen.get(name);
    if (prev && prev.size === size && prev.mtimeMs === mtimeMs) {
      prev.polls++;
      return prev;
    }
    const fresh: Seen = { size, mtimeMs, since: Date.now(), polls: 0 };
    this.seen.set(name, fresh);
    return fresh;
  }

  private complete(name: string, seen: Seen, names: Set<string>): boolean {
    if (this.completion === 'marker') return names.has(`${name}.ok`);
    // an empty file is often a writer that has not started yet: give it more polls
    if (seen.polls < (seen.size > 0 ? 1 : EMPTY_STABLE_POLLS)) return false;
    return Date.now() - seen.since >= this.quietMs;
  }

  /**
   * Modified less than the quiet period ago, by our observation or by its mtime (an mtime in the
   * future — a share whose clock runs ahead — is not trusted: our observation alone decides).
   */
  private recent(seen: Seen): boolean {
    const now = Date.now();
    const age = now - seen.mtimeMs;
    return now - seen.since < this.quietMs || (age >= 0 && age < this.quietMs);
  }

  /**
   * A file about to be refused that may still be growing waits instead (remembered as deferred,
   * read again once quiet). True when it must wait.
   */
  private defer(name: string, seen: Seen, codes: string[]): boolean {
    if (!this.recent(seen)) return false;
    const first = !this.deferred.has(name);
    this.deferred.set(name, { size: seen.size, mtimeMs: seen.mtimeMs });
    if (first) this.emit('deferred', { file: name, codes });
    return true;
  }

  /** True when the file is done with (processed, refused, moved); false when it waits. */
  private async handle(name: string, full: string, seen: Seen): Promise<boolean> {
    const st = await fsp.stat(full);
    if (st.size !== seen.size || st.mtimeMs !== seen.mtimeMs) return false; // changed since the listing
    const base: Omit<FileOutcome, 'ok' | 'errors' | 'sha256'> = { file: name, duplicate: false, size: st.size };
    if (st.size > this.maxBytes) {
      if (this.defer(name, seen, ['FILE_TOO_LARGE'])) return false;
      // not read: identified by name, size and mtime
      const sha256 = createHash('sha256').update(`${name}:${st.size}:${st.mtimeMs}`).digest('hex');
      await this.conclude({ ...base, sha256, ok: false, errors: [] }, full, this.read(name, { size: st.size }));
      return true;
    }
    const bytes = await fsp.readFile(full);
    const after = await fsp.stat(full);
    // written to during the read: what was read may be a prefix; looked at again next poll
    if (bytes.length !== st.size || after.size !== st.size || after.mtimeMs !== st.mtimeMs) return false;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const outcome: FileOutcome = { ...base, size: bytes.length, sha256, ok: false, errors: [] };

    const prior = this.known(sha256, bytes.length);
    if (prior) {
      outcome.duplicate = true;
      outcome.ok = prior.outcome === 'ok';
      outcome.ackFile = prior.ack;
      outcome.movedTo = await move(full, prior.outcome === 'ok' ? this.processedDir : this.errorDir, name);
      await this.dropMarker(name);
      this.emit('file', outcome);
      return true;
    }

    const reading = this.read(name, bytes);
    // not HPRIM yet, or a file cut at its end (a writer pausing) that reads as truncated: refused only once quiet
    if (
      !reading.ok &&
      this.defer(
        name,
        seen,
        reading.errors.map((e) => e.code),
      )
    )
      return false;
    await this.conclude(outcome, full, reading);
    return true;
  }

  private read(name: string, content: Buffer | { size: number }): HprimFileReading {
    return readHprimFile(name, content, {
      defaultCharset: this.defaultCharset,
      maxFileBytes: this.maxBytes,
      application: this.application,
    });
  }

  /** Acknowledgement written, state recorded (the commit point), admissions emitted, file moved. */
  private async conclude(outcome: FileOutcome, full: string, reading: HprimFileReading): Promise<void> {
    const name = outcome.file;
    if (reading.format) outcome.format = reading.format;
    if (reading.result) outcome.result = reading.result;
    outcome.ok = reading.ok;
    outcome.errors = reading.errors;
    outcome.ackFile = await this.writeAck(reading.ack.fileName, reading.ack.bytes);
    await this.record({
      name,
      size: outcome.size,
      sha256: outcome.sha256,
      outcome: reading.ok ? 'ok' : 'error',
      ack: outcome.ackFile,
      at: new Date().toISOString(),
    });
    if (reading.ok && reading.result) reading.result.admissions.forEach((_a, i) => this.emit('admission', outcome, i + 1));
    outcome.movedTo = await move(full, reading.ok ? this.processedDir : this.errorDir, name);
    await this.dropMarker(name);
    this.emit('file', outcome);
  }

  private async writeAck(name: string, data: Buffer | string): Promise<string> {
    const free = await freeName(this.ackDir, name);
    await writeAtomic(path.join(this.ackDir, free), data);
    return free;
  }

  private async dropMarker(name: string): Promise<void> {
    if (this.completion !== 'marker') return;
    await fsp.unlink(path.join(this.inputDir, `${name}.ok`)).catch(() => undefined);
  }
}

/** The catch-able error text for a refused file (lib/hprim refusalText): its name, the first error's place, no patient data. */
export function refusalText(o: FileOutcome): string {
  return hprimRefusalText(o);
}
