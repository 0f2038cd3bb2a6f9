/**
 * The roc-events config node in external mode, under Node-RED (test helper): connects to the
 * Mosquitto server on 127.0.0.1:1883 and publishes what the nodes emit at QoS 1 under its prefix;
 * /health/ready says the broker is connected, and 503 when it is not (a broker that does not
 * answer); /metrics serves the Prometheus text. A bad prefix publishes nothing. The AMC
 * directory check and the circuit gauges from roc-establishment.
 */
import net from 'node:net';
import helper from 'node-red-node-test-helper';
import mqtt, { type MqttClient } from 'mqtt';
import eventsNode from '../../nodes/roc-events/roc-events';
import establishmentNode from '../../nodes/roc-establishment/roc-establishment';
import { emitEvent, events } from '../../lib/events/bus';
import type { RocEvent } from '../../lib/events/schema';
import { parsePrometheus } from '../support/prometheus';

helper.init(require.resolve('node-red'));
jest.setTimeout(20000);

async function until(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const PREFIX = `roc-node-test-${process.pid}`;

describe('roc-events, external mode (Mosquitto on 127.0.0.1:1883)', () => {
  let sub: MqttClient;
  const got: Array<{ topic: string; event: RocEvent; qos: number }> = [];
  beforeAll(async () => {
    sub = mqtt.connect('mqtt://127.0.0.1:1883', { reconnectPeriod: 0, clientId: `roc-node-test-sub-${process.pid}` });
    sub.on('message', (topic, payload, packet) => got.push({ topic, event: JSON.parse(payload.toString()), qos: packet.qos }));
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe(`${PREFIX}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      sub.once('error', () => reject(new Error('Mosquitto is not running on 127.0.0.1:1883 (this test needs it)')));
    });
  });
  afterAll(() => {
    sub.end(true);
  });
  afterEach(async () => {
    await helper.unload();
  });

  it('publishes the nodes’ events at QoS 1 under its prefix; ready while connected; /metrics counts them', async () => {
    await helper.load(eventsNode, [
      {
        id: 'ev',
        type: 'roc-events',
        mode: 'external',
        host: '127.0.0.1',
        port: '1883',
        prefix: PREFIX,
        finess: '750100125',
        clientId: `roc-node-test-${process.pid}`,
      },
    ]);
    const node = helper.getNode('ev');
    await until('connected', () => node.publisher?.connected === true);
    for (let i = 0; i < 5; i++) emitEvent({ node: 'roc-mllp-in', nodeId: 'gap-mllp', event: 'acknowledged', code: 'AA' });
    emitEvent({
      node: 'roc-clc',
      nodeId: 'clc',
      event: 'answered',
      service: 'clc',
      outcome: 'OK',
      code: '0000',
      amc: '0077554321',
      latencyMs: 120,
      finess: '750100130',
    });
    await until('6 events', () => got.length >= 6);
    expect(got.map((g) => g.topic)).toEqual([
      ...Array(5).fill(`${PREFIX}/750100125/roc-mllp-in/acknowledged`),
      `${PREFIX}/750100130/roc-clc/answered`,
    ]);
    expect(got.every((g) => g.qos === 1)).toBe(true);

    const ready = await helper.request().get('/health/ready').expect(200);
    expect(ready.body.checks).toEqual(expect.arrayContaining([{ name: 'events:external', ok: true }]));
    await helper.request().get('/health').expect(200, { status: 'ok' });
    const res = await helper.request().get('/metrics').expect(200);
    const p = parsePrometheus(res.text);
    expect(p.sum('roc_gap_acks_total', { node: 'roc-mllp-in', code: 'AA' })).toBeGreaterThanOrEqual(5);
    expect(p.find('roc_events_broker_connected', { publisher: 'ev' })[0].value).toBe(1);
  });

  it('a broker that does not answer: not ready (503), events buffered and dropped beyond the bound, the emitter never waits', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((sock) => sockets.add(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    try {
      await helper.load(eventsNode, [
        {
          id: 'ev2',
          type: 'roc-events',
          mode: 'external',
          host: '127.0.0.1',
          port: String((silent.address() as net.AddressInfo).port),
          prefix: PREFIX,
          bufferSize: 50,
        },
      ]);
      const t0 = performance.now();
      for (let i = 0; i < 1000; i++) emitEvent({ node: 'roc-mllp-in', nodeId: 'gap-mllp', event: 'received' });
      expect(performance.now() - t0).toBeLessThan(1000);
      const node = helper.getNode('ev2');
      expect(node.publisher.stats).toMatchObject({ published: 0, buffered: 50, dropped: 950 });
      const ready = await helper.request().get('/health/ready').expect(503);
      expect(ready.body).toMatchObject({
        status: 'not ready',
        checks: expect.arrayContaining([{ name: 'events:external', ok: false, detail: 'broker not connected' }]),
      });
      const p = parsePrometheus((await helper.request().get('/metrics').expect(200)).text);
      expect(p.find('roc_events_dropped', { publisher: 'ev2' })[0].value).toBe(950);
      expect(p.find('roc_events_broker_connected', { publisher: 'ev2' })[0].value).toBe(0);
    } finally {
      await helper.unload();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('an invalid prefix: an error in the log, nothing subscribed to the bus', async () => {
    const before = events.subscriberCount;
    await helper.load(eventsNode, [{ id: 'ev3', type: 'roc-events', mode: 'external', host: '127.0.0.1', prefix: 'roc/#' }]);
    expect(events.subscriberCount).toBe(before);
    expect(helper.getNode('ev3').publisher).toBeUndefined();
  });
});

describe('readiness and metrics from roc-establishment', () => {
  afterEach(async () => {
    await helper.unload();
  });

  it('the AMC directory check follows its circuit and cache; open circuits are on /metrics', async () => {
    await helper.load(
      [eventsNode, establishmentNode],
      [
        {
          id: 'est',
          type: 'roc-establishment',
          finessJuridique: '750712184',
          finessGeographique: '750100125',
          logiciel: 'ROC Bridge',
          versionLogiciel: '0.1.0',
          annuaireUrl: 'https://127.0.0.1:9/annuaire',
          breakerThreshold: 2,
        },
      ],
    );
    const est = helper.getNode('est');
    expect(est.client).toBeTruthy();
    let ready = await helper.request().get('/health/ready').expect(200);
    expect(ready.body.checks).toEqual([{ name: 'directory:750100125', ok: true }]);
    // the directory fails twice: its circuit opens, nothing cached → not ready; an AMC's circuit opens too
    for (const key of ['annuaire', 'annuaire', '0077554321', '0077554321']) est.client.breaker.failure(key);
    ready = await helper.request().get('/health/ready').expect(503);
    expect(ready.body.checks).toEqual([{ name: 'directory:750100125', ok: false, detail: 'unreachable, nothing cached' }]);
    const p = parsePrometheus((await helper.request().get('/metrics').expect(200)).text);
    expect(p.find('roc_circuit_state', { finess: '750100125', key: 'annuaire' })[0].value).toBe(2);
    expect(p.find('roc_circuit_state', { finess: '750100125', key: '0077554321' })[0].value).toBe(2);
  });
});
