/**
 * Response latency of the AMC miroir. `instant` answers at once (benchmarks), `fixed` waits a
 * constant time, `national` draws from a log-normal distribution whose median is the national
 * median response time of the AMC online services (0.4 s, [confirmed] figure end of 2023).
 * The delay is applied with timers, never by blocking the event loop.
 */
import { mulberry32 } from '../lib/util/random';

export type LatencyMode = { mode: 'instant' } | { mode: 'fixed'; ms: number } | { mode: 'national'; medianMs?: number };

export const NATIONAL_MEDIAN_MS = 400;
/** Spread of the national distribution (σ of ln): p90 ≈ 2.2 × median, p99 ≈ 4.3 × median. */
export const NATIONAL_SIGMA = 0.6;
/** Upper bound of a national draw, as a multiple of the median (keeps tests and demos sane). */
export const NATIONAL_CAP_FACTOR = 10;

export { mulberry32 };

/** Check a latency setting; throws an Error naming the problem. */
export function checkLatency(l: LatencyMode): LatencyMode {
  if (!l || typeof l !== 'object') throw new Error('latency must be { mode: "instant" | "fixed" | "national" }');
  if (l.mode === 'instant') return l;
  if (l.mode === 'fixed') {
    if (!Number.isFinite(l.ms) || l.ms < 0) throw new Error(`latency fixed: ms must be a non-negative number (got ${String(l.ms)})`);
    return l;
  }
  if (l.mode === 'national') {
    if (l.medianMs !== undefined && (!Number.isFinite(l.medianMs) || l.medianMs <= 0)) {
      throw new Error(`latency national: medianMs must be a positive number (got ${String(l.medianMs)})`);
    }
    return l;
  }
  throw new Error(`unknown latency mode "${(l as { mode?: unknown }).mode}" (instant, fixed or national)`);
}

/** A function drawing the next delay in milliseconds (integer, ≥ 0). */
export function latencySampler(l: LatencyMode, rng: () => number = Math.random): () => number {
  checkLatency(l);
  if (l.mode === 'instant') return () => 0;
  if (l.mode === 'fixed') {
    const ms = Math.round(l.ms);
    return () => ms;
  }
  const median = l.medianMs ?? NATIONAL_MEDIAN_MS;
  const cap = median * NATIONAL_CAP_FACTOR;
  return () => {
    // Box-Muller: a standard normal draw from two uniforms.
    const u1 = Math.max(rng(), Number.EPSILON);
    const u2 = rng();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return Math.round(Math.min(cap, median * Math.exp(NATIONAL_SIGMA * z)));
  };
}

/** Parse the CLI / environment form: `instant`, `national` or a number of milliseconds. */
export function parseLatency(v: string | undefined): LatencyMode {
  if (!v || v === 'instant') return { mode: 'instant' };
  if (v === 'national') return { mode: 'national' };
  const ms = Number(v);
  if (v.trim() !== '' && Number.isFinite(ms) && ms >= 0) return { mode: 'fixed', ms };
  throw new Error(`latency must be instant, national or a number of milliseconds (got "${v}")`);
}
