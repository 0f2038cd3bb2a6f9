/**
 * Fuzz (issue 7, item 9), fixed seeds and bounded runs:
 *  - the DataMatrix text parser, on random text and on real scans mutated the way scanners and
 *    people damage them, never throws and always answers OK or a KO with a French sentence;
 *  - random bytes and damaged PNG/JPEG files handed to the image decoder never crash the worker
 *    pool: every one gets an answer (a refusal in French, or a text), and the pool keeps serving.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import * as jpeg from 'jpeg-js';
import {
  applyMixup,
  decodeImage,
  DecodePool,
  IMAGE_REFUSALS,
  parseAttestation,
  REFUSALS,
  type DecodeResult,
  type ParseResult,
} from '../../lib/datamatrix';
import { grayToRgba, pngToGray } from '../../lib/datamatrix/raster';
import { attestationOf, CEVENNES_TEXT, GS, loadBeneficiaires } from './helpers';
import { encodeAttestationText } from '../../lib/datamatrix';

jest.setTimeout(120000);

const SEED = 20261206;

const SCANS = [
  CEVENNES_TEXT,
  ...loadBeneficiaires()
    .list.slice(0, 12)
    .map((b) => encodeAttestationText(attestationOf(b))),
];

/** A sentence a clerk can read: French, complete, nothing leaked from the code. */
function expectFrenchSentence(reason: unknown): void {
  expect(typeof reason).toBe('string');
  const s = reason as string;
  expect(s.length).toBeGreaterThan(15);
  expect(s).not.toMatch(/undefined|NaN|\[object|null|Error|at .*\.ts:/);
  expect(s).toMatch(/\b(le|la|les|l’|de|du|des|un|une|n’est|est)\b/i);
}

function checkParse(r: ParseResult): void {
  if (r.ok) {
    expect(r.attestation.numeroAmc).toMatch(/^\d{10}$/);
    return;
  }
  expect(Object.keys(REFUSALS)).toContain(r.code);
  expectFrenchSentence(r.reason);
}

/** What scanners, keyboards and people do to a scan. */
const damage = fc.oneof(
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ unit: 'binary', maxLength: 6 }) }),
  fc.record({
    kind: fc.constant('replace' as const),
    at: fc.nat(),
    ch: fc.constantFrom(GS, '\r', '\n', '\t', '\u001c', '\u001e', 'è', '<GS>', '^]', ' ', '0', 'é', '\u0000', '\ufffd'),
  }),
  fc.record({ kind: fc.constant('mixup' as const), which: fc.constantFrom('qwertyOnAzerty' as const, 'azertyOnQwerty' as const) }),
  fc.record({ kind: fc.constant('case' as const) }),
  fc.record({ kind: fc.constant('repeat' as const), times: fc.integer({ min: 2, max: 40 }) }),
  fc.record({
    kind: fc.constant('wrap' as const),
    prefix: fc.constantFrom(']d1', ']Q3', '\u001d', ''),
    suffix: fc.constantFrom('\r', '\r\n', '\t', '', '\n\n'),
  }),
);
type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function apply(text: string, d: Damage): string {
  const pos = (at: number) => (text.length ? at % (text.length + 1) : 0);
  switch (d.kind) {
    case 'cut':
      return text.slice(0, pos(d.at));
    case 'drop':
      return text.slice(0, pos(d.at)) + text.slice(pos(d.at) + d.n);
    case 'insert':
      return text.slice(0, pos(d.at)) + d.text + text.slice(pos(d.at));
    case 'replace':
      return text.slice(0, pos(d.at)) + d.ch + text.slice(pos(d.at) + 1);
    case 'mixup':
      return applyMixup(text, d.which);
    case 'case':
      return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
    case 'repeat':
      return text.repeat(d.times);
    case 'wrap':
      return d.prefix + text + d.suffix;
  }
}

describe('parseAttestation never throws; always OK or a KO in French', () => {
  test('random text (binary, Unicode, control characters, long)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: 'grapheme', maxLength: 120 }),
          fc.string({ maxLength: 3000 }),
        ),
        fc.option(fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/), { nil: undefined }),
        (text, admissionDate) => checkParse(parseAttestation(text, { admissionDate })),
      ),
      { seed: SEED, numRuns: 400 },
    );
  });

  test('real scans, damaged one to four times', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SCANS), fc.array(damage, { minLength: 1, maxLength: 4 }), (scan, damages) => {
        const text = damages.reduce(apply, scan);
        checkParse(parseAttestation(text, { admissionDate: '2026-11-20' }));
      }),
      { seed: SEED, numRuns: 600 },
    );
  });

  test('values of any type never throw', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => checkParse(parseAttestation(v as string))),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('random bytes as an image never crash the worker pool', () => {
  const CARD = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));
  const g = pngToGray(CARD);
  const CARD_JPEG = Buffer.from(jpeg.encode({ data: grayToRgba(g), width: g.width, height: g.height }, 80).data);
  const pool = new DecodePool({ size: 1, maxQueue: 8, timeoutMs: 8000, idleMs: 0 });
  afterAll(() => pool.close());

  function checkDecode(r: DecodeResult): void {
    if (r.ok) {
      expect(typeof r.text).toBe('string');
      return;
    }
    expect(Object.keys(IMAGE_REFUSALS)).toContain(r.code);
    expectFrenchSentence(r.reason);
  }

  const bytes = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 4096 }).map((a) => Buffer.from(a)),
    // random bodies behind a real signature
    fc
      .tuple(
        fc.constantFrom(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from([0xff, 0xd8, 0xff])),
        fc.uint8Array({ maxLength: 2048 }),
      )
      .map(([sig, body]) => Buffer.concat([sig, Buffer.from(body)])),
    // the real card, PNG or JPEG, with bytes flipped, cut, or a damaged header
    fc
      .tuple(
        fc.constantFrom(CARD, CARD_JPEG),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
        fc.option(fc.nat(), { nil: undefined }),
      )
      .map(([file, flips, cut]) => {
        const b = Buffer.from(file);
        for (const [at, v] of flips) b[at % Math.min(b.length, at % 3 === 0 ? 200 : b.length)] = v;
        return cut === undefined ? b : b.subarray(0, cut % b.length);
      }),
  );

  test('every input is answered (fixed seed, bounded), and the pool still reads the card afterwards', async () => {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(bytes, async (buf) => {
        checkDecode(await decodeImage(buf, { pool }));
        answered++;
      }),
      { seed: SEED, numRuns: 120, interruptAfterTimeLimit: 60000, markInterruptAsFailure: false },
    );
    expect(answered).toBeGreaterThan(20);
    expect(await decodeImage(CARD, { pool })).toMatchObject({ ok: true, text: CEVENNES_TEXT });
  });

  test('a burst of random files at once: each is answered, none hangs', async () => {
    const burst = fc.sample(bytes, { seed: SEED + 1, numRuns: 16 });
    const results = await Promise.all(burst.map((b) => decodeImage(b, { pool })));
    expect(results).toHaveLength(16);
    results.forEach(checkDecode);
    expect(pool.stats()).toMatchObject({ busy: 0, queued: 0 });
  });
});
