/**
 * MLLP (Minimal Lower Layer Protocol) framing: VT (0x0B) <message> FS (0x1C) CR (0x0D).
 *
 * `MllpDeframer` is a streaming deframer: push the chunks as they come from the socket, get back
 * the events they complete. It copes with several frames per chunk, frames split anywhere (down to
 * one-byte chunks), bytes outside frames (reported as `garbage`, never silently dropped), frames
 * larger than `maxFrameSize` (reported once as `oversize` when they end, their bytes counted and
 * discarded without being buffered, only a small head kept so the listener can still find MSH-10),
 * and a frame that never ends (reported by `flush()`).
 *
 * Tolerances: an FS not followed by CR still ends the frame (the CR is consumed when present); a VT
 * inside a frame abandons the partial frame (reported as `incomplete`) and starts a new one.
 * Scanning uses `indexOf`; bytes are copied into a growing buffer (amortised, no per-chunk concat).
 */

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export const DEFAULT_MAX_FRAME_SIZE = 1024 * 1024;
/** Garbage is reported in pieces of at most this many bytes. */
export const DEFAULT_MAX_GARBAGE_SIZE = 64 * 1024;
/** How much of an oversize frame is kept (enough for an MSH segment). */
export const DEFAULT_OVERSIZE_HEAD = 4096;

export type MllpEvent =
  /** A complete frame's payload (between VT and FS), a copy the caller may keep. */
  | { kind: 'frame'; bytes: Buffer }
  /**
   * Bytes found outside any frame. `blank` is true when they are only CR/LF/space/tab (a common
   * sender habit after FS CR, harmless).
   */
  | { kind: 'garbage'; bytes: Buffer; blank: boolean }
  /**
   * A frame larger than maxFrameSize: reported once, when its FS arrives (or on flush with
   * `terminated: false`). `size` is the payload size in bytes; `head` its first bytes.
   */
  | { kind: 'oversize'; size: number; head: Buffer; terminated: boolean }
  /** A frame cut short: by flush() (never ended) or by a VT before its FS. */
  | { kind: 'incomplete'; bytes: Buffer; reason: 'flush' | 'restarted' };

export interface MllpDeframerOptions {
  /** Largest payload accepted, in bytes (default 1 MiB). */
  maxFrameSize?: number;
  /** Garbage is reported in pieces of at most this size (default 64 KiB). */
  maxGarbageSize?: number;
  /** Bytes of an oversize frame kept in the event (default 4 KiB, capped by maxFrameSize). */
  oversizeHead?: number;
}

/** A byte accumulator that grows by doubling (amortised O(n), no Buffer.concat per chunk). */
class Accumulator {
  private buf: Buffer;
  length = 0;
  constructor(private readonly initial: number) {
    this.buf = Buffer.allocUnsafe(0);
  }
  append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    const need = this.length + n;
    if (need > this.buf.length) {
      // Stryker disable next-line ArithmeticOperator: the loop below doubles up to the size needed anyway; only the amortised growth differs
      let cap = Math.max(this.initial, this.buf.length * 2);
      while (cap < need) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    src.copy(this.buf, this.length, start, end);
    this.length = need;
  }
  /** A copy of the content, then empty (the storage is released when it got big). */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length));
    this.clear();
    return out;
  }
  head(max: number): Buffer {
    return Buffer.from(this.buf.subarray(0, Math.min(max, this.length)));
  }
  clear(): void {
    this.length = 0;
    // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: memory only: whether a large buffer is released after a frame; the events are the same
    if (this.buf.length > 64 * 1024) this.buf = Buffer.allocUnsafe(0);
  }
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

export class MllpDeframer {
  readonly maxFrameSize: number;
  private readonly maxGarbageSize: number;
  private readonly headSize: number;
  private readonly frameBuf = new Accumulator(4096);
  private readonly garbageBuf = new Accumulator(256);
  private inFrame = false;
  /** The current frame went over maxFrameSize: count, do not keep. */
  // Stryker disable next-line BooleanLiteral: startFrame() sets it before any byte of a frame is read
  private discarding = false;
  private discardedSize = 0;
  private discardedHead: Buffer = Buffer.alloc(0);
  /** An FS ended the previous chunk: swallow a CR at the start of the next one. */
  private pendingCr = false;

  constructor(options: MllpDeframerOptions = {}) {
    const max = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxFrameSize must be a positive integer');
    this.maxFrameSize = max;
    this.maxGarbageSize = Math.max(1, options.maxGarbageSize ?? DEFAULT_MAX_GARBAGE_SIZE);
    this.headSize = Math.min(options.oversizeHead ?? DEFAULT_OVERSIZE_HEAD, max);
  }

  /** Bytes currently held (partial frame + pending garbage): bounded by the two maxima. */
  get buffered(): number {
    return this.frameBuf.length + this.garbageBuf.length;
  }

  /** True while a frame has started and not ended. */
  get inProgress(): boolean {
    return this.inFrame;
  }

