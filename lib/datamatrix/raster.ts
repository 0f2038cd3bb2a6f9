/**
 * Small grayscale raster toolkit for the DataMatrix reader and the test-card renderer:
 * PNG/JPEG pixels → luminance, scale, crop, pad, rotate (quarter turns and small angles).
 * Pure TypeScript, no native code.
 */
import { PNG } from 'pngjs';
import * as zlib from 'zlib';
import { mulberry32 } from '../util/random';

export interface Gray {
  width: number;
  height: number;
  /** One luminance byte per pixel, row-major (0 black … 255 white). */
  data: Uint8ClampedArray;
}

export function gray(width: number, height: number, fill = 255): Gray {
  const data = new Uint8ClampedArray(width * height);
  if (fill) data.fill(fill);
  return { width, height, data };
}

/** RGBA pixels → luminance (Rec. 601), transparent pixels composited over white. */
export function rgbaToGray(width: number, height: number, rgba: Uint8Array | Buffer): Gray {
  const g = gray(width, height, 0);
  const n = width * height;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    const a = rgba[j + 3];
    const y = (rgba[j] * 299 + rgba[j + 1] * 587 + rgba[j + 2] * 114) / 1000;
    g.data[i] = a === 255 ? y : (y * a + 255 * (255 - a)) / 255;
  }
  return g;
}

