'use strict';
// A process with the compiled event stream (dist/lib/events): the embedded broker (aedes, an ES
// module Jest on Node 20 cannot require), the bus and a publisher. Driven over IPC by
// test/events/*.test.ts: { cmd: 'start', port } | { cmd: 'emit', n } | { cmd: 'stats' } | { cmd: 'close' } | { cmd: 'exit' }.
const path = require('path');
const dist = path.resolve(__dirname, '..', '..', 'dist', 'lib', 'events');
const { startEmbeddedBroker } = require(path.join(dist, 'broker.js'));
const { EventBus } = require(path.join(dist, 'bus.js'));
const { EventPublisher } = require(path.join(dist, 'publisher.js'));

const bus = new EventBus();
bus.configure({ secret: 'test-secret-of-this-installation-0123456789' });
let broker;
let pub;

function emit(n) {
  for (let i = 0; i < n; i++) {
    bus.emit({
      node: 'roc-idb',
      nodeId: 'idb-1',
      event: 'answered',
      service: 'idb',
      outcome: i % 4 === 0 ? 'KO' : 'OK',
      code: i % 4 === 0 ? 'BR-AMC-UNKNOWN' : '0000',
      latencyMs: 40 + i,
      amc: '0123456789',
      finess: '750100125',
      dossierKey: `750100125/V/2501004${String(i % 100).padStart(2, '0')}`,
    });
  }
}

process.on('message', async (m) => {
  try {
    if (m.cmd === 'start') {
      broker = await startEmbeddedBroker({ port: m.port ?? 0 });
      // the in-process side of this broker (a restarted broker is a new one)
      if (pub) pub.close();
      pub = new EventPublisher(broker.client, { bus, bufferSize: m.bufferSize ?? 10000 });
      process.send({ ok: true, port: broker.port });
    } else if (m.cmd === 'emit') {
      emit(m.n);
      process.send({ ok: true, stats: pub.stats });
    } else if (m.cmd === 'stats') {
      process.send({ ok: true, stats: pub.stats });
    } else if (m.cmd === 'close') {
      await broker.close();
      process.send({ ok: true, stats: pub.stats, connected: broker.client.connected });
    } else if (m.cmd === 'exit') {
      if (broker) await broker.close();
      process.exit(0);
    }
  } catch (e) {
    process.send({ ok: false, error: e.message, code: e.code });
  }
});
process.send({ ready: true });
