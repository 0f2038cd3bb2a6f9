/**
 * Desk photos are decoded off the event loop (finding 4 of issue 7: one 6,000 × 6,000 JPEG held
 * the event loop for 9.9 s, three delayed MLLP ACKs by 14.9 s, six 35 KB PNGs took 1.8 GB).
 *
 *  - the pixel budget is read from the PNG IHDR / JPEG SOF header and refused before any worker
 *    starts (a 57-byte PNG declaring 60 000 × 60 000 pixels);
 *  - a decode over the time limit is stopped (worker terminated) and answered in French;
 *  - past the queue bound, a photo is answered "service occupé, réessayez" at once;
 *  - a worker that runs out of heap dies alone and the photo is answered;
 *  - the event loop stays responsive while three large photos are decoded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as jpeg from 'jpeg-js';
import {
  checkImage,
  closeSharedDecodePool,
  decodeImage,
  decodeImageSync,
  decodePoolOptionsFromEnv,
  DecodePool,
  imageSize,
  renderAttestationPng,
  type DecodeResult,
} from '../../lib/datamatrix';
import { gray, grayToPng, pngToGray, scale } from '../../lib/datamatrix/raster';
import { CEVENNES, CEVENNES_TEXT } from './helpers';

jest.setTimeout(120000);

const CARD = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'datamatrix', 'cevennes.png'));

const pools: DecodePool[] = [];
function pool(opts: ConstructorParameters<typeof DecodePool>[0] = {}): DecodePool {
  const p = new DecodePool({ idleMs: 0, ...opts });
  pools.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await closeSharedDecodePool();
});

// ---------------------------------------------------------------------------------------------
// Crafted files: a header and almost nothing else.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG (signature, IHDR, a tiny IDAT, IEND) declaring width × height RGBA pixels. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JPEG with SOI, a JFIF APP0, a DQT, then a baseline SOF0 declaring width × height, and EOI. */
function jpegHeaderOnly(width: number, height: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x48, 0x00, 0x48, 0x00, 0x00]);
  const dqt = Buffer.concat([Buffer.from([0xff, 0xdb, 0x00, 0x43, 0x00]), Buffer.alloc(64, 1)]);
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x11, 0x08, 0, 0, 0, 0, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x00, 0x03, 0x11, 0x00]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, dqt, sof, Buffer.from([0xff, 0xd9])]);
}

function refused(r: DecodeResult): { code: string; reason: string } {
  if (r.ok) throw new Error(`expected a refusal, got text ${JSON.stringify(r.text)}`);
  return r;
}

/** A large photo of the attestation page (about `mp` megapixels), as a PNG. */
async function pagePhoto(mp: number, seed: number): Promise<Buffer> {
  const page = pngToGray(await renderAttestationPng(CEVENNES, { page: true, seed }));
  return grayToPng(scale(page, Math.sqrt((mp * 1e6) / (page.width * page.height))));
}

