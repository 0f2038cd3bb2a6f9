/**
 * The event stream over MQTT: events published at QoS 1 on <prefix>/<finess>/<node>/<event>,
 * received by a real MQTT client (mqtt.js) from the embedded broker (aedes) and from the
 * Mosquitto server on 127.0.0.1:1883 (external mode); a broker that is away never blocks the
 * emitter (bounded buffer, oldest dropped, drops counted), and the buffer is flushed on reconnection.
 */
import net from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { EventBus } from '../../lib/events/bus';
import { EventPublisher, topicFor, type MqttLike } from '../../lib/events/publisher';
import { startEmbeddedBroker } from '../../lib/events/broker';
import { startEventsChild, type EventsChild } from '../support/events-child';
import { connectExternal } from '../../lib/events/external';
import type { RocEvent } from '../../lib/events/schema';

jest.setTimeout(20000);

const FINESS = '750100125';

function answered(bus: EventBus, i: number): void {
  bus.emit({
    node: 'roc-idb',
    nodeId: 'idb-1',
    event: 'answered',
    service: 'idb',
    outcome: i % 4 === 0 ? 'KO' : 'OK',
    code: i % 4 === 0 ? 'BR-AMC-UNKNOWN' : '0000',
    latencyMs: 40 + i,
    amc: '0123456789',
    finess: FINESS,
    dossierKey: `${FINESS}/V/2501004${String(i).padStart(2, '0')}`,
  });
}

