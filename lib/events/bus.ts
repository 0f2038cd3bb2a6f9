/**
 * The process-wide event bus: nodes `emitEvent(...)` (synchronous, never throws, cheap when nobody
 * listens); the MQTT publishers (roc-events) and the metrics subscribe. A subscriber that throws
 * is counted and skipped: an emitter is never disturbed by what its events feed.
 *
 * One bus per process, even when this module is loaded twice (compiled and source copies): it
 * lives on globalThis under a Symbol.for key.
 */
import { randomUUID } from 'node:crypto';
import { buildEvent, type EventInput, type RocEvent } from './schema';
import { DossierIds, type DossierIdMode } from './dossier-id';

export type EventSubscriber = (event: RocEvent) => void;

export interface BusStats {
  emitted: number;
  /** Inputs that were not events (unknown kind, node or node id). */
  invalid: number;
  subscriberErrors: number;
}

export class EventBus {
  readonly dossierIds = new DossierIds();
  readonly stats: BusStats = { emitted: 0, invalid: 0, subscriberErrors: 0 };
  private subscribers: EventSubscriber[] = [];

  /** Calls `fn` with every event from now on; returns the unsubscribe function. */
  subscribe(fn: EventSubscriber): () => void {
    this.subscribers = [...this.subscribers, fn];
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== fn);
    };
  }

  get subscriberCount(): number {
    return this.subscribers.length;
  }

  /** How events name dossiers (`opaque` by default; `venue` where the site allows it). */
  configure(o: { dossierIds?: DossierIdMode; secret?: string | Buffer }): void {
    if (o.dossierIds) this.dossierIds.mode = o.dossierIds;
    if (o.secret !== undefined) this.dossierIds.setSecret(o.secret);
  }

  /** Builds the event and hands it to every subscriber. Never throws; undefined when nobody listens or the input is no event. */
  emit(input: EventInput): RocEvent | undefined {
    const subs = this.subscribers;
    if (!subs.length) return undefined;
    let event: RocEvent | undefined;
    try {
      event = buildEvent(input, {
        id: randomUUID(),
        at: new Date().toISOString(),
        dossier: input?.dossierKey !== undefined ? this.dossierIds.idOf(input.dossierKey) : undefined,
      });
      if (event && !event.finess && input.dossierKey !== undefined) {
        const f = DossierIds.finessOf(input.dossierKey);
        if (f && /^\d[0-9AB]\d{7}$/.test(f)) event.finess = f;
      }
    } catch {
      event = undefined;
    }
    if (!event) {
      this.stats.invalid++;
      return undefined;
    }
    this.stats.emitted++;
    for (const s of subs) {
      try {
        s(event);
      } catch {
        this.stats.subscriberErrors++;
      }
    }
    return event;
  }
}

const KEY = Symbol.for('roc-bridge.events.bus');
const g = globalThis as unknown as Record<symbol, EventBus | undefined>;

/** The process-wide bus. */
export const events: EventBus = (g[KEY] ??= new EventBus());

/** Emits on the process-wide bus (the nodes' one-line call). */
export function emitEvent(input: EventInput): void {
  events.emit(input);
}
