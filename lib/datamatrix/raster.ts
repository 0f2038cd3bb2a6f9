/**
 * Small grayscale raster toolkit for the DataMatrix reader and the test-card renderer:
 * PNG/JPEG pixels → luminance, scale, crop, pad, rotate (quarter turns and small angles).
 * Pure TypeScript, no native code.
 */
import { PNG } from 'pngjs';

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

export function grayToPng(g: Gray): Buffer {
  const png = new PNG({ width: g.width, height: g.height });
  png.data = grayToRgba(g);
  return PNG.sync.write(png);
}

export function pngToGray(buf: Buffer): Gray {
  const png = PNG.sync.read(buf);
  return rgbaToGray(png.width, png.height, png.data);
}

/** Resize by a factor: area averaging when shrinking, bilinear when enlarging. */
export function scale(src: Gray, factor: number): Gray {
  const w = Math.max(1, Math.round(src.width * factor));
  const h = Math.max(1, Math.round(src.height * factor));
  const dst = gray(w, h, 0);
  if (factor < 1) {
    const inv = 1 / factor;
    for (let y = 0; y < h; y++) {
      const y0 = Math.floor(y * inv);
      const y1 = Math.min(src.height, Math.max(y0 + 1, Math.floor((y + 1) * inv)));
      for (let x = 0; x < w; x++) {
        const x0 = Math.floor(x * inv);
        const x1 = Math.min(src.width, Math.max(x0 + 1, Math.floor((x + 1) * inv)));
        let sum = 0;
        for (let yy = y0; yy < y1; yy++) {
          const row = yy * src.width;
          for (let xx = x0; xx < x1; xx++) sum += src.data[row + xx];
        }
        dst.data[y * w + x] = sum / ((y1 - y0) * (x1 - x0));
      }
    }
    return dst;
  }
  for (let y = 0; y < h; y++) {
    const sy = Math.min(src.height - 1, Math.max(0, (y + 0.5) / factor - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(src.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < w; x++) {
      const sx = Math.min(src.width - 1, Math.max(0, (x + 0.5) / factor - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(src.width - 1, x0 + 1);
      const fx = sx - x0;
      const a = src.data[y0 * src.width + x0] * (1 - fx) + src.data[y0 * src.width + x1] * fx;
      const b = src.data[y1 * src.width + x0] * (1 - fx) + src.data[y1 * src.width + x1] * fx;
      dst.data[y * w + x] = a * (1 - fy) + b * fy;
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
  for (let y = 0; y < src.height; y++) dst.data.set(src.data.subarray(y * src.width, (y + 1) * src.width), (y + margin) * dst.width + margin);
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
  const cx = src.width / 2;
  const cy = src.height / 2;
  const dx = w / 2;
  const dy = h / 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // inverse mapping
      const rx = x + 0.5 - dx;
      const ry = y + 0.5 - dy;
      const sx = rx * cos + ry * sin + cx - 0.5;
      const sy = -rx * sin + ry * cos + cy - 0.5;
      if (sx < -0.5 || sy < -0.5 || sx > src.width - 0.5 || sy > src.height - 0.5) continue;
      const x0 = Math.max(0, Math.min(src.width - 1, Math.floor(sx)));
      const y0 = Math.max(0, Math.min(src.height - 1, Math.floor(sy)));
      const x1 = Math.min(src.width - 1, x0 + 1);
      const y1 = Math.min(src.height - 1, y0 + 1);
      const fx = Math.max(0, Math.min(1, sx - x0));
      const fy = Math.max(0, Math.min(1, sy - y0));
      const a = src.data[y0 * src.width + x0] * (1 - fx) + src.data[y0 * src.width + x1] * fx;
      const b = src.data[y1 * src.width + x0] * (1 - fx) + src.data[y1 * src.width + x1] * fx;
      dst.data[y * w + x] = a * (1 - fy) + b * fy;
    }
  }
  return dst;
}

/** Deterministic PRNG (mulberry32) for reproducible test pages. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
