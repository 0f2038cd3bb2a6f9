/**
 * A small pool of worker threads that decode desk photos (image-worker.ts), so that decoding a
 * large PNG or JPEG never holds the event loop of the runtime (MLLP ACKs, HTTP answers).
 *
 *  - `size` workers at most (default: 1 on a 1–2 core machine, 2 above), started on demand;
 *  - a bounded queue: past `maxQueue` images waiting, an image is refused at once (LECTEUR_OCCUPE);
 *  - a time limit per image: past `timeoutMs` the worker is terminated and the image refused
 *    (IMAGE_TROP_LONGUE); a fresh worker takes the next image;
 *  - V8 heap limits per worker (`resourceLimits`): a decode bomb that exhausts them kills that
 *    worker only (IMAGE_TROP_COMPLEXE), never the runtime;
 *  - idle workers do not keep the process alive (unref) and are stopped after `idleMs`.
 *
 * `decode()` never rejects: every outcome is a DecodeResult with a French reason.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { IMAGE_REFUSALS } from './messages';
import type { DecodeOptions, DecodeResult } from './types';

export interface DecodePoolOptions {
  /** Worker threads at most (default: 1 on a 1–2 core machine, 2 above). */
  size?: number;
  /** Images waiting for a worker at most; past it, refused at once (default 4). */
  maxQueue?: number;
  /** Time limit of one decode in a worker, in ms (default 20 000). */
  timeoutMs?: number;
  /** V8 old-generation heap of a worker, in MB (default 256). Pixel buffers are bounded by the pixel budget. */
  maxOldGenerationSizeMb?: number;
  /** An idle worker is stopped after this many ms (default 60 000). */
  idleMs?: number;
}

export const DEFAULT_POOL_TIMEOUT_MS = 20_000;
export const DEFAULT_POOL_QUEUE = 4;
export const DEFAULT_WORKER_HEAP_MB = 256;

export function defaultPoolSize(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores > 2 ? 2 : 1;
}

/**
 * Pool options from the environment (ROC_IMAGE_WORKERS, ROC_IMAGE_QUEUE, ROC_IMAGE_TIMEOUT_S,
 * ROC_IMAGE_WORKER_HEAP_MB); a missing or invalid value keeps the default.
 */
export function decodePoolOptionsFromEnv(env: Record<string, string | undefined>): DecodePoolOptions {
  const int = (name: string, min: number, max: number): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
  };
  const seconds = int('ROC_IMAGE_TIMEOUT_S', 1, 600);
  const opts: DecodePoolOptions = {
    size: int('ROC_IMAGE_WORKERS', 1, 16),
    maxQueue: int('ROC_IMAGE_QUEUE', 0, 1000),
    timeoutMs: seconds === undefined ? undefined : Math.round(seconds * 1000),
    maxOldGenerationSizeMb: int('ROC_IMAGE_WORKER_HEAP_MB', 64, 8192),
  };
  for (const k of Object.keys(opts) as (keyof DecodePoolOptions)[]) if (opts[k] === undefined) delete opts[k];
  return opts;
}

interface Job {
  bytes: Uint8Array;
  opts: DecodeOptions;
  resolve: (r: DecodeResult) => void;
  timeoutMs: number;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  /** Set once the pool stopped this worker on purpose (time limit, idle, close). */
  stopping?: boolean;
}

function refusal(code: 'IMAGE_TROP_LONGUE' | 'IMAGE_TROP_COMPLEXE' | 'LECTEUR_OCCUPE', arg?: number): DecodeResult {
  const reason =
    code === 'IMAGE_TROP_LONGUE'
      ? IMAGE_REFUSALS.IMAGE_TROP_LONGUE((arg ?? 0) / 1000)
      : code === 'LECTEUR_OCCUPE'
        ? IMAGE_REFUSALS.LECTEUR_OCCUPE(arg ?? 0)
        : IMAGE_REFUSALS.IMAGE_TROP_COMPLEXE();
  return { ok: false, code, reason };
}

/**
 * Where the worker's code is: image-worker.js next to this file when running compiled (dist/,
 * the runtime). When running from the TypeScript sources (ts-jest), the worker's .ts files (its
 * entry and what it imports) are transpiled here (the typescript package, already loaded by ts-jest) and handed
 * to a small bootstrap, so tests exercise the sources and the worker stays as light as in dist/.
 */
