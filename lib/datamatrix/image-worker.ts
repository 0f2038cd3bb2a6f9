/**
 * Worker thread of the image decoding pool (pool.ts): receives { bytes, opts }, answers
 * { result } (a DecodeResult, never an exception). One image at a time; the pool enforces the
 * time limit by terminating this thread.
 */
import { parentPort } from 'node:worker_threads';
import { decodeImageSync } from './image';
import { IMAGE_REFUSALS } from './messages';
import type { DecodeOptions, DecodeResult } from './types';

if (parentPort) {
  const port = parentPort;
  port.on('message', (m: { bytes: Uint8Array; opts: DecodeOptions }) => {
    let result: DecodeResult;
    try {
      const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
      result = decodeImageSync(buf, m.opts ?? {});
    } catch {
      // decodeImageSync does not throw on bad input; a bug must still answer the image.
      result = { ok: false, code: 'IMAGE_TROP_COMPLEXE', reason: IMAGE_REFUSALS.IMAGE_TROP_COMPLEXE() };
    }
    port.postMessage({ result });
  });
  port.postMessage({ ready: true });
}
