/**
 * MLLP deframer, the edges a real GAP connection meets: Uint8Array chunks, an empty chunk between
 * FS and its CR, blank bytes of every kind, an oversize frame whose head arrives in pieces or that
 * a new VT cuts, options out of range. Complements mllp.test.ts.
 */
import { CR, FS, MllpDeframer, VT, frame, type MllpEvent } from '../../lib/hl7/mllp';

const MSG = Buffer.from('MSH|^~\\&|CPAGE|CHU-NORD|ROC-BRIDGE|CHU-NORD|20250114093512||ADT^A01^ADT_A01|A01-0001|P|2.5\rPID|1||481516\r');
const kinds = (ev: MllpEvent[]) => ev.map((e) => e.kind);
const bytesOf = (e: MllpEvent | undefined): Buffer => (e as { bytes: Buffer }).bytes;

describe('MLLP deframer edges', () => {
  it('takes Uint8Array chunks and payloads, even views into a larger buffer', () => {
    const framed = frame(MSG);
    const backing = new Uint8Array(framed.length + 20);
    backing.set(framed, 10);
    const view = new Uint8Array(backing.buffer, 10, framed.length);
    const d = new MllpDeframer();
    expect(d.push(view)).toStrictEqual([{ kind: 'frame', bytes: MSG }]);
    const payloadView = new Uint8Array(backing.buffer, 11, MSG.length);
    expect(frame(payloadView)).toStrictEqual(framed);
  });

  it('frame() refuses a VT inside the payload as well as an FS', () => {
    expect(() => frame(Buffer.from([0x41, VT, 0x42]))).toThrow('MLLP payload must not contain VT (0x0B) or FS (0x1C) bytes');
    expect(frame(Buffer.alloc(0))).toStrictEqual(Buffer.from([VT, FS, CR]));
  });

  it('an empty chunk after FS does not lose the CR that follows', () => {
    const d = new MllpDeframer();
    const ev = [
      ...d.push(Buffer.concat([Buffer.from([VT]), MSG, Buffer.from([FS])])),
      ...d.push(Buffer.alloc(0)),
      ...d.push(Buffer.from([CR])),
    ];
    expect(kinds(ev)).toStrictEqual(['frame']);
    expect(d.flush()).toStrictEqual([]);
    // only one CR is swallowed: a second one is garbage, blank
    const d2 = new MllpDeframer();
    d2.push(Buffer.concat([Buffer.from([VT]), MSG, Buffer.from([FS])]));
    d2.push(Buffer.from([CR, CR]));
    expect(d2.flush()).toStrictEqual([{ kind: 'garbage', bytes: Buffer.from([CR]), blank: true }]);
    // a byte other than CR after FS is kept as garbage
    const d3 = new MllpDeframer();
    d3.push(Buffer.concat([Buffer.from([VT]), MSG, Buffer.from([FS])]));
    d3.push(Buffer.from('x'));
    expect(d3.flush()).toStrictEqual([{ kind: 'garbage', bytes: Buffer.from('x'), blank: false }]);
  });

  it('within one chunk, the byte after FS is swallowed only when it is a CR', () => {
    const d = new MllpDeframer();
    const ev = d.push(Buffer.concat([Buffer.from([VT]), MSG, Buffer.from([FS]), Buffer.from('\n'), frame(MSG)]));
    expect(kinds(ev)).toStrictEqual(['frame', 'garbage', 'frame']);
    expect(ev[1]).toStrictEqual({ kind: 'garbage', bytes: Buffer.from('\n'), blank: true });
  });

  it('blank garbage is CR, LF, space or tab only', () => {
    for (const [text, blank] of [
      ['\r\n \t', true],
      [' ', true],
      ['\t', true],
      ['\n', true],
      ['\r', true],
      ['\r\nx', false],
      ['\x00', false],
      ['\x0c', false],
    ] as Array<[string, boolean]>) {
      const d = new MllpDeframer();
      const ev = d.push(Buffer.concat([Buffer.from(text, 'latin1'), frame(MSG)]));
      expect([JSON.stringify(text), ev[0]]).toStrictEqual([
        JSON.stringify(text),
        { kind: 'garbage', bytes: Buffer.from(text, 'latin1'), blank },
      ]);
    }
  });

  it('garbage pieces: at least one byte each, even with a nonsensical size; pending garbage is counted', () => {
    const d = new MllpDeframer({ maxGarbageSize: 0 });
    expect(d.push(Buffer.from('abc')).map((e) => bytesOf(e).toString())).toStrictEqual(['a', 'b', 'c']);
    const e = new MllpDeframer({ maxGarbageSize: 4 });
    expect(e.push(Buffer.from('abcd')).map((x) => bytesOf(x).toString())).toStrictEqual(['abcd']);
    expect(e.buffered).toBe(0);
    expect(e.push(Buffer.from('abc'))).toStrictEqual([]);
    expect(e.buffered).toBe(3);
    expect(e.push(Buffer.from('de')).map((x) => bytesOf(x).toString())).toStrictEqual(['abcd']);
    expect(e.buffered).toBe(1);
  });

  it('a partial frame is counted in buffered and grows past its first allocation intact', () => {
    const d = new MllpDeframer();
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = 0x20 + (i % 90);
    d.push(Buffer.from([VT]));
    for (let k = 0; k < big.length; k += 1000) d.push(big.subarray(k, k + 1000));
    expect(d.buffered).toBe(20_000);
    expect(d.inProgress).toBe(true);
    expect(d.push(Buffer.from([FS, CR]))).toStrictEqual([{ kind: 'frame', bytes: big }]);
    expect(d.buffered).toBe(0);
    // a large frame released, then a small one
    const small = Buffer.from('MSH|^~\\&|X');
    d.push(Buffer.concat([Buffer.from([VT]), small.subarray(0, 4)]));
    expect(d.push(Buffer.concat([small.subarray(4), Buffer.from([FS, CR])]))).toStrictEqual([{ kind: 'frame', bytes: small }]);
  });

  it('a frame of exactly maxFrameSize bytes is accepted, one more is oversize', () => {
    const d = new MllpDeframer({ maxFrameSize: MSG.length });
    expect(kinds(d.push(frame(MSG)))).toStrictEqual(['frame']);
    const split = frame(MSG);
    expect(kinds([...d.push(split.subarray(0, 10)), ...d.push(split.subarray(10))])).toStrictEqual(['frame']);
    const over = Buffer.concat([MSG, Buffer.from('Z')]);
    expect(d.push(frame(over))).toStrictEqual([{ kind: 'oversize', size: over.length, head: MSG, terminated: true }]);
  });

  it('the head of an oversize frame is completed from the chunk that overflows, up to its size', () => {
    const d = new MllpDeframer({ maxFrameSize: 50, oversizeHead: 30 });
    d.push(Buffer.concat([Buffer.from([VT]), MSG.subarray(0, 10)]));
    d.push(MSG.subarray(10, 70));
    const ev = d.push(Buffer.concat([MSG.subarray(70, 90), Buffer.from([FS, CR])]));
    expect(ev).toStrictEqual([{ kind: 'oversize', size: 90, head: MSG.subarray(0, 30), terminated: true }]);
    // a head already full when the frame overflows
    const e = new MllpDeframer({ maxFrameSize: 50, oversizeHead: 5 });
    e.push(Buffer.concat([Buffer.from([VT]), MSG.subarray(0, 40)]));
    e.push(MSG.subarray(40, 60));
    expect(e.flush()).toStrictEqual([{ kind: 'oversize', size: 60, head: MSG.subarray(0, 5), terminated: false }]);
    // the head is never larger than the maximum frame
    const f = new MllpDeframer({ maxFrameSize: 8 });
    expect(f.push(frame(MSG))).toStrictEqual([{ kind: 'oversize', size: MSG.length, head: MSG.subarray(0, 8), terminated: true }]);
  });

  it('an oversize frame cut by a new VT is reported unterminated; the next frame is whole', () => {
    const d = new MllpDeframer({ maxFrameSize: 20 });
    const ev = d.push(Buffer.concat([Buffer.from([VT]), MSG, frame(MSG.subarray(0, 15))]));
    expect(ev).toStrictEqual([
      { kind: 'oversize', size: MSG.length, head: MSG.subarray(0, 20), terminated: false },
      { kind: 'frame', bytes: MSG.subarray(0, 15) },
    ]);
    // the next oversize frame starts its count from zero
    expect(d.push(frame(MSG))).toStrictEqual([{ kind: 'oversize', size: MSG.length, head: MSG.subarray(0, 20), terminated: true }]);
  });

  it('a new VT right after VT reports an empty incomplete frame', () => {
    const d = new MllpDeframer();
    const ev = d.push(Buffer.concat([Buffer.from([VT]), frame(MSG)]));
    expect(ev).toStrictEqual([
      { kind: 'incomplete', bytes: Buffer.alloc(0), reason: 'restarted' },
      { kind: 'frame', bytes: MSG },
    ]);
    // garbage before a frame is reported before it, once
    const g = new MllpDeframer();
    expect(kinds(g.push(Buffer.concat([Buffer.from('abc'), Buffer.from([VT])])))).toStrictEqual(['garbage']);
    expect(g.flush()).toStrictEqual([{ kind: 'incomplete', bytes: Buffer.alloc(0), reason: 'flush' }]);
  });

  it('refuses a maximum that is not a positive integer; keeps a valid one', () => {
    for (const bad of [-1, 0, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new MllpDeframer({ maxFrameSize: bad })).toThrow('maxFrameSize must be a positive integer');
    }
    expect(new MllpDeframer({ maxFrameSize: 1 }).maxFrameSize).toBe(1);
    expect(new MllpDeframer().maxFrameSize).toBe(1024 * 1024);
  });
});