let transpiled: Record<string, string> | undefined;
function workerSource(): { file: string; eval: boolean; workerData?: unknown } {
  const js = path.join(__dirname, 'image-worker.js');
  if (fs.existsSync(js)) return { file: js, eval: false };
  if (!transpiled) {
    interface Ts {
      transpileModule(src: string, o: { fileName: string; compilerOptions: Record<string, unknown> }): { outputText: string };
      ModuleKind: { CommonJS: unknown };
      ScriptTarget: { ES2022: unknown };
    }
    // Node's own require (not a test runner's module registry): typescript is loaded once.
    const ts = createRequire(__filename)('typescript') as Ts;
    // The worker's entry and every relative module it imports, transitively.
    const out: Record<string, string> = {};
    const todo = [path.join(__dirname, 'image-worker.ts')];
    while (todo.length) {
      const file = todo.pop()!;
      if (out[file] !== undefined) continue;
      const src = fs.readFileSync(file, 'utf8');
      out[file] = ts.transpileModule(src, {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText;
      for (const m of src.matchAll(/(?:from|require\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const base = path.resolve(path.dirname(file), m[1]);
        const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
        if (found) todo.push(found);
      }
    }
    transpiled = out;
  }
  const boot = `
    const { workerData } = require('node:worker_threads');
    require.extensions['.ts'] = (m, filename) => {
      const js = workerData.sources[filename];
      if (js === undefined) throw new Error('image worker: ' + filename + ' was not transpiled');
      m._compile(js, filename);
    };
    require(workerData.entry);`;
  return { file: boot, eval: true, workerData: { entry: path.join(__dirname, 'image-worker.ts'), sources: transpiled } };
}

export class DecodePool {
  readonly size: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;
  readonly heapMb: number;
  readonly idleMs: number;
  private slots: Slot[] = [];
  private queue: Job[] = [];
  private closed = false;

  constructor(opts: DecodePoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? defaultPoolSize()));
    this.maxQueue = Math.max(0, Math.floor(opts.maxQueue ?? DEFAULT_POOL_QUEUE));
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? DEFAULT_POOL_TIMEOUT_MS);
    this.heapMb = Math.max(16, opts.maxOldGenerationSizeMb ?? DEFAULT_WORKER_HEAP_MB);
    this.idleMs = Math.max(0, opts.idleMs ?? 60_000);
  }

  /** Workers running, images being decoded, images waiting. */
  stats(): { workers: number; busy: number; queued: number } {
    return { workers: this.slots.length, busy: this.slots.filter((s) => s.job).length, queued: this.queue.length };
  }

  /**
   * Decode one image in a worker. Never rejects. Header checks are the caller's (decodeImage).
   * `limits.timeoutMs` overrides the pool's time limit for this image.
   */
  decode(buf: Buffer, opts: DecodeOptions = {}, limits: { timeoutMs?: number } = {}): Promise<DecodeResult> {
    if (this.closed) return Promise.resolve(refusal('LECTEUR_OCCUPE', 0));
    return new Promise<DecodeResult>((resolve) => {
      // A copy the worker will own (the caller's Buffer may be a slice of a shared pool).
      const job: Job = { bytes: new Uint8Array(buf), opts, resolve, timeoutMs: Math.max(1, limits.timeoutMs ?? this.timeoutMs) };
      this.queue.push(job);
      this.pump();
      // Images waiting for a worker (not those a starting worker is about to take) are bounded.
      const starting = this.slots.filter((s) => !s.ready).length;
      if (this.queue.length - starting > this.maxQueue) {
        this.queue.splice(this.queue.indexOf(job), 1);
        resolve(refusal('LECTEUR_OCCUPE', this.queue.length - starting));
      }
    });
  }

  /** Stops every worker; waiting images are answered LECTEUR_OCCUPE. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(refusal('LECTEUR_OCCUPE', 0));
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map((s) => {
        s.stopping = true;
        clearTimeout(s.timer);
        clearTimeout(s.idleTimer);
        s.job?.resolve(refusal('LECTEUR_OCCUPE', 0));
        s.job = undefined;
        return s.worker.terminate().catch(() => undefined);
      }),
    );
  }

  private pump(): void {
    if (this.closed) return;
    for (const s of this.slots) {
      if (!this.queue.length) return;
      if (s.ready && !s.job) this.start(s, this.queue.shift()!);
    }
    let starting = this.slots.filter((s) => !s.ready).length;
    while (this.queue.length > starting && this.slots.length < this.size) {
      try {
        this.spawn();
        starting++;
      } catch {
        // No worker can be started (worker file missing, threads exhausted): the image waiting
        // longest is answered rather than left hanging.
        this.queue.shift()?.resolve(refusal('IMAGE_TROP_COMPLEXE'));
      }
    }
  }

  private spawn(): void {
    const src = workerSource();
    const worker = new Worker(src.file, {
      eval: src.eval,
      workerData: src.workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    worker.on('message', (m: { ready?: true; result?: DecodeResult }) => {
      if (m && m.ready) {
        slot.ready = true;
        this.idle(slot);
        this.pump();
        return;
      }
      const job = slot.job;
      if (!job || !m || !m.result) return;
      clearTimeout(slot.timer);
      slot.job = undefined;
      job.resolve(m.result);
      this.idle(slot);
      this.pump();
    });
    // An error (out of memory, a crash) or an unexpected exit: the image in hand is answered,
    // the slot freed, the next image gets a fresh worker.
    const lost = () => {
      if (slot.stopping) return;
      slot.stopping = true;
      clearTimeout(slot.timer);
      clearTimeout(slot.idleTimer);
      this.slots = this.slots.filter((s) => s !== slot);
      const job = slot.job ?? (slot.ready ? undefined : this.queue.shift());
      slot.job = undefined;
      job?.resolve(refusal('IMAGE_TROP_COMPLEXE'));
      worker.terminate().catch(() => undefined);
      this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', lost);
  }

  private start(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      // Past the time limit: the worker is stuck in synchronous code, only terminate stops it.
      slot.stopping = true;
      this.slots = this.slots.filter((s) => s !== slot);
      slot.job = undefined;
      job.resolve(refusal('IMAGE_TROP_LONGUE', job.timeoutMs));
      slot.worker.terminate().catch(() => undefined);
      this.pump();
    }, job.timeoutMs);
    const bytes = job.bytes;
    job.bytes = new Uint8Array(0);
    slot.worker.postMessage({ bytes, opts: job.opts }, [bytes.buffer as ArrayBuffer]);
  }

  private idle(slot: Slot): void {
    slot.worker.unref();
    clearTimeout(slot.idleTimer);
    if (this.idleMs > 0) {
      slot.idleTimer = setTimeout(() => {
        if (slot.job || slot.stopping) return;
        slot.stopping = true;
        this.slots = this.slots.filter((s) => s !== slot);
        slot.worker.terminate().catch(() => undefined);
      }, this.idleMs);
      slot.idleTimer.unref();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The process-wide pool: created on first use; users (roc-datamatrix nodes) hold it with
// acquire/release, and the last release closes it (no worker survives a redeploy or a test).

let shared: DecodePool | undefined;
let sharedOptions: DecodePoolOptions = {};
let users = 0;

/** The shared pool, created now if needed. */
export function sharedDecodePool(): DecodePool {
  shared ??= new DecodePool(sharedOptions);
  return shared;
}

/** The shared pool's state, or undefined when there is none (closed, or no image yet). */
export function sharedDecodePoolStats(): { workers: number; busy: number; queued: number } | undefined {
  return shared?.stats();
}

/** Options of the shared pool from now on (applied when it is next created). */
export function configureSharedDecodePool(opts: DecodePoolOptions): void {
  sharedOptions = { ...opts };
}

/** A user of the shared pool starts: the pool itself is only created at the first image. */
export function acquireSharedDecodePool(): void {
  users++;
}

/** A user of the shared pool goes away; the last one closes it. */
export async function releaseSharedDecodePool(): Promise<void> {
  users = Math.max(0, users - 1);
  if (users === 0) await closeSharedDecodePool();
}

/** Closes the shared pool now (tests, shutdown); the next image creates a new one. */
export async function closeSharedDecodePool(): Promise<void> {
  const p = shared;
  shared = undefined;
  if (p) await p.close();
}
