/**
 * Latency modes: the national distribution's median is the national median response time
 * (0.4 s), asserted on the generator with a seeded RNG, never on wall-clock time.
 */
import { latencySampler, mulberry32, NATIONAL_MEDIAN_MS, parseLatency } from '../../simulator/latency';
import { startSimulator } from '../../simulator/server';
import { annuaireRequest } from './support';

function draws(n: number, sample: () => number): number[] {
  return Array.from({ length: n }, sample).sort((a, b) => a - b);
}

test('national: median ≈ 400 ms, a long right tail, never negative, capped', () => {
  const d = draws(20001, latencySampler({ mode: 'national' }, mulberry32(20231231)));
  const median = d[10000];
  expect(NATIONAL_MEDIAN_MS).toBe(400);
  expect(Math.abs(median - 400)).toBeLessThan(15);
  const p90 = d[18000];
  expect(p90).toBeGreaterThan(700);
  expect(p90).toBeLessThan(1200);
  expect(d[0]).toBeGreaterThanOrEqual(0);
  expect(d[d.length - 1]).toBeLessThanOrEqual(4000);
  expect(d[0]).toBeLessThan(150);
});

test('national with another median', () => {
  const d = draws(10001, latencySampler({ mode: 'national', medianMs: 1000 }, mulberry32(7)));
  expect(Math.abs(d[5000] - 1000)).toBeLessThan(50);
});

test('the seeded generator is reproducible', () => {
  const a = draws(100, latencySampler({ mode: 'national' }, mulberry32(1)));
  const b = draws(100, latencySampler({ mode: 'national' }, mulberry32(1)));
  expect(a).toEqual(b);
});

test('instant and fixed', () => {
  expect(latencySampler({ mode: 'instant' })()).toBe(0);
  expect(latencySampler({ mode: 'fixed', ms: 250 })()).toBe(250);
});

test('CLI / environment form, with clear errors', () => {
  expect(parseLatency(undefined)).toEqual({ mode: 'instant' });
  expect(parseLatency('national')).toEqual({ mode: 'national' });
  expect(parseLatency('120')).toEqual({ mode: 'fixed', ms: 120 });
  expect(() => parseLatency('fast')).toThrow('latency must be instant, national or a number of milliseconds (got "fast")');
  expect(() => latencySampler({ mode: 'fixed', ms: -5 })).toThrow(/non-negative/);
});

test('a running simulator refuses an invalid latency and keeps working', async () => {
  const sim = await startSimulator();
  try {
    expect(() => sim.setLatency({ mode: 'fixed', ms: Number.NaN })).toThrow(/ms must be a non-negative number/);
    sim.setLatency({ mode: 'national', medianMs: 5 });
    const r = await fetch(`${sim.url}/health`);
    expect(await r.json()).toEqual({ status: 'ok' });
  } finally {
    await sim.close();
  }
});

test('onAnswer reports each answer with its request id and the time held, latency included', async () => {
  const events: { requestId?: string; op?: string; ms: number }[] = [];
  const sim = await startSimulator({ latency: { mode: 'fixed', ms: 30 }, onAnswer: (a) => events.push(a) });
  try {
    const xml = annuaireRequest('0775685365', 'MU', undefined, 'bench-0001');
    const r = await fetch(sim.annuaireUrl, { method: 'POST', body: xml, headers: { 'content-type': 'application/soap+xml' } });
    expect(r.status).toBe(200);
    await r.text();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ requestId: 'bench-0001', op: 'annuaire' });
    expect(events[0].ms).toBeGreaterThanOrEqual(29);
  } finally {
    await sim.close();
  }
});
