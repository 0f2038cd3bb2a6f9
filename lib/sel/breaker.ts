/**
 * Circuit breaker per key (one key per AMC, plus one for the directory).
 *
 * closed --N consecutive technical failures--> open --openMs--> half-open (ONE trial call let
 * through) --success--> closed / --failure--> open again.
 *
 * Only technical failures count (timeouts, unreachable, TLS, unreadable answers, SOAP Faults). An
 * AMC answering KO is a working AMC: report it as a success. The clock is injectable for tests.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive technical failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial call is let through (default 30 s). */
  openMs?: number;
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /** Max keys tracked; the least recently used closed keys are forgotten beyond it (default 10,000). */
  maxKeys?: number;
}

interface Entry {
  state: BreakerState;
  failures: number;
  /** open: when the circuit opened; half-open: when the trial was let through. */
  since: number;
  trialInFlight: boolean;
}

export interface BreakerSnapshot {
  key: string;
  state: BreakerState;
  failures: number;
  /** For an open circuit: ms left before a trial call is allowed. */
  retryInMs?: number;
}

export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: BreakerOptions = {}) {
    this.failureThreshold = Math.max(1, Math.floor(opts.failureThreshold ?? 5));
    this.openMs = Math.max(0, opts.openMs ?? 30_000);
    this.now = opts.now ?? Date.now;
    this.maxKeys = Math.max(1, opts.maxKeys ?? 10_000);
  }

  /**
   * May a call to `key` go out now? False while open, and in half-open while the one trial call
   * is in flight. A true answer in half-open reserves the trial: report its outcome with
   * `success` or `failure`.
   */
  allow(key: string): boolean {
    const e = this.entries.get(key);
    if (!e || e.state === 'closed') return true;
    const t = this.now();
    if (e.state === 'open') {
      if (t - e.since < this.openMs) return false;
      e.state = 'half-open';
      e.trialInFlight = true;
      e.since = t;
      return true;
    }
    // half-open: one trial at a time; a trial that never reported back (lost) is replaced after openMs.
    if (e.trialInFlight && t - e.since < this.openMs) return false;
    e.trialInFlight = true;
    e.since = t;
    return true;
  }

  success(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    // Back to closed; the entry is dropped so the map only holds AMCs with a recent failure.
    this.entries.delete(key);
  }

  /** A call allowed by `allow` was not made after all: free the half-open trial, count nothing. */
  release(key: string): void {
    const e = this.entries.get(key);
    if (e && e.state === 'half-open') e.trialInFlight = false;
  }

  failure(key: string): void {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxKeys) this.evict();
      e = { state: 'closed', failures: 0, since: t, trialInFlight: false };
      this.entries.set(key, e);
    }
    e.failures++;
    if (e.state === 'half-open' || (e.state === 'closed' && e.failures >= this.failureThreshold)) {
      e.state = 'open';
      e.since = t;
      e.trialInFlight = false;
    }
  }

  state(key: string): BreakerState {
    const e = this.entries.get(key);
    if (!e) return 'closed';
    if (e.state === 'open' && this.now() - e.since >= this.openMs) return 'half-open';
    return e.state;
  }

  /** Consecutive technical failures recorded for `key`. */
  failures(key: string): number {
    return this.entries.get(key)?.failures ?? 0;
  }

  /** Keys that are not closed (for dashboards / events). */
  snapshot(): BreakerSnapshot[] {
    const t = this.now();
    const out: BreakerSnapshot[] = [];
    for (const [key, e] of this.entries) {
      const state = this.state(key);
      if (state === 'closed') continue;
      out.push({
        key,
        state,
        failures: e.failures,
        retryInMs: state === 'open' ? Math.max(0, this.openMs - (t - e.since)) : undefined,
      });
    }
    return out;
  }

  reset(key?: string): void {
    if (key === undefined) this.entries.clear();
    else this.entries.delete(key);
  }

  private evict(): void {
    // Forget the oldest closed entries first (a few failures long ago); open circuits are kept.
    for (const [k, e] of this.entries) {
      if (e.state === 'closed') {
        this.entries.delete(k);
        if (this.entries.size < this.maxKeys) return;
      }
    }
    const first = this.entries.keys().next();
    if (!first.done) this.entries.delete(first.value);
  }
}
