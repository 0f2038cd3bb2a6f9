/**
 * The embedded MQTT broker (aedes) of the `roc-events` config node: listens on 127.0.0.1 only
 * (port 0: any free port, see `port`), and is read-only for its clients under the event prefix
 * (nobody local can inject fake events); subscribers such as `mosquitto_sub` connect without
 * credentials (the events carry no patient data, and only this machine can reach the port).
 */
import net from 'node:net';
import type { MqttLike } from './publisher';

/** What the broker offers the publisher: an in-process publish (no socket, no client id). */
export interface EmbeddedBroker {
  readonly host: string;
  readonly port: number;
  /** Clients connected now. */
  clients(): number;
  /** The publisher's side: publishes in process, `connected` while the broker runs. */
  readonly client: MqttLike;
  close(): Promise<void>;
}

interface AedesLike {
  handle(socket: net.Socket): unknown;
  publish(packet: Record<string, unknown>, cb: (err?: Error) => void): void;
  close(cb?: () => void): void;
  closed: boolean;
  connectedClients: number;
  authorizePublish: (client: unknown, packet: { topic: string }, cb: (err?: Error | null) => void) => void;
}

/**
 * aedes 1.x is an ES module: Node (≥ 20.19, the package's engines) requires it natively. Jest on
 * Node 20 cannot (its own module system): the tests run the broker in a child process
 * (test/support/events-child.js).
 */
type AedesClass = { createBroker(o: Record<string, unknown>): Promise<AedesLike> };
function loadAedes(): AedesClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('aedes') as { Aedes: AedesClass }).Aedes;
}

export interface EmbeddedBrokerOptions {
  /** 127.0.0.1 (default) or another loopback address: the embedded broker never listens beyond this machine. */
  host?: string;
  /** Default 1884 (beside a Mosquitto on 1883); 0: any free port. */
  port?: number;
  /** Topics under this prefix are read-only for clients (default `roc`). */
  prefix?: string;
}

export const EMBEDDED_DEFAULT_PORT = 1884;

export async function startEmbeddedBroker(o: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = o.host ?? '127.0.0.1';
  if (!/^127\.\d+\.\d+\.\d+$|^::1$|^localhost$/.test(host)) throw new Error(`embedded MQTT broker: ${host} is not a loopback address`);
  const prefix = o.prefix ?? 'roc';
  // heartbeat on $SYS once an hour (its interval timer is the broker's only one)
  const broker = await loadAedes().createBroker({ heartbeatInterval: 3_600_000, drainTimeout: 10_000 });
  broker.authorizePublish = (_client, packet, cb) =>
    cb(packet.topic === prefix || packet.topic.startsWith(prefix + '/') ? new Error('read-only topic') : null);
  const server = net.createServer((socket) => broker.handle(socket));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? EMBEDDED_DEFAULT_PORT, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw e;
  }
  const addr = server.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const client: MqttLike = {
    get connected() {
      return !broker.closed && !closing;
    },
    publish(topic, payload, opts, cb) {
      broker.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: opts.qos, retain: opts.retain === true, dup: false },
        (err) => cb(err ?? undefined),
      );
    },
    on() {
      // always connected while it runs
    },
  };
  return {
    host,
    port: addr.port,
    client,
    clients: () => broker.connectedClients,
    close() {
      closing ||= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }).then(() => new Promise<void>((resolve) => broker.close(() => resolve())));
      return closing;
    },
  };
}
