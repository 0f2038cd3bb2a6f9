/**
 * The annuaire (AMC directory) cache, keyed by (numéro AMC, type de convention, CSR).
 *
 * - TTL: the directory's DureeValiditeSecondes when it gives one, else the configured TTL; a
 *   shorter TTL for "AMC unknown" answers (AMCs are registered over time).
 * - Refresh on error: a technical failure at an endpoint taken from an entry expires that entry,
 *   so the next call asks the directory again (the AMC may have moved).
 * - Last-known-good: an expired (or invalidated) entry is kept, and served with `stale: true`
 *   when the directory itself cannot be reached.
 * - Bounded size, least recently used entries dropped first. Injectable clock.
 */
import type { AnnuaireResult, OnlineService } from '../model/dossier';

/** What the directory said about one AMC (the part of AnnuaireResult worth keeping). */
export interface AnnuaireAnswer {
  status: 'OK' | 'KO';
  amc?: AnnuaireResult['amc'];
  services?: Partial<Record<OnlineService, string>>;
  messages: AnnuaireResult['messages'];
  reason?: string;
  requestId: string;
  responseId?: string;
  endpoint?: string;
  /** When the answer was received (ms, cache clock). */
  at: number;
}

export interface CacheEntry {
  answer: AnnuaireAnswer;
  expiresAt: number;
}

export interface AnnuaireCacheOptions {
  /** TTL when the directory gives none (default 1 h). */
  ttlMs?: number;
  /** TTL of "AMC unknown / KO" answers (default 60 s, never above ttlMs). */
  negativeTtlMs?: number;
  /** Upper bound for a TTL given by the directory (default 24 h). */
  maxTtlMs?: number;
  /** Max entries (default 10,000). */
  maxEntries?: number;
  now?: () => number;
}

export function cacheKey(numeroAmc: string, typeConvention?: string, csr?: string): string {
  return `${numeroAmc}|${typeConvention ?? ''}|${csr ?? ''}`;
}

export class AnnuaireCache {
  readonly ttlMs: number;
  readonly negativeTtlMs: number;
  readonly maxTtlMs: number;
  readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, CacheEntry>();

  constructor(opts: AnnuaireCacheOptions = {}) {
    this.ttlMs = Math.max(0, opts.ttlMs ?? 3_600_000);
    this.negativeTtlMs = Math.min(this.ttlMs, Math.max(0, opts.negativeTtlMs ?? 60_000));
    this.maxTtlMs = Math.max(0, opts.maxTtlMs ?? 86_400_000);
    this.maxEntries = Math.max(1, opts.maxEntries ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A fresh entry for the key, or undefined (expired entries are kept for `getStale`). */
  get(key: string): AnnuaireAnswer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expiresAt) return undefined;
    this.touch(key, e);
    return e.answer;
  }

  /** The last known answer for the key, fresh or not (last-known-good during outages). */
  getStale(key: string): AnnuaireAnswer | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.touch(key, e);
    return e.answer;
  }

  /**
   * Store an answer. `dureeValiditeSecondes` from the directory wins over the configured TTL
   * (bounded by maxTtlMs); KO answers ("AMC unknown") get the short negative TTL. The latest
   * answer of the directory always replaces the previous one.
   */
  set(key: string, answer: AnnuaireAnswer, dureeValiditeSecondes?: number): void {
    let ttl: number;
    if (answer.status !== 'OK') ttl = this.negativeTtlMs;
    else if (dureeValiditeSecondes !== undefined && Number.isFinite(dureeValiditeSecondes) && dureeValiditeSecondes >= 0) {
      ttl = Math.min(dureeValiditeSecondes * 1000, this.maxTtlMs);
    } else ttl = this.ttlMs;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.delete(key);
    this.entries.set(key, { answer, expiresAt: this.now() + ttl });
  }

  /**
   * A call at `endpoint` failed technically: expire the entry if it is the one that gave this
   * endpoint (so the next call asks the directory again; the entry stays as last-known-good).
   * Returns true when an entry was expired.
   */
  invalidateEndpoint(key: string, endpoint: string): boolean {
    const e = this.entries.get(key);
    if (!e || !e.answer.services) return false;
    for (const url of Object.values(e.answer.services)) {
      if (url === endpoint) {
        e.expiresAt = Math.min(e.expiresAt, this.now());
        return true;
      }
    }
    return false;
  }

  /** Expire an entry (kept as last-known-good). */
  invalidate(key: string): void {
    const e = this.entries.get(key);
    if (e) e.expiresAt = Math.min(e.expiresAt, this.now());
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private touch(key: string, e: CacheEntry): void {
    // Map order is insertion order: re-inserting moves the key to the most recent end.
    this.entries.delete(key);
    this.entries.set(key, e);
  }
}