describe('MLLP deframer: a frame restarted or a stream ended between chunks', () => {
  it('a new VT in a chunk without FS cuts the frame in progress there (not kept as one frame with a VT inside)', () => {
    const d = new MllpDeframer();
    const ev = [
      ...d.push(Buffer.concat([Buffer.from([VT]), Buffer.from('MSH|^~\\&|CPAGE|CUT'), Buffer.from([VT]), MSG.subarray(0, 20)])),
      ...d.push(Buffer.concat([MSG.subarray(20), Buffer.from([FS, CR])])),
    ];
    expect(ev).toStrictEqual([
      { kind: 'incomplete', bytes: Buffer.from('MSH|^~\\&|CPAGE|CUT'), reason: 'restarted' },
      { kind: 'frame', bytes: MSG },
    ]);
  });

  it('flush() forgets an FS that ended the last chunk: a CR after it, on the reused deframer, is blank garbage', () => {
    const d = new MllpDeframer();
    expect(kinds(d.push(Buffer.concat([Buffer.from([VT]), MSG, Buffer.from([FS])])))).toStrictEqual(['frame']);
    expect(d.flush()).toStrictEqual([]);
    expect(d.push(Buffer.concat([Buffer.from([CR]), frame(MSG)]))).toStrictEqual([
      { kind: 'garbage', bytes: Buffer.from([CR]), blank: true },
      { kind: 'frame', bytes: MSG },
    ]);
  });
});
