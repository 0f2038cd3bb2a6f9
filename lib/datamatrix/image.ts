/**
 * decodeImage: a PNG or JPEG (scan, photo, screenshot) → the text of the attestation DataMatrix.
 *
 * Limits are checked on the header, on the calling thread, before any pixel is decoded: more than
 * 10 MB of input or a declared size above 16 megapixels is refused with a clear message. The
 * decoding itself runs in a worker thread (pool.ts: a small pool, a bounded queue, a time limit
 * per image, a memory limit per worker), so a large photo never holds the event loop: the MLLP
 * intake keeps acknowledging while the desk waits for its photo.
 *
 * In the worker (decodeImageSync), the image is turned into luminance and handed to
 * @zxing/library's DataMatrixReader (HybridBinarizer, TRY_HARDER) through a fixed sequence of
 * attempts: whole image, a downscaled copy, quarter turns, overlapping crops (a small symbol on a
 * page), small-angle rotations, a global binarizer. The first text wins.
 */
import {
  BinaryBitmap,
  DataMatrixReader,
  DecodeHintType,
  GlobalHistogramBinarizer,
  HybridBinarizer,
  RGBLuminanceSource,
} from '@zxing/library';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { IMAGE_REFUSALS } from './messages';
import { sharedDecodePool, type DecodePool } from './pool';
import { crop, Gray, pad, rgbaToGray, rotate, rotateQuarter, scale } from './raster';
import type { DecodeFailure, DecodeOptions, DecodeResult } from './types';

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** 16 MP: a 12 MP phone photo or a 400 dpi A4 scan passes; decoding costs about 35 MB of memory per megapixel (jpeg-js). */
export const MAX_IMAGE_PIXELS = 16_000_000;

/** Longest side of the working image (bigger photos are shrunk before the search). */
const WORK_SIDE = 1400;

export type ImageInfo =
  | { format: 'png' | 'jpeg'; width: number; height: number }
  | { format: 'unknown'; what: string }
  | { format: 'png' | 'jpeg'; width?: undefined; height?: undefined; broken: true };

/** Format and declared size from the file header, without decoding pixels. */
export function imageSize(buf: Buffer): ImageInfo {
  if (buf.length >= 8 && buf.readUInt32BE(0) === 0x89504e47 && buf.readUInt32BE(4) === 0x0d0a1a0a) {
    if (buf.length < 24 || buf.toString('latin1', 12, 16) !== 'IHDR') return { format: 'png', broken: true };
    return { format: 'png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
  }
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) {
    let pos = 2;
    while (pos + 4 <= buf.length) {
      if (buf[pos] !== 0xff) {
        pos++;
        continue;
      }
      const marker = buf[pos + 1];
      if (marker === 0xff) {
        pos++;
        continue;
      }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
        pos += 2;
        continue;
      }
      if (marker === 0xd9 || marker === 0xda) break;
      const len = buf.readUInt16BE(pos + 2);
      const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
      if (isSof) {
        if (pos + 9 > buf.length) break;
        return { format: 'jpeg', height: buf.readUInt16BE(pos + 5), width: buf.readUInt16BE(pos + 7) };
      }
      pos += 2 + len;
    }
    return { format: 'jpeg', broken: true };
  }
  return { format: 'unknown', what: sniff(buf) };
}

function sniff(buf: Buffer): string {
  const head = buf.toString('latin1', 0, Math.min(buf.length, 16));
  if (head.startsWith('GIF8')) return 'image GIF';
  if (head.startsWith('%PDF')) return 'document PDF : exportez la page en image';
  if (head.startsWith('BM')) return 'image BMP';
  if (head.startsWith('II*\u0000') || head.startsWith('MM\u0000*')) return 'image TIFF';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'image WebP';
  if (head.slice(4, 8) === 'ftyp') return /heic|heix|mif1|hevc/.test(head.slice(8, 12)) ? 'photo HEIC d’iPhone' : 'fichier vidéo ou HEIF';
  if (head.startsWith('PK')) return 'archive ZIP ou document bureautique';
  const sample = buf.subarray(0, Math.min(buf.length, 512));
  if (sample.length && sample.every((b) => b === 9 || b === 10 || b === 13 || b === 0x1d || (b >= 32 && b < 127) || b >= 160))
    return 'du texte, pas une image';
  return 'format inconnu';
}

function refuse<K extends keyof typeof IMAGE_REFUSALS>(code: K, ...args: Parameters<(typeof IMAGE_REFUSALS)[K]>): DecodeFailure {
  const fn = IMAGE_REFUSALS[code] as (...a: unknown[]) => string;
  return { ok: false, code, reason: fn(...args) };
}

const fmt = (n: number) => n.toLocaleString('fr-FR', { maximumFractionDigits: 1 });
const bytes = (n: number) => (n >= 1024 * 1024 ? `${fmt(n / (1024 * 1024))} Mo` : `${fmt(n / 1024)} Ko`);

// ---------------------------------------------------------------------------------------------

const HINTS = new Map<DecodeHintType, unknown>([[DecodeHintType.TRY_HARDER, true]]);

