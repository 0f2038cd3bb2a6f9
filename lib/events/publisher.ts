/**
 * Publishes the bus's events over MQTT at QoS 1, on `<prefix>/<finess>/<node type>/<event>`.
 *
 * Never blocks an emitter: an event is published at once when the broker is connected and fewer
 * than `maxInFlight` publications wait for their PUBACK; otherwise it goes to a bounded buffer
 * (`bufferSize`, oldest dropped first, drops counted), flushed on (re)connection. The MQTT client
 * is never handed a message while disconnected (its own offline queue has no bound).
 */
import type { RocEvent } from './schema';
import { BoundedBuffer } from './buffer';
import { events as processBus, type EventBus } from './bus';

/** The part of an MQTT client (mqtt.js, or the embedded broker's in-process side) the publisher uses. */
export interface MqttLike {
  readonly connected: boolean;
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean }, cb: (err?: Error) => void): unknown;
  on(event: 'connect', fn: () => void): unknown;
}

export interface PublisherOptions {
  /** Topic prefix (default `roc`). */
  prefix?: string;
  /** FINESS for the topic when the event names none (default `-`). */
  finess?: string;
  /** Events kept while the broker is away (default 10,000). */
  bufferSize?: number;
  /** Publications awaiting their PUBACK at most (default 1,000). */
  maxInFlight?: number;
  bus?: EventBus;
}

export interface PublisherStats {
  /** Events handed to the client. */
  published: number;
  /** PUBACKs received (or the embedded broker's delivery). */
  acknowledged: number;
  /** Publications the client reported failed. */
  failed: number;
  /** Events dropped because the buffer was full. */
  dropped: number;
  /** Events waiting in the buffer now. */
  buffered: number;
  inFlight: number;
}

const SEGMENT_RE = /[^A-Za-z0-9._-]/g;

/** A topic prefix as given (levels of letters, digits, `._-`), or an error text. */
export function checkPrefix(prefix: string): string | undefined {
  if (!prefix) return 'the topic prefix is empty';
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix))
    return `topic prefix "${prefix.slice(0, 40)}": levels of letters, digits, . _ - separated by /`;
  return undefined;
}

/** The topic of an event: `<prefix>/<finess or ->/<node type>/<event>`. */
export function topicFor(prefix: string, e: RocEvent, defaultFiness = '-'): string {
  const finess = (e.finess ?? defaultFiness).replace(SEGMENT_RE, '_') || '-';
  return `${prefix}/${finess}/${e.node.replace(SEGMENT_RE, '_')}/${e.event}`;
}

export class EventPublisher {
  readonly prefix: string;
  /** The FINESS of the topics when the event names none (`-` when not configured). */
  readonly finess: string;
  private readonly buffer: BoundedBuffer<RocEvent>;
  /** Other messages (the alerts, docs/operations-dashboard.md) waiting for the broker: few, kept apart from the events. */
  private readonly messages = new BoundedBuffer<{ topic: string; payload: string; retain: boolean }>(100);
  private readonly maxInFlight: number;
  private inFlight = 0;
  private counts = { published: 0, acknowledged: 0, failed: 0 };
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly client: MqttLike,
    o: PublisherOptions = {},
  ) {
    this.prefix = o.prefix ?? 'roc';
    const bad = checkPrefix(this.prefix);
    if (bad) throw new Error(bad);
    this.finess = o.finess && /^[A-Za-z0-9]{1,20}$/.test(o.finess) ? o.finess : '-';
    this.buffer = new BoundedBuffer<RocEvent>(Math.max(1, Math.floor(o.bufferSize ?? 10_000)));
    this.maxInFlight = Math.max(1, Math.floor(o.maxInFlight ?? 1000));
    client.on('connect', () => this.flush());
    this.unsubscribe = (o.bus ?? processBus).subscribe((e) => this.offer(e));
  }

  get stats(): PublisherStats {
    return { ...this.counts, dropped: this.buffer.dropped, buffered: this.buffer.length, inFlight: this.inFlight };
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** An event from the bus: published now, or buffered. */
  offer(e: RocEvent): void {
    if (this.closed) return;
    if (this.buffer.length === 0 && this.client.connected && this.inFlight < this.maxInFlight) this.send(e);
    else this.buffer.push(e);
  }

  /**
   * Publishes a message that is not an event (an alert change) at QoS 1 on `topic`, retained or
   * not: now when connected, else kept (at most 100, oldest dropped) until the connection. False
   * when the publisher is closed.
   */
  publishMessage(topic: string, payload: string, retain: boolean): boolean {
    if (this.closed) return false;
    if (this.client.connected && this.messages.length === 0) this.sendMessage({ topic, payload, retain });
    else this.messages.push({ topic, payload, retain });
    return true;
  }

  private sendMessage(m: { topic: string; payload: string; retain: boolean }): void {
    try {
      this.client.publish(m.topic, m.payload, { qos: 1, retain: m.retain }, (err) => {
        if (err) this.counts.failed++;
      });
    } catch {
      this.counts.failed++;
    }
  }

  /** Publishes what the buffer holds, as far as the connection and the in-flight bound allow. */
  flush(): void {
    while (!this.closed && this.messages.length && this.client.connected) this.sendMessage(this.messages.shift()!);
    while (!this.closed && this.buffer.length && this.client.connected && this.inFlight < this.maxInFlight) {
      this.send(this.buffer.shift()!);
    }
  }

  private send(e: RocEvent): void {
    this.inFlight++;
    this.counts.published++;
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      this.inFlight--;
      if (err) this.counts.failed++;
      else this.counts.acknowledged++;
      if (this.buffer.length) queueMicrotask(() => this.flush());
    };
    try {
      this.client.publish(topicFor(this.prefix, e, this.finess), JSON.stringify(e), { qos: 1 }, done);
    } catch (err) {
      done(err as Error);
    }
  }

  /** Stops taking events (what is buffered is forgotten). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.buffer.clear();
    this.messages.clear();
  }
}
