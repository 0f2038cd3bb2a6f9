import { CircuitBreaker } from '../../lib/sel/breaker';

describe('circuit breaker per AMC', () => {
  let t = 0;
  const now = () => t;
  const cevennes = '0775685365';
  const atlantique = '0441927302';
  beforeEach(() => {
    t = 1_000_000;
  });

  it('stays closed below the threshold and a success resets the count', () => {
    const b = new CircuitBreaker({ failureThreshold: 3, openMs: 30_000, now });
    b.failure(cevennes);
    b.failure(cevennes);
    expect(b.state(cevennes)).toBe('closed');
    expect(b.allow(cevennes)).toBe(true);
    b.success(cevennes);
    b.failure(cevennes);
    b.failure(cevennes);
    expect(b.state(cevennes)).toBe('closed');
    expect(b.failures(cevennes)).toBe(2);
  });

  it('opens after N consecutive failures (default 5), for that AMC only', () => {
    const b = new CircuitBreaker({ now });
    for (let i = 0; i < 4; i++) b.failure(cevennes);
    expect(b.allow(cevennes)).toBe(true);
    b.failure(cevennes);
    expect(b.state(cevennes)).toBe('open');
    expect(b.allow(cevennes)).toBe(false);
    expect(b.allow(atlantique)).toBe(true);
    expect(b.snapshot()).toEqual([{ key: cevennes, state: 'open', failures: 5, retryInMs: 30_000 }]);
  });

  it('lets exactly one trial through after openMs, then closes on success', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, openMs: 30_000, now });
    b.failure(cevennes);
    b.failure(cevennes);
    t += 29_999;
    expect(b.allow(cevennes)).toBe(false);
    t += 1;
    expect(b.state(cevennes)).toBe('half-open');
    expect(b.allow(cevennes)).toBe(true);
    expect(b.allow(cevennes)).toBe(false); // the trial is in flight
    b.success(cevennes);
    expect(b.state(cevennes)).toBe('closed');
    expect(b.allow(cevennes)).toBe(true);
    expect(b.failures(cevennes)).toBe(0);
  });

  it('opens again for openMs when the trial fails', () => {
    const b = new CircuitBreaker({ failureThreshold: 2, openMs: 10_000, now });
    b.failure(cevennes);
    b.failure(cevennes);
    t += 10_000;
    expect(b.allow(cevennes)).toBe(true);
    b.failure(cevennes);
    expect(b.state(cevennes)).toBe('open');
    expect(b.allow(cevennes)).toBe(false);
    t += 9_999;
    expect(b.allow(cevennes)).toBe(false);
    t += 1;
    expect(b.allow(cevennes)).toBe(true);
  });

  it('frees the half-open trial when the call is not made (release)', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 1_000, now });
    b.failure(cevennes);
    t += 1_000;
    expect(b.allow(cevennes)).toBe(true);
    b.release(cevennes);
    expect(b.allow(cevennes)).toBe(true);
  });

  it('replaces a trial that never reported back after another openMs', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, openMs: 1_000, now });
    b.failure(cevennes);
    t += 1_000;
    expect(b.allow(cevennes)).toBe(true);
    t += 500;
    expect(b.allow(cevennes)).toBe(false);
    t += 500;
    expect(b.allow(cevennes)).toBe(true);
  });

  it('keeps its memory bounded, forgetting closed keys before open circuits', () => {
    const b = new CircuitBreaker({ failureThreshold: 1, maxKeys: 3, now });
    b.failure('0000000001'); // open
    b.failure('0000000002'); // open
    b.failure('0000000003'); // open
    const c = new CircuitBreaker({ failureThreshold: 2, maxKeys: 2, now });
    c.failure('A'); // closed, 1 failure
    c.failure('B');
    c.failure('B'); // open
    c.failure('C'); // evicts A (closed), not B (open)
    expect(c.failures('A')).toBe(0);
    expect(c.state('B')).toBe('open');
    expect(b.snapshot()).toHaveLength(3);
  });
});
