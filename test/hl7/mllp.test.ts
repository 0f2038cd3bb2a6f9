import { readFileSync } from 'fs';
import * as path from 'path';
import { MllpDeframer, frame, type MllpEvent, VT, FS, CR } from '../../lib/hl7/mllp';

const FIX = path.join(__dirname, '..', 'fixtures', 'hl7');
const a01 = readFileSync(path.join(FIX, 'pamfr-own-adt-a01-amo-amc-utf8.hl7'));
const a03 = readFileSync(path.join(FIX, 'pamfr-own-adt-a03-sortie-8859-15-sans-msh18.hl7'));

function feed(d: MllpDeframer, chunks: Buffer[]): MllpEvent[] {
  const out: MllpEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  return out;
}

function frames(events: MllpEvent[]): Buffer[] {
  return events.filter((e) => e.kind === 'frame').map((e) => (e as { bytes: Buffer }).bytes);
}

describe('MLLP framing', () => {
  it('frame() wraps a payload in VT … FS CR and refuses control bytes inside', () => {
    const f = frame(Buffer.from('MSH|^~\\&|X\r'));
    expect(f[0]).toBe(VT);
    expect(f.subarray(-2)).toEqual(Buffer.from([FS, CR]));
    expect(f.subarray(1, -2).toString()).toBe('MSH|^~\\&|X\r');
    expect(() => frame(Buffer.from([0x41, FS, 0x42]))).toThrow(/FS/);
  });

  it('gives back the exact bytes of a frame sent in one chunk', () => {
    const d = new MllpDeframer();
    const ev = d.push(frame(a01));
    expect(ev).toHaveLength(1);
    expect(ev[0]).toEqual({ kind: 'frame', bytes: a01 });
  });

  it('reassembles frames pushed one byte at a time', () => {
    const stream = Buffer.concat([frame(a01), frame(a03), frame(a01)]);
    const d = new MllpDeframer();
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) chunks.push(stream.subarray(i, i + 1));
    const ev = feed(d, chunks);
    expect(ev.map((e) => e.kind)).toEqual(['frame', 'frame', 'frame']);
    expect(frames(ev)).toEqual([a01, a03, a01]);
    expect(d.flush()).toEqual([]);
  });

  it('splits hundreds of frames arriving in a single chunk', () => {
    const many = Buffer.concat(Array.from({ length: 500 }, (_, i) => frame(i % 2 ? a01 : a03)));
    const d = new MllpDeframer();
    const ev = d.push(many);
    expect(ev).toHaveLength(500);
    expect(ev.every((e) => e.kind === 'frame')).toBe(true);
    expect(frames(ev)[499]).toEqual(a01);
    expect(frames(ev)[0]).toEqual(a03);
  });

  it('copes with frame boundaries at every possible split point', () => {
    const stream = Buffer.concat([frame(a03), Buffer.from('junk'), frame(a01)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new MllpDeframer();
      const ev = feed(d, [stream.subarray(0, cut), stream.subarray(cut)]);
      const got = frames(ev);
      expect(got).toHaveLength(2);
      expect(got[0].equals(a03) && got[1].equals(a01)).toBe(true);
      const garbage = ev.filter((e) => e.kind === 'garbage');
      expect(Buffer.concat(garbage.map((g) => (g as { bytes: Buffer }).bytes)).toString()).toBe('junk');
    }
  });

  it('reports garbage between frames instead of losing it, and flags harmless blank lines', () => {
    const d = new MllpDeframer();
    const ev = d.push(Buffer.concat([Buffer.from('HELLO'), frame(a03), Buffer.from('\n'), frame(a01), Buffer.from('tail')]));
    expect(ev.map((e) => e.kind)).toEqual(['garbage', 'frame', 'garbage', 'frame']);
    expect(ev[0]).toMatchObject({ kind: 'garbage', blank: false });
    expect((ev[0] as { bytes: Buffer }).bytes.toString()).toBe('HELLO');
    expect(ev[2]).toMatchObject({ kind: 'garbage', blank: true });
    // trailing garbage stays pending until a frame starts or the stream ends
    const end = d.flush();
    expect(end).toHaveLength(1);
    expect((end[0] as { bytes: Buffer }).bytes.toString()).toBe('tail');
  });

  it('reports a long run of garbage in bounded pieces', () => {
    const d = new MllpDeframer({ maxGarbageSize: 1000 });
    const ev = d.push(Buffer.alloc(3500, 0x41));
    expect(ev.map((e) => (e as { bytes: Buffer }).bytes.length)).toEqual([1000, 1000, 1000]);
    expect(d.buffered).toBe(500);
    expect((d.flush()[0] as { bytes: Buffer }).bytes.length).toBe(500);
  });

  it('accepts an FS without CR and swallows the CR when it arrives in the next chunk', () => {
    const d = new MllpDeframer();
    const body = Buffer.from('MSH|^~\\&|A\r');
    const ev = feed(d, [
      Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS])]),
      Buffer.from([CR, VT]),
      body,
      Buffer.from([FS, VT]),
      body,
      Buffer.from([FS, CR]),
    ]);
    expect(ev.map((e) => e.kind)).toEqual(['frame', 'frame', 'frame']);
  });

  it('reports a frame that never ends on flush, and a frame restarted by a new VT', () => {
    const d = new MllpDeframer();
    const half = frame(a01).subarray(0, 200);
    expect(d.push(half)).toEqual([]);
    expect(d.inProgress).toBe(true);
    const ev = d.push(frame(a03));
    expect(ev[0]).toMatchObject({ kind: 'incomplete', reason: 'restarted' });
    expect((ev[0] as { bytes: Buffer }).bytes).toEqual(a01.subarray(0, 199));
    expect(ev[1]).toEqual({ kind: 'frame', bytes: a03 });
    d.push(half);
    const end = d.flush();
    expect(end).toEqual([{ kind: 'incomplete', bytes: a01.subarray(0, 199), reason: 'flush' }]);
    expect(d.inProgress).toBe(false);
    // usable again after flush
    expect(frames(d.push(frame(a03)))).toEqual([a03]);
  });

  it('reports an oversize frame once, keeps its head for MSH-10, and resumes at the next frame', () => {
    const d = new MllpDeframer({ maxFrameSize: 2048 });
    const big = Buffer.concat([a01, Buffer.alloc(10_000, 0x58)]);
    const ev = d.push(Buffer.concat([frame(big), frame(a03)]));
    expect(ev.map((e) => e.kind)).toEqual(['oversize', 'frame']);
    expect(ev[0]).toMatchObject({ kind: 'oversize', size: big.length, terminated: true });
    expect((ev[0] as { head: Buffer }).head.toString('latin1')).toContain('A01-UTF8-0001');
    expect(frames(ev)).toEqual([a03]);
  });

  it('streams a 50 MB frame in 64 KiB chunks without holding it in memory', () => {
    const d = new MllpDeframer(); // 1 MiB default
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const total = 50 * 1024 * 1024;
    const events: MllpEvent[] = [];
    events.push(...d.push(Buffer.concat([Buffer.from([VT]), a01])));
    let maxBuffered = 0;
    for (let sent = 0; sent < total; sent += chunk.length) {
      events.push(...d.push(chunk));
      maxBuffered = Math.max(maxBuffered, d.buffered);
    }
    events.push(...d.push(Buffer.from([FS, CR])));
    events.push(...d.push(frame(a03)));
    expect(maxBuffered).toBeLessThanOrEqual(1024 * 1024);
    expect(d.buffered).toBe(0);
    expect(events.map((e) => e.kind)).toEqual(['oversize', 'frame']);
    expect(events[0]).toMatchObject({ size: a01.length + total, terminated: true });
    expect((events[0] as { head: Buffer }).head.length).toBeLessThanOrEqual(4096);
  });

  it('reports an oversize frame that never ends on flush', () => {
    const d = new MllpDeframer({ maxFrameSize: 100 });
    d.push(Buffer.concat([Buffer.from([VT]), Buffer.alloc(500, 0x41)]));
    expect(d.buffered).toBe(0);
    expect(d.flush()).toEqual([{ kind: 'oversize', size: 500, head: Buffer.alloc(100, 0x41), terminated: false }]);
  });

  it('refuses a nonsensical maximum', () => {
    expect(() => new MllpDeframer({ maxFrameSize: 0 })).toThrow(RangeError);
  });
});