export function grayToRgba(g: Gray): Buffer {
  const out = Buffer.alloc(g.width * g.height * 4);
  for (let i = 0, j = 0; i < g.data.length; i++, j += 4) {
    out[j] = out[j + 1] = out[j + 2] = g.data[i];
    out[j + 3] = 255;
  }
  return out;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** Write an 8-bit grayscale PNG (no filter, zlib): small, and fast even for large pages. */
export function grayToPng(g: Gray): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(g.width, 0);
  ihdr.writeUInt32BE(g.height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc((g.width + 1) * g.height);
  for (let y = 0; y < g.height; y++) raw.set(g.data.subarray(y * g.width, (y + 1) * g.width), y * (g.width + 1) + 1);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function pngToGray(buf: Buffer): Gray {
  const png = PNG.sync.read(buf);
  return rgbaToGray(png.width, png.height, png.data);
}

/**
 * Resize by a factor: area averaging when shrinking, bilinear when enlarging.
 * (Hot loops avoid Math.* calls: they are slow where the global Math comes from another realm,
 * as under jest.)
 */
export function scale(src: Gray, factor: number): Gray {
  const w = Math.max(1, Math.round(src.width * factor));
  const h = Math.max(1, Math.round(src.height * factor));
  const dst = gray(w, h, 0);
  const sw = src.width;
  const sd = src.data;
  const dd = dst.data;
  if (factor < 1) {
    const inv = 1 / factor;
    const xs0 = new Int32Array(w);
    const xs1 = new Int32Array(w);
    for (let x = 0; x < w; x++) {
      const x0 = (x * inv) | 0;
      let x1 = ((x + 1) * inv) | 0;
      if (x1 <= x0) x1 = x0 + 1;
      if (x1 > sw) x1 = sw;
      xs0[x] = x0;
      xs1[x] = x1;
    }
    for (let y = 0; y < h; y++) {
      const y0 = (y * inv) | 0;
      let y1 = ((y + 1) * inv) | 0;
      if (y1 <= y0) y1 = y0 + 1;
      if (y1 > src.height) y1 = src.height;
      for (let x = 0; x < w; x++) {
        const x0 = xs0[x];
        const x1 = xs1[x];
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) {
          const row = yy * sw;
          for (let xx = x0; xx < x1; xx++) sum += sd[row + xx];
        }
        dd[y * w + x] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
    return dst;
  }
  const sh = src.height;
  for (let y = 0; y < h; y++) {
    let sy = (y + 0.5) / factor - 0.5;
    if (sy < 0) sy = 0;
    if (sy > sh - 1) sy = sh - 1;
    const y0 = sy | 0;
    const y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
    const fy = sy - y0;
    for (let x = 0; x < w; x++) {
      let sx = (x + 0.5) / factor - 0.5;
      if (sx < 0) sx = 0;
      if (sx > sw - 1) sx = sw - 1;
      const x0 = sx | 0;
      const x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
      const fx = sx - x0;
      const a = sd[y0 * sw + x0] * (1 - fx) + sd[y0 * sw + x1] * fx;
      const b = sd[y1 * sw + x0] * (1 - fx) + sd[y1 * sw + x1] * fx;
      dd[y * w + x] = a * (1 - fy) + b * fy;
    }
  }
  return dst;
}

export function crop(src: Gray, left: number, top: number, width: number, height: number): Gray {
  const l = Math.max(0, Math.floor(left));
  const t = Math.max(0, Math.floor(top));
  const w = Math.min(src.width - l, Math.floor(width));
  const h = Math.min(src.height - t, Math.floor(height));
  const dst = gray(w, h, 0);
  for (let y = 0; y < h; y++) dst.data.set(src.data.subarray((t + y) * src.width + l, (t + y) * src.width + l + w), y * w);
  return dst;
}

/** Add a white border (a quiet zone for symbols touching the edge of a crop). */
export function pad(src: Gray, margin: number): Gray {
  const dst = gray(src.width + 2 * margin, src.height + 2 * margin);
  for (let y = 0; y < src.height; y++)
    dst.data.set(src.data.subarray(y * src.width, (y + 1) * src.width), (y + margin) * dst.width + margin);
  return dst;
}

/** Copy `src` into `dst` at (left, top). */
export function blit(dst: Gray, src: Gray, left: number, top: number): void {
  for (let y = 0; y < src.height; y++) {
    const ty = top + y;
    if (ty < 0 || ty >= dst.height) continue;
    for (let x = 0; x < src.width; x++) {
      const tx = left + x;
      if (tx >= 0 && tx < dst.width) dst.data[ty * dst.width + tx] = src.data[y * src.width + x];
    }
  }
}

/** Rotate by a quarter-turn multiple, clockwise. */
export function rotateQuarter(src: Gray, degrees: 0 | 90 | 180 | 270): Gray {
  if (degrees === 0) return src;
  const { width: w, height: h } = src;
  const dst = degrees === 180 ? gray(w, h, 0) : gray(h, w, 0);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = src.data[y * w + x];
      if (degrees === 90) dst.data[x * h + (h - 1 - y)] = v;
      else if (degrees === 180) dst.data[(h - 1 - y) * w + (w - 1 - x)] = v;
      else dst.data[(w - 1 - x) * h + y] = v;
    }
  }
  return dst;
}

/** Rotate by any angle (degrees, clockwise) about the centre, bilinear, white outside; the canvas grows. */
export function rotate(src: Gray, degrees: number): Gray {
  const rad = (degrees * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const w = Math.ceil(Math.abs(src.width * cos) + Math.abs(src.height * sin));
  const h = Math.ceil(Math.abs(src.width * sin) + Math.abs(src.height * cos));
  const dst = gray(w, h, 255);
  const sw = src.width;
  const sh = src.height;
  const sd = src.data;
  const dd = dst.data;
  const cx = sw / 2;
  const cy = sh / 2;
  const dx = w / 2;
  const dy = h / 2;
  for (let y = 0; y < h; y++) {
    const ry = y + 0.5 - dy;
    for (let x = 0; x < w; x++) {
      // inverse mapping
      const rx = x + 0.5 - dx;
      let sx = rx * cos + ry * sin + cx - 0.5;
      let sy = -rx * sin + ry * cos + cy - 0.5;
      if (sx < -0.5 || sy < -0.5 || sx > sw - 0.5 || sy > sh - 0.5) continue;
      if (sx < 0) sx = 0;
      if (sy < 0) sy = 0;
      if (sx > sw - 1) sx = sw - 1;
      if (sy > sh - 1) sy = sh - 1;
      const x0 = sx | 0;
      const y0 = sy | 0;
      const x1 = x0 + 1 < sw ? x0 + 1 : x0;
      const y1 = y0 + 1 < sh ? y0 + 1 : y0;
      const fx = sx - x0;
      const fy = sy - y0;
      const a = sd[y0 * sw + x0] * (1 - fx) + sd[y0 * sw + x1] * fx;
      const b = sd[y1 * sw + x0] * (1 - fx) + sd[y1 * sw + x1] * fx;
      dd[y * w + x] = a * (1 - fy) + b * fy;
    }
  }
  return dst;
}

/** Deterministic PRNG (mulberry32) for reproducible test pages. */
export const prng = mulberry32;