  /** Feed a chunk; returns the events it completes, in stream order. */
  push(chunk: Buffer | Uint8Array): MllpEvent[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: MllpEvent[] = [];
    const n = buf.length;
    let i = 0;
    if (this.pendingCr && n > 0) {
      this.pendingCr = false;
      if (buf[0] === CR) i = 1;
    }
    while (i < n) {
      if (!this.inFrame) {
        const vt = buf.indexOf(VT, i);
        const stop = vt === -1 ? n : vt;
        if (stop > i) this.addGarbage(buf, i, stop, out);
        if (vt === -1) break;
        this.emitGarbage(out);
        this.startFrame();
        i = vt + 1;
        continue;
      }
      const fs = buf.indexOf(FS, i);
      const end = fs === -1 ? n : fs;
      const vt = buf.indexOf(VT, i);
      if (vt !== -1 && vt < end) {
        // A new frame starts before this one ended: report the partial one, restart.
        this.addToFrame(buf, i, vt);
        this.endFrame(out, false, 'restarted');
        this.startFrame();
        i = vt + 1;
        continue;
      }
      if (fs === -1) {
        this.addToFrame(buf, i, n);
        break;
      }
      // Stryker disable next-line ArithmeticOperator: a frame sent to the slow path gives the same bytes (the fast path only spares a copy)
      if (!this.discarding && this.frameBuf.length === 0 && fs - i <= this.maxFrameSize) {
        // Fast path: the whole frame is inside this chunk.
        out.push({ kind: 'frame', bytes: Buffer.from(buf.subarray(i, fs)) });
        this.inFrame = false;
      } else {
        this.addToFrame(buf, i, fs);
        // Stryker disable next-line StringLiteral: the reason is only read for an unterminated frame; this one is terminated
        this.endFrame(out, true, 'flush');
      }
      i = fs + 1;
      if (i < n) {
        if (buf[i] === CR) i++;
      } else {
        this.pendingCr = true;
      }
    }
    return out;
  }

  /**
   * End of stream (socket closed): report a frame that never ended and any pending garbage,
   * then reset. The deframer can be reused afterwards.
   */
  flush(): MllpEvent[] {
    const out: MllpEvent[] = [];
    this.emitGarbage(out);
    if (this.inFrame) this.endFrame(out, false, 'flush');
    this.pendingCr = false;
    return out;
  }

  private startFrame(): void {
    this.inFrame = true;
    this.discarding = false;
    this.discardedSize = 0;
    this.frameBuf.clear();
  }

  private addToFrame(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.discarding) {
      this.discardedSize += n;
      return;
    }
    if (this.frameBuf.length + n > this.maxFrameSize) {
      // Keep only a head (for MSH-10), then count and discard until the frame ends.
      const have = this.frameBuf.length;
      const head = this.frameBuf.head(this.headSize);
      const more = Math.max(0, Math.min(this.headSize - head.length, n));
      this.discardedHead = more > 0 ? Buffer.concat([head, buf.subarray(start, start + more)]) : head;
      this.discardedSize = have + n;
      this.discarding = true;
      this.frameBuf.clear();
      return;
    }
    this.frameBuf.append(buf, start, end);
  }

  private endFrame(out: MllpEvent[], terminated: boolean, reason: 'flush' | 'restarted'): void {
    if (this.discarding) {
      out.push({ kind: 'oversize', size: this.discardedSize, head: this.discardedHead, terminated });
      // Stryker disable next-line BooleanLiteral: startFrame() resets it before the next frame reads it
      this.discarding = false;
      this.discardedSize = 0;
      this.discardedHead = Buffer.alloc(0);
    } else if (terminated) {
      out.push({ kind: 'frame', bytes: this.frameBuf.take() });
    } else {
      out.push({ kind: 'incomplete', bytes: this.frameBuf.take(), reason });
    }
    this.inFrame = false;
  }

  private addGarbage(buf: Buffer, start: number, end: number, out: MllpEvent[]): void {
    while (start < end) {
      const room = this.maxGarbageSize - this.garbageBuf.length;
      const take = Math.min(room, end - start);
      this.garbageBuf.append(buf, start, start + take);
      start += take;
      if (this.garbageBuf.length >= this.maxGarbageSize) this.emitGarbage(out);
    }
  }

  private emitGarbage(out: MllpEvent[]): void {
    if (this.garbageBuf.length === 0) return;
    const bytes = this.garbageBuf.take();
    out.push({ kind: 'garbage', bytes, blank: isBlank(bytes) });
  }
}

/** Wrap a payload for sending: VT payload FS CR. Refuses a payload containing VT or FS. */
export function frame(payload: Buffer | Uint8Array): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (p.indexOf(VT) !== -1 || p.indexOf(FS) !== -1) {
    throw new RangeError('MLLP payload must not contain VT (0x0B) or FS (0x1C) bytes');
  }
  const out = Buffer.allocUnsafe(p.length + 3);
  out[0] = VT;
  p.copy(out, 1);
  out[p.length + 1] = FS;
  out[p.length + 2] = CR;
  return out;
}