describe('pixel budget, from the header, before any decoding', () => {
  test('a 57-byte PNG declaring 60 000 × 60 000 pixels is refused without starting a worker', async () => {
    const bomb = pngHeaderOnly(60_000, 60_000);
    expect(bomb.length).toBeLessThan(100);
    expect(imageSize(bomb)).toEqual({ format: 'png', width: 60_000, height: 60_000 });
    const p = pool();
    const started = Date.now();
    const r = refused(await decodeImage(bomb, { pool: p }));
    expect(r.code).toBe('IMAGE_TROP_GRANDE');
    expect(r.reason).toBe(
      'L’image annonce 60000 × 60000 pixels, au-delà de la limite de 16 mégapixels : elle n’a pas été ouverte. Numérisez l’attestation en résolution normale (150 à 300 ppp).',
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(p.stats()).toEqual({ workers: 0, busy: 0, queued: 0 });
  });

  test('a JPEG whose SOF declares 65 000 × 40 000 pixels is refused the same way (and by the worker itself)', async () => {
    const bomb = jpegHeaderOnly(65_000, 40_000);
    expect(imageSize(bomb)).toEqual({ format: 'jpeg', width: 65_000, height: 40_000 });
    const p = pool();
    expect(refused(await decodeImage(bomb, { pool: p })).code).toBe('IMAGE_TROP_GRANDE');
    expect(p.stats().workers).toBe(0);
    // the worker's own entry point checks again (a caller that skips decodeImage)
    expect(refused(decodeImageSync(bomb)).code).toBe('IMAGE_TROP_GRANDE');
    expect(refused(await p.decode(bomb)).code).toBe('IMAGE_TROP_GRANDE');
  });

  test('the budget is 16 MP by default: a 12 MP phone photo passes, a 5 000 × 4 000 one does not; a caller can set it', () => {
    expect(checkImage(pngHeaderOnly(4032, 3024))).toMatchObject({ ok: true, width: 4032, height: 3024 });
    expect(checkImage(jpegHeaderOnly(5000, 4000))).toMatchObject({ ok: false, code: 'IMAGE_TROP_GRANDE' });
    expect(checkImage(jpegHeaderOnly(5000, 4000), { maxPixels: 24e6 })).toMatchObject({ ok: true });
  });
});

describe('the worker pool', () => {
  test('decodes the card in a worker, the same text as before', async () => {
    const p = pool({ size: 1 });
    const r = await decodeImage(CARD, { pool: p });
    expect(r).toMatchObject({ ok: true, text: CEVENNES_TEXT, format: 'png' });
    expect(p.stats()).toMatchObject({ workers: 1, busy: 0, queued: 0 });
  });

  test('a decode over the time limit is stopped, answered in French, and the next photo gets a fresh worker', async () => {
    const p = pool({ size: 1 });
    const blank = grayToPng(gray(3000, 3000, 250));
    const started = Date.now();
    const r = refused(await p.decode(blank, {}, { timeoutMs: 100 }));
    expect(r.code).toBe('IMAGE_TROP_LONGUE');
    expect(r.reason).toBe(
      'L’analyse de l’image a dépassé 0,1 seconde et a été arrêtée : photographiez l’attestation de plus près (le code bien net, sans le reste de la page), ou utilisez la douchette.',
    );
    expect(Date.now() - started).toBeLessThan(60000);
    expect(p.stats().workers).toBe(0); // terminated
    expect(await p.decode(CARD)).toMatchObject({ ok: true, text: CEVENNES_TEXT });
  });

  test('past the queue bound a photo is answered "occupé, réessayez" at once; the others are decoded', async () => {
    const p = pool({ size: 1, maxQueue: 1 });
    const photo = grayToPng(gray(2000, 2000, 250));
    const order: string[] = [];
    const all = [0, 1, 2, 3].map((i) =>
      p.decode(photo).then((r) => {
        order.push(`${i}:${r.ok ? 'ok' : r.code}`);
        return r;
      }),
    );
    const results = await Promise.all(all);
    // one in the worker, one waiting, two refused before either is done
    expect(results.map((r) => (r.ok ? 'ok' : r.code))).toEqual([
      'DATAMATRIX_INTROUVABLE',
      'DATAMATRIX_INTROUVABLE',
      'LECTEUR_OCCUPE',
      'LECTEUR_OCCUPE',
    ]);
    expect(order.slice(0, 2).sort()).toEqual(['2:LECTEUR_OCCUPE', '3:LECTEUR_OCCUPE']);
    expect(refused(results[2]).reason).toMatch(
      /^Le service de lecture des images est occupé \(1 image en attente\) : réessayez dans quelques secondes/,
    );
    expect(p.stats()).toMatchObject({ busy: 0, queued: 0 });
  });

  test('a worker that exhausts its heap dies alone: the photo is answered, the pool goes on', async () => {
    // jpeg-js keeps one small typed array per 8×8 block: a 3 000 × 3 000 colour JPEG needs far
    // more than a 48 MB heap (the runtime's default is 256 MB, with the pixel budget to match).
    const W = 3000;
    const rgba = Buffer.alloc(W * W * 4);
    for (let y = 0; y < W; y++)
      for (let x = 0; x < W; x++) {
        const i = (y * W + x) * 4;
        [rgba[i], rgba[i + 1], rgba[i + 2], rgba[i + 3]] = [(x * 3 + y) & 255, (x ^ y) & 255, (y * 5) & 255, 255];
      }
    const photo = jpeg.encode({ data: rgba, width: W, height: W }, 75).data;
    expect(photo.length).toBeLessThan(10 * 1024 * 1024);
    const p = pool({ size: 1, maxOldGenerationSizeMb: 48 });
    const r = refused(await p.decode(photo));
    expect(r.code).toBe('IMAGE_TROP_COMPLEXE');
    expect(r.reason).toMatch(/^L’image n’a pas pu être analysée \(elle demande trop de mémoire ou elle est malformée\)/);
    expect(await p.decode(CARD)).toMatchObject({ ok: true, text: CEVENNES_TEXT });
  });

  test('close() answers what waits, stops the workers, and later photos are refused rather than hung', async () => {
    const p = pool({ size: 1, maxQueue: 2 });
    const pending = [p.decode(CARD), p.decode(CARD)];
    await p.close();
    for (const r of await Promise.all(pending)) expect(refused(r).code).toBe('LECTEUR_OCCUPE');
    expect(p.stats().workers).toBe(0);
    expect(refused(await p.decode(CARD)).code).toBe('LECTEUR_OCCUPE');
  });

  test('options from the environment (invalid values keep the defaults)', () => {
    expect(
      decodePoolOptionsFromEnv({
        ROC_IMAGE_WORKERS: '2',
        ROC_IMAGE_QUEUE: '8',
        ROC_IMAGE_TIMEOUT_S: '12.5',
        ROC_IMAGE_WORKER_HEAP_MB: '512',
      }),
    ).toEqual({
      size: 2,
      maxQueue: 8,
      timeoutMs: 12500,
      maxOldGenerationSizeMb: 512,
    });
    expect(decodePoolOptionsFromEnv({ ROC_IMAGE_WORKERS: 'deux', ROC_IMAGE_QUEUE: '-1', ROC_IMAGE_TIMEOUT_S: '' })).toEqual({});
  });
});

describe('the event loop while photos are decoded', () => {
  test('three large photos (about 6 MP each): the event loop never stalls, while the decoding takes seconds', async () => {
    const photos = await Promise.all([21, 22, 23].map((seed) => pagePhoto(6, seed)));
    const p = pool({ size: 1, maxQueue: 4 });
    expect(await p.decode(CARD)).toMatchObject({ ok: true }); // worker started: measure decoding only
    const h = monitorEventLoopDelay({ resolution: 10 });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    h.enable();
    await sleep(50); // the histogram's timer runs before the first photo is sent
    const started = Date.now();
    const results = await Promise.all(photos.map((ph) => decodeImage(ph, { pool: p })));
    const elapsed = Date.now() - started;
    await sleep(50); // and once more after the last answer, so a stall at the end is recorded
    h.disable();
    const maxDelayMs = h.max / 1e6;
    console.log(`3 photos of 6 MP decoded in ${elapsed} ms; event loop max delay ${maxDelayMs.toFixed(0)} ms`);
    for (const r of results) expect(r).toMatchObject({ ok: true, text: CEVENNES_TEXT });
    // Decoded on the main thread, the loop stalls for a whole photo (seconds); here it never does.
    expect(maxDelayMs).toBeLessThan(Math.min(1000, elapsed / 3));
  });
});
