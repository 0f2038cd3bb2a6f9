/**
 * The MQTT client of the external-broker mode (mqtt.js): reconnects by itself (every
 * `reconnectMs`), never queues offline (the publisher buffers, bounded), clean session.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type tls from 'node:tls';

export interface ExternalBrokerOptions {
  host: string;
  port?: number;
  /** TLS options (mqtts): certificates, CA, servername…; undefined: plain MQTT. */
  tls?: tls.ConnectionOptions;
  clientId?: string;
  username?: string;
  password?: string;
  /** Default 5,000 ms. */
  reconnectMs?: number;
  /** Default 10,000 ms. */
  connectTimeoutMs?: number;
}

export function connectExternal(o: ExternalBrokerOptions): MqttClient {
  const options: IClientOptions = {
    host: o.host,
    port: o.port ?? (o.tls ? 8883 : 1883),
    protocol: o.tls ? 'mqtts' : 'mqtt',
    clientId: o.clientId || `roc-bridge-${Math.random().toString(16).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: o.reconnectMs ?? 5000,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    queueQoSZero: false,
    resubscribe: false,
  };
  if (o.username) options.username = o.username;
  if (o.password) options.password = o.password;
  if (o.tls) Object.assign(options, o.tls);
  const client = mqtt.connect(options);
  client.on('error', () => undefined); // reported by the node through 'offline' / its status
  return client;
}