function tryDecode(g: Gray, global = false): string | undefined {
  // @zxing/library signals "not found here" with exceptions, thousands per search: without a
  // stack trace they cost nothing (with source-map support installed, e.g. under jest, each one
  // costs a stack walk). Synchronous block: no other code runs while the limit is lowered.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    const src = new RGBLuminanceSource(g.data, g.width, g.height);
    const bitmap = new BinaryBitmap(global ? new GlobalHistogramBinarizer(src) : new HybridBinarizer(src));
    return new DataMatrixReader().decode(bitmap, HINTS).getText();
  } catch {
    return undefined;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

interface Attempt {
  name: string;
  run: () => string | undefined;
}

/** Overlapping tiles of side `side` (stride half a tile), padded with a quiet zone. */
function tiles(img: Gray, side: number): Attempt[] {
  const out: Attempt[] = [];
  const stride = Math.max(1, Math.floor(side / 2));
  const xs: number[] = [];
  const ys: number[] = [];
  for (let x = 0; x + side <= img.width + stride - 1; x += stride) xs.push(Math.min(x, Math.max(0, img.width - side)));
  for (let y = 0; y + side <= img.height + stride - 1; y += stride) ys.push(Math.min(y, Math.max(0, img.height - side)));
  // Bottom-right first: where attestations usually print the symbol.
  const seen = new Set<string>();
  for (const y of [...new Set(ys)].reverse())
    for (const x of [...new Set(xs)].reverse()) {
      const k = `${x},${y}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ name: `tuile ${side}px @${x},${y}`, run: () => tryDecode(pad(crop(img, x, y, side, side), 16)) });
    }
  return out;
}

function attempts(work: Gray, smallAngles: boolean): Attempt[] {
  const list: Attempt[] = [];
  const padded = pad(work, 16);
  list.push({ name: 'image entière', run: () => tryDecode(padded) });
  for (const q of [90, 180, 270] as const) list.push({ name: `rotation ${q}°`, run: () => tryDecode(rotateQuarter(padded, q)) });
  const side = Math.max(work.width, work.height);
  if (side > 500) list.push({ name: 'réduction ½', run: () => tryDecode(pad(scale(work, 0.5), 16)) });
  if (side < 400) list.push({ name: 'agrandissement ×2', run: () => tryDecode(pad(scale(work, 2), 16)) });
  // Crops for a small symbol within a page.
  const minSide = Math.min(work.width, work.height);
  for (const frac of [0.5, 0.34]) {
    const t = Math.floor(minSide * frac);
    if (t >= 120) list.push(...tiles(work, t));
  }
  if (smallAngles) {
    for (const a of [8, -8, 16, -16, 30, -30]) list.push({ name: `rotation ${a}°`, run: () => tryDecode(rotate(padded, a)) });
  }
  list.push({ name: 'seuil global', run: () => tryDecode(padded, true) });
  return list;
}

export type ImageCheck = { ok: true; format: 'png' | 'jpeg'; width: number; height: number } | DecodeFailure;

/**
 * The checks made before any pixel is decoded (size in bytes, format, declared width × height):
 * cheap, on the calling thread. Never throws.
 */
export function checkImage(buf: Buffer, opts: DecodeOptions = {}): ImageCheck {
  const maxBytes = opts.maxBytes ?? MAX_IMAGE_BYTES;
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  if (!Buffer.isBuffer(buf) || buf.length === 0) return refuse('IMAGE_VIDE');
  if (buf.length > maxBytes) return refuse('IMAGE_TROP_LOURDE', bytes(buf.length), bytes(maxBytes));
  const info = imageSize(buf);
  if (info.format === 'unknown') return refuse('FORMAT_IMAGE_NON_PRIS_EN_CHARGE', info.what);
  const label = info.format === 'png' ? 'PNG' : 'JPEG';
  if (info.width === undefined || !info.width || !info.height) return refuse('IMAGE_ILLISIBLE', label);
  if (info.width * info.height > maxPixels) return refuse('IMAGE_TROP_GRANDE', info.width, info.height, fmt(maxPixels / 1e6));
  return { ok: true, format: info.format, width: info.width, height: info.height };
}

/**
 * Decode on the calling thread (what the worker runs; seconds of CPU for a large photo, so never
 * call it on the event loop of the runtime). Never throws on bad input.
 */
export function decodeImageSync(buf: Buffer, opts: DecodeOptions = {}): DecodeResult {
  const info = checkImage(buf, opts);
  if (!info.ok) return info;
  const maxPixels = opts.maxPixels ?? MAX_IMAGE_PIXELS;
  const label = info.format === 'png' ? 'PNG' : 'JPEG';
  let img: Gray;
  try {
    if (info.format === 'png') {
      const png = PNG.sync.read(buf);
      img = rgbaToGray(png.width, png.height, png.data);
    } else {
      const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: 1024 });
      img = rgbaToGray(j.width, j.height, j.data);
    }
  } catch {
    return refuse('IMAGE_ILLISIBLE', label);
  }
  // The decoders trust the header we checked; a file whose pixels disagree with it is damaged.
  if (img.width * img.height > maxPixels) return refuse('IMAGE_TROP_GRANDE', img.width, img.height, fmt(maxPixels / 1e6));
  const side = Math.max(img.width, img.height);
  const work = side > WORK_SIDE ? scale(img, WORK_SIDE / side) : img;
  for (const a of attempts(work, opts.smallAngles !== false)) {
    const text = a.run();
    if (text !== undefined) return { ok: true, text, format: info.format, strategy: a.name };
  }
  return refuse('DATAMATRIX_INTROUVABLE');
}

/**
 * Find and decode the attestation DataMatrix in a PNG or JPEG image: header checks here, the
 * decoding in a worker thread of `opts.pool` (default: the process-wide pool, created on first
 * use). Never throws or rejects on bad input; a busy pool or an image over the time limit is a
 * refusal with a French reason like the others.
 */
export async function decodeImage(buf: Buffer, opts: DecodeOptions & { pool?: DecodePool } = {}): Promise<DecodeResult> {
  const info = checkImage(buf, opts);
  if (!info.ok) return info;
  const pool = opts.pool ?? sharedDecodePool();
  return pool.decode(buf, { maxBytes: opts.maxBytes, maxPixels: opts.maxPixels, smallAngles: opts.smallAngles });
}