async function subscriber(
  url: string,
  topic: string,
): Promise<{ client: MqttClient; got: Array<{ topic: string; event: RocEvent; qos: number }> }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, clientId: `test-sub-${process.pid}-${Math.random().toString(16).slice(2, 8)}` });
  const got: Array<{ topic: string; event: RocEvent; qos: number }> = [];
  client.on('message', (t, payload, packet) => got.push({ topic: t, event: JSON.parse(payload.toString()) as RocEvent, qos: packet.qos }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return { client, got };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function mosquittoUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(1883, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('topics', () => {
  it('are <prefix>/<finess>/<node type>/<event>, with the publisher’s FINESS when the event names none', () => {
    const e = { v: 1, id: 'x', at: '', node: 'roc-clc', nodeId: 'n', event: 'answered', finess: FINESS } as RocEvent;
    expect(topicFor('roc', e)).toBe('roc/750100125/roc-clc/answered');
    expect(topicFor('site/paris', { ...e, finess: undefined })).toBe('site/paris/-/roc-clc/answered');
    expect(topicFor('roc', { ...e, finess: undefined }, '750100125')).toBe('roc/750100125/roc-clc/answered');
  });
  it('refuses a prefix with MQTT wildcards', () => {
    expect(
      () =>
        new EventPublisher({ connected: false, publish: () => undefined, on: () => undefined }, { prefix: 'roc/#', bus: new EventBus() }),
    ).toThrow(/prefix/);
  });
});

describe('embedded broker (aedes, in its own process: Jest on Node 20 cannot load the ES module)', () => {
  let child: EventsChild;
  let sub: MqttClient | undefined;
  beforeAll(async () => {
    child = await startEventsChild();
  });
  afterAll(async () => {
    await child.exit();
  });
  afterEach(async () => {
    sub?.end(true);
    sub = undefined;
    await child.ask({ cmd: 'close' }).catch(() => undefined);
  });

  it('listens on 127.0.0.1 (port 0: a free one) and a real MQTT client receives every event at QoS 1', async () => {
    const { port } = await child.ask({ cmd: 'start', port: 0 });
    expect(port).toBeGreaterThan(0);
    const s = await subscriber(`mqtt://127.0.0.1:${port}`, 'roc/#');
    sub = s.client;
    await child.ask({ cmd: 'emit', n: 50 });
    await until('50 events', () => s.got.length >= 50);
    expect(s.got).toHaveLength(50);
    expect(s.got[0].topic).toBe('roc/750100125/roc-idb/answered');
    expect(s.got.every((g) => g.qos === 1)).toBe(true);
    expect(s.got[0].event).toMatchObject({
      v: 1,
      node: 'roc-idb',
      event: 'answered',
      service: 'idb',
      outcome: 'KO',
      code: 'BR-AMC-UNKNOWN',
      amc: '0123456789',
    });
    expect(s.got[0].event.dossier).toMatch(/^[0-9a-f]{24}$/);
    const { stats } = await child.ask({ cmd: 'stats' });
    expect(stats).toMatchObject({ published: 50, acknowledged: 50, dropped: 0, buffered: 0 });
  });

  it('is read-only under the event prefix for its clients (nobody injects fake events); other topics are free', async () => {
    const { port } = await child.ask({ cmd: 'start', port: 0 });
    const s = await subscriber(`mqtt://127.0.0.1:${port}`, '#');
    sub = s.client;
    const intruder = await subscriber(`mqtt://127.0.0.1:${port}`, 'nothing');
    intruder.client.publish('other/topic', '{"v":0}', { qos: 0 });
    await until('the free topic', () => s.got.some((g) => g.topic === 'other/topic'));
    const closed = new Promise<void>((r) => intruder.client.once('close', () => r()));
    intruder.client.publish('roc/750100125/roc-idb/answered', '{"fake":true}', { qos: 0 });
    await closed; // the broker drops a client that publishes under the prefix
    await new Promise((r) => setTimeout(r, 200));
    intruder.client.end(true);
    expect(s.got.some((g) => g.topic.startsWith('roc/'))).toBe(false);
  });

  it('refuses a non-loopback address', async () => {
    await expect(startEmbeddedBroker({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/loopback/);
  });
});

describe('a broker that is away never blocks the flow', () => {
  it('buffers up to the bound, then drops the oldest and counts them; emitting 20,000 events takes milliseconds', () => {
    const bus = new EventBus();
    const offline: MqttLike = {
      connected: false,
      publish: () => {
        throw new Error('must not be called while offline');
      },
      on: () => undefined,
    };
    const pub = new EventPublisher(offline, { bus, bufferSize: 1000 });
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) answered(bus, i);
    const ms = performance.now() - t0;
    expect(pub.stats).toMatchObject({ published: 0, buffered: 1000, dropped: 19_000 });
    expect(ms).toBeLessThan(2000); // generous: about 50 ms on the shared test machine
    pub.close();
  });

  it('a broker that never answers (accepts TCP, no CONNACK): the emitter goes on, nothing is handed to the client', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as net.AddressInfo).port;
    const client = connectExternal({ host: '127.0.0.1', port, reconnectMs: 100, connectTimeoutMs: 200 });
    const bus = new EventBus();
    const pub = new EventPublisher(client, { bus, bufferSize: 100 });
    for (let i = 0; i < 500; i++) answered(bus, i);
    expect(pub.stats).toMatchObject({ published: 0, buffered: 100, dropped: 400 });
    client.end(true);
    pub.close();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  it('the broker stopped: events buffer (bound, drops counted); the broker back on its port gets the buffered events', async () => {
    const child = await startEventsChild();
    const after: Array<() => void> = [];
    try {
      const { port } = await child.ask({ cmd: 'start', port: 0 });
      // another bridge's broker-like peer: its own prefix (the embedded broker keeps `roc/` for its own publisher)
      const client = connectExternal({ host: '127.0.0.1', port, reconnectMs: 100, clientId: 'roc-bridge-test-reconnect' });
      const bus = new EventBus();
      const pub = new EventPublisher(client, { bus, bufferSize: 10, prefix: 'site-b' });
      after.push(() => {
        pub.close();
        client.end(true);
      });
      await until('connected', () => client.connected);
      answered(bus, 1);
      await until('acknowledged', () => pub.stats.acknowledged === 1);
      await child.ask({ cmd: 'close' });
      await until('disconnected', () => !client.connected);
      const t0 = performance.now();
      for (let i = 0; i < 25; i++) answered(bus, i);
      expect(performance.now() - t0).toBeLessThan(500);
      expect(pub.stats).toMatchObject({ published: 1, buffered: 10, dropped: 15 });
      await child.ask({ cmd: 'start', port });
      await until('flushed', () => pub.stats.buffered === 0 && pub.stats.inFlight === 0, 5000);
      expect(pub.stats).toMatchObject({ published: 11, acknowledged: 11, dropped: 15 });
    } finally {
      for (const f of after.splice(0)) f();
      await child.exit();
    }
  });
});

describe('external broker: the Mosquitto server on 127.0.0.1:1883', () => {
  it('a real MQTT client subscribed on Mosquitto receives the events at QoS 1', async () => {
    if (!(await mosquittoUp()))
      throw new Error('Mosquitto is not running on 127.0.0.1:1883 (apt-get install mosquitto; this test needs it)');
    const prefix = `roc-test-${process.pid}`;
    const s = await subscriber('mqtt://127.0.0.1:1883', `${prefix}/#`);
    const client = connectExternal({ host: '127.0.0.1', port: 1883, clientId: `roc-bridge-test-${process.pid}` });
    const bus = new EventBus();
    const pub = new EventPublisher(client, { bus, prefix });
    await until('connected', () => client.connected);
    for (let i = 0; i < 20; i++) answered(bus, i);
    bus.emit({ node: 'roc-mllp-in', nodeId: 'in-1', event: 'acknowledged', code: 'AA' });
    await until('21 events', () => s.got.length >= 21);
    expect(s.got.map((g) => g.topic)).toContain(`${prefix}/750100125/roc-idb/answered`);
    expect(s.got.map((g) => g.topic)).toContain(`${prefix}/-/roc-mllp-in/acknowledged`);
    expect(s.got.every((g) => g.qos === 1)).toBe(true);
    await until('acknowledged by Mosquitto', () => pub.stats.acknowledged === 21);
    pub.close();
    client.end(true);
    s.client.end(true);
  });
});
