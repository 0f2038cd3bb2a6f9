/**
 * Finding 4 of issue 7, replayed on the runtime started as `npm start` starts it: desk photos are
 * decoded off the event loop, so the GAP's MLLP intake keeps acknowledging while they are read.
 *
 *  1. HL7 admissions stream over MLLP while three large photos of an attestation are POSTed at once
 *     to /desk/scan: every photo is read, and the ACK latency stays low (before: one 6,000 × 6,000
 *     JPEG held the event loop for 9.9 s; three delayed ACKs by 14.9 s, past a GAP's timeout).
 *  2. The 6,000 × 6,000 JPEG itself is refused from its header, at once, in French.
 *  3. Six small PNGs declaring huge dimensions (decode bombs) at once: each one answered, the
 *     runtime's memory stays bounded (before: 1.8 GB).
 */
import fs from 'node:fs';
import * as jpeg from 'jpeg-js';
import zlib from 'node:zlib';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { cardPng, findBeneficiary } from '../../simulator/cards';
import { loadSeed } from '../../simulator/seed';
import { GapSimulator } from '../../simulator/gap';
import { gapDay } from '../../simulator/gap-day';
import { grayToRgba, pngToGray, scale } from '../../lib/datamatrix/raster';

jest.setTimeout(240000);

const B01 = findBeneficiary(loadSeed().seed, 'B01')!;

let rt: StartedRuntime;

/**
 * Every HTTP request of this file goes through here (one place to add credentials when the desk
 * endpoint requires them).
 */
async function http(pathname: string, init: RequestInit = {}): Promise<Response> {
  return fetch(new URL(pathname, rt.url), init);
}

/** POST /desk/scan with a photo, as the desk page sends it (multipart: demande + image). */
async function postPhoto(photo: Buffer, name: string, type: string): Promise<{ status: number; json: any; ms: number }> {
  const form = new FormData();
  form.append('demande', JSON.stringify({}));
  form.append('image', new Blob([photo], { type }), name);
  const t0 = Date.now();
  const res = await http('desk/scan', { method: 'POST', body: form });
  const json = await res.json();
  return { status: res.status, json, ms: Date.now() - t0 };
}

function mllpPortOf(r: StartedRuntime): number {
  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(r.output());
  if (!m) throw new Error(`no MLLP port printed:\n${r.output()}`);
  return Number(m[1]);
}

/** Peak resident memory of the runtime process (threads included), from /proc. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** A PNG of width × height white pixels: a few kilobytes that decode to width × height × 4 bytes. */
function whitePng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6; // RGBA
  const row = Buffer.alloc(1 + width * 4, 0xff);
  row[0] = 0;
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let photo: Buffer;

beforeAll(async () => {
  // A phone photo of the attestation page: about 8 megapixels, JPEG quality 85.
  const page = pngToGray(await cardPng(B01, { page: true }));
  const big = scale(page, Math.sqrt(8e6 / (page.width * page.height)));
  photo = Buffer.from(jpeg.encode({ data: grayToRgba(big), width: big.width, height: big.height }, 85).data);
  rt = await startRuntimeProcess(
    { ROC_ANNUAIRE_URL: '', ROC_SIMULATOR_LATENCY: 'instant', ROC_MLLP_PORT: '0', ROC_IMAGE_TIMEOUT_S: '90' },
    60000,
  );
}, 120000);

afterAll(async () => {
  if (rt) await rt.stop();
});

describe('desk photos while the GAP streams admissions over MLLP', () => {
  it('three large photos at once: each is read, and MLLP ACKs keep coming fast (p99 < 1 s)', async () => {
    const sim = new GapSimulator({ port: mllpPortOf(rt), connections: 1, window: 1, rate: 20 });
    const messages = [...gapDay({ messages: 400, venues: 8, seed: 7, controlIdPrefix: 'PHOTO' })];
    const stream = sim.run(messages);
    await new Promise((r) => setTimeout(r, 1500)); // the stream is flowing

    const t0 = Date.now();
    const answers = await Promise.all([1, 2, 3].map((i) => postPhoto(photo, `attestation-${i}.jpg`, 'image/jpeg')));
    const t1 = Date.now();
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.guichet).toMatchObject({ verdict: 'SAISIE', source: 'image' }); // read; no patient given
      expect(a.json.amc.numeroAmc).toBe('0775685365');
    }
    const stats = await stream;
    expect(stats.byCode).toEqual({ AA: messages.length });

    // ACKs of the messages sent while the photos were being decoded
    const during = sim
      .journal()
      .filter((e) => e.lastSentAt !== undefined && e.lastSentAt >= t0 && e.lastSentAt <= t1)
      .map((e) => e.latencyMs!)
      .sort((a, b) => a - b);
    const p99 = during[Math.min(during.length - 1, Math.floor(during.length * 0.99))];
    console.log(
      `3 photos of ${(photo.length / 1024 / 1024).toFixed(1)} MB answered in ${answers.map((a) => a.ms).join(', ')} ms; ` +
        `${during.length} MLLP messages meanwhile, ACK latency p50 ${during[Math.floor(during.length / 2)]} ms, p99 ${p99} ms, max ${during.at(-1)} ms`,
    );
    expect(t1 - t0).toBeGreaterThan(1000); // the photos took real time to read…
    expect(during.length).toBeGreaterThan(10); // …and the GAP kept sending meanwhile
    expect(p99).toBeLessThan(1000);
  });

  it('the 6,000 × 6,000 JPEG of the finding is refused from its header, at once, in French', async () => {
    const huge = Buffer.from(photo);
    const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
    huge.writeUInt16BE(6000, sof + 5);
    huge.writeUInt16BE(6000, sof + 7);
    const r = await postPhoto(huge, 'photo-36mp.jpg', 'image/jpeg');
    expect(r.status).toBe(200);
    expect(r.json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'IMAGE_TROP_GRANDE' });
    expect(r.json.guichet.motif).toBe(
      'L’image annonce 6000 × 6000 pixels, au-delà de la limite de 16 mégapixels : elle n’a pas été ouverte. Numérisez l’attestation en résolution normale (150 à 300 ppp).',
    );
    expect(r.ms).toBeLessThan(5000);
  });

  it('six small PNGs declaring huge dimensions at once: each answered in French, memory stays bounded', async () => {
    const bomb = whitePng(3000, 3000);
    expect(bomb.length).toBeLessThan(100 * 1024);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => postPhoto(bomb, `scan-${i}.png`, 'image/png')));
    const codes = answers.map((a) => a.json.guichet.code);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.json.guichet.verdict).toBe('LECTURE');
      expect(['DATAMATRIX_INTROUVABLE', 'LECTEUR_OCCUPE']).toContain(a.json.guichet.code);
    }
    // the pool's queue (4 by default) took what it could; the rest was told to try again
    expect(codes.filter((c) => c === 'DATAMATRIX_INTROUVABLE').length).toBeGreaterThanOrEqual(4);
    const busy = answers.find((a) => a.json.guichet.code === 'LECTEUR_OCCUPE');
    if (busy) expect(busy.json.guichet.motif).toMatch(/occupé .* réessayez dans quelques secondes/);
    const peak = peakRssMb(rt.proc.pid!);
    console.log(
      `six ${Math.round(bomb.length / 1024)} KB PNGs of 3000 × 3000: ${codes.join(', ')}; runtime peak RSS ${peak.toFixed(0)} MB`,
    );
    expect(peak).toBeLessThan(1200);
    // and the runtime still serves
    expect((await http('desk')).status).toBe(200);
  });
});
