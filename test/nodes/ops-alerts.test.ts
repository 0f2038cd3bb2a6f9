/**
 * The dashboard fed by the event bus, and the alert outlets (issue 11, docs/operations-dashboard.md
 * "Alertes"), under Node-RED (test helper): a known workload of `answered` events shows in
 * GET /roc/ops/summary (no journal poll); a KO-rate alert raised then cleared reaches, once each,
 * an MQTT subscriber of the Mosquitto server on 127.0.0.1:1883 (through the roc-events publisher,
 * QoS 1, retained), a local SMTP receiver and a local HTTP server (the webhook); no patient data.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import helper from 'node-red-node-test-helper';
import mqtt, { type MqttClient } from 'mqtt';
import mllpInNode from '../../nodes/roc-mllp-in/roc-mllp-in';
import eventsNode from '../../nodes/roc-events/roc-events';
import { configureAlerts, stopOps } from '../../nodes/common/ops';
import { emitEvent } from '../../lib/events/bus';
import { DEFAULT_RULES } from '../../lib/ops/alerts';
import { SmtpReceiver, type ReceivedMessage } from '../../lib/billing/transport/smtp';

helper.init(require.resolve('node-red'));
jest.setTimeout(30000);

async function until(what: string, check: () => boolean, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PREFIX = `roc-alerts-test-${process.pid}`;
const FINESS = '750100125';
const AMC = '0077554321';
let dir: string;

function flow() {
  return [
    { id: 'in', type: 'roc-mllp-in', host: '127.0.0.1', port: '0', journal: path.join(dir, 'journal.sqlite'), wires: [[]] },
    {
      id: 'ev',
      type: 'roc-events',
      mode: 'external',
      host: '127.0.0.1',
      port: '1883',
      prefix: PREFIX,
      finess: FINESS,
      clientId: `roc-alerts-test-${process.pid}`,
    },
  ];
}

function answered(outcome: 'OK' | 'KO', latencyMs: number, service = 'idb', code = outcome === 'OK' ? '0000' : '6001') {
  emitEvent({ node: `roc-${service}`, nodeId: service, event: 'answered', service, outcome, code, amc: AMC, latencyMs, finess: FINESS });
}

/** The summary, rebuilt (it is cached a second). */
async function summary(): Promise<any> {
  await sleep(1100);
  return (await helper.request().get('/roc/ops/summary').expect(200)).body;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-ops-alerts-'));
});
afterEach(async () => {
  await helper.unload();
  stopOps();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the dashboard statistics come from the event bus', () => {
  it('a known workload of answered events shows in /roc/ops/summary (counts, KO codes, p50/p95)', async () => {
    await helper.load([mllpInNode, eventsNode], flow());
    await until('listener', () => !!helper.getNode('in').listener?.port);
    const latencies = [100, 120, 140, 160, 180, 200, 220, 240, 260, 1000];
    for (const l of latencies.slice(0, 8)) answered('OK', l);
    answered('KO', 260, 'clc', '6001');
    answered('KO', 1000, 'clc', '6001');
    const s = await summary();
    expect(s.stats.totals).toMatchObject({ count: 10, ok: 8, ko: 2, technical: 0, p50: 180, p95: 1000 });
    expect(s.stats.services.IDB.totals).toMatchObject({ count: 8, ok: 8 });
    expect(s.stats.services.CLC.totals).toMatchObject({ count: 2, ko: 2 });
    expect(s.stats.amcs[AMC].totals.count).toBe(10);
    expect(s.stats.topKo).toEqual([{ service: 'CLC', code: '6001', count: 2 }]);
    // other events are no exchanges
    emitEvent({ node: 'roc-mllp-in', nodeId: 'in', event: 'acknowledged', code: 'AA' });
    expect((await summary()).stats.totals.count).toBe(10);
  });
});

describe('alerts out: MQTT, e-mail, webhook', () => {
  let sub: MqttClient;
  const got: Array<{ topic: string; payload: string; qos: number; retain: boolean }> = [];
  /** The alert messages (the events are published under the prefix too). */
  const alerts = () => got.filter((g) => g.topic.includes('/alerts/'));
  let smtp: SmtpReceiver;
  let smtpPort: number;
  const mails: ReceivedMessage[] = [];
  let web: http.Server;
  let webUrl: string;
  const hooks: Array<{ body: string; type?: string }> = [];

  beforeAll(async () => {
    sub = mqtt.connect('mqtt://127.0.0.1:1883', { reconnectPeriod: 0, clientId: `roc-alerts-sub-${process.pid}` });
    sub.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
    await new Promise<void>((resolve, reject) => {
      sub.once('connect', () => sub.subscribe(`${PREFIX}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
      sub.once('error', () => reject(new Error('Mosquitto is not running on 127.0.0.1:1883 (this test needs it)')));
    });
    smtp = new SmtpReceiver();
    smtp.on('message', (m: ReceivedMessage) => mails.push(m));
    smtpPort = (await smtp.start({ host: '127.0.0.1', port: 0, keepRaw: true })).port;
    web = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push({ body, type: req.headers['content-type'] });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    webUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/roc-alerts`;
  });
  afterAll(async () => {
    // forget the retained alert messages of this run
    await new Promise<void>((r) => sub.publish(`${PREFIX}/${FINESS}/alerts/ko-rate`, '', { qos: 1, retain: true }, () => r()));
    sub.end(true);
    await smtp.close();
    await new Promise((r) => web.close(r));
  });

  it('a KO-rate alert is raised once then cleared once, on each outlet; thresholds from ROC_ALERT_RULES; no patient data', async () => {
    await helper.load([mllpInNode, eventsNode], flow());
    await until('listener', () => !!helper.getNode('in').listener?.port);
    await until('broker connected', () => helper.getNode('ev').publisher?.connected === true);
    const rules = [
      { id: 'ko-rate', raise: 0.5, clear: 0.2, forMs: 0, minCount: 4 },
      ...DEFAULT_RULES.filter((r) => r.id !== 'ko-rate').map((r) => ({ id: r.id, disabled: true })),
    ];
    const outlets = configureAlerts(helper._RED, {
      ROC_ALERT_RULES: JSON.stringify(rules),
      ROC_ALERT_SMTP_HOST: '127.0.0.1',
      ROC_ALERT_SMTP_PORT: String(smtpPort),
      ROC_ALERT_MAIL_TO: 'exploitation@chu-exemple.fr',
      ROC_ALERT_MAIL_FROM: 'roc-bridge@chu-exemple.fr',
      ROC_ALERT_WEBHOOK_URL: webUrl,
    });

    for (let i = 0; i < 4; i++) answered('KO', 300, 'idb', '6001');
    let s = await summary();
    expect(s.alerts.active).toEqual([expect.objectContaining({ rule: 'ko-rate', severity: 'warning' })]);
    await summary(); // still KO: no second message
    for (let i = 0; i < 36; i++) answered('OK', 150);
    s = await summary();
    expect(s.alerts.active).toEqual([]);
    await summary();
    await outlets.idle();
    await until('mqtt raise and clear', () => alerts().length >= 2);
    await until('2 mails', () => mails.length >= 2);
    await until('2 webhooks', () => hooks.length >= 2);
    await sleep(300);

    expect(alerts().map((g) => [g.topic, g.qos, JSON.parse(g.payload).kind])).toEqual([
      [`${PREFIX}/${FINESS}/alerts/ko-rate`, 1, 'raised'],
      [`${PREFIX}/${FINESS}/alerts/ko-rate`, 1, 'cleared'],
    ]);
    expect(mails.map((m) => m.subject)).toEqual([
      expect.stringMatching(/^\[ROC Bridge\] Alerte : Taux de KO élevé : 100 %/),
      expect.stringMatching(/^\[ROC Bridge\] Fin d’alerte/),
    ]);
    expect(mails[0].to).toEqual(['exploitation@chu-exemple.fr']);
    expect(hooks.map((h) => [h.type, JSON.parse(h.body).kind])).toEqual([
      ['application/json', 'raised'],
      ['application/json', 'cleared'],
    ]);
    const raised = JSON.parse(hooks[0].body);
    expect(raised).toMatchObject({ v: 1, kind: 'raised', rule: 'ko-rate', value: 1 });
    // only the alert's fields: no patient, dossier or message data
    for (const body of [...alerts().map((g) => g.payload), ...hooks.map((h) => h.body)]) {
      const allowed = ['v', 'kind', 'rule', 'severity', 'text', 'value', 'raisedAt', 'clearedAt', 'subject'];
      expect(Object.keys(JSON.parse(body)).filter((k) => !allowed.includes(k))).toEqual([]);
    }
    expect(outlets.stats).toMatchObject({ mqtt: { sent: 2, failed: 0 }, mail: { sent: 2, failed: 0 }, webhook: { sent: 2, failed: 0 } });

    // a newcomer reads the last state of the alert (retained): cleared
    const late = mqtt.connect('mqtt://127.0.0.1:1883', { reconnectPeriod: 0, clientId: `roc-alerts-late-${process.pid}` });
    const retained: Array<{ kind: string; retain: boolean }> = [];
    late.on('message', (_t, p, packet) => retained.push({ kind: JSON.parse(p.toString()).kind, retain: packet.retain }));
    await new Promise<void>((r) => late.once('connect', () => late.subscribe(`${PREFIX}/+/alerts/#`, { qos: 1 }, () => r())));
    await until('retained', () => retained.length >= 1);
    late.end(true);
    expect(retained).toEqual([{ kind: 'cleared', retain: true }]);
  });

  it('thresholds from the runtime settings (rocOps.alerts.rules), ROC_ALERT_RULES over them; the active rules in the summary', async () => {
    helper.settings({
      rocOps: {
        alerts: {
          rules: [
            { id: 'queue-depth', raise: 200, clear: 50 },
            { id: 'certificate-expiry', disabled: true },
          ],
        },
      },
    });
    try {
      // the runtime as the nodes see it (RED.settings: the settings of this load)
      const red = () => new Proxy(helper._RED, { get: (t, k) => (k === 'settings' ? helper.settings() : t[k]) });
      await helper.load([mllpInNode, eventsNode], flow());
      // read when the operations routes were registered (the nodes' module loaded)
      let s = await summary();
      const rule = (id: string) => s.alerts.rules.find((r: { id: string }) => r.id === id);
      expect(rule('queue-depth')).toMatchObject({ metric: 'queueDepth', raise: 200, clear: 50 });
      expect(s.alerts.rulesFrom).toEqual(['défauts', 'settings.js rocOps.alerts.rules']);
      configureAlerts(red(), { ROC_ALERT_RULES: '[{"id":"queue-depth","clear":40}]' });
      s = await summary();
      expect(rule('queue-depth')).toMatchObject({ metric: 'queueDepth', raise: 200, clear: 40 });
      expect(rule('certificate-expiry')).toBeUndefined();
      expect(rule('ko-rate')).toEqual(DEFAULT_RULES.find((r) => r.id === 'ko-rate'));
      expect(s.alerts.rulesFrom).toEqual(['défauts', 'settings.js rocOps.alerts.rules', 'ROC_ALERT_RULES']);

      // an invalid rule in the settings: the defaults, and the reason logged
      helper.settings({ rocOps: { alerts: { rules: [{ id: 'queue-depth', raise: -1 }] } } });
      await helper.unload();
      await helper.load([mllpInNode, eventsNode], flow());
      configureAlerts(red(), {});
      s = await summary();
      expect(s.alerts.rules).toEqual(DEFAULT_RULES);
      expect(s.alerts.rulesFrom).toEqual(['défauts']);
    } finally {
      helper.settings({});
    }
  });

  it('an unreachable webhook or SMTP server is counted, not retried, and MQTT still gets the change', async () => {
    await helper.load([mllpInNode, eventsNode], flow());
    await until('listener', () => !!helper.getNode('in').listener?.port);
    await until('broker connected', () => helper.getNode('ev').publisher?.connected === true);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const before = alerts().length;
    const outlets = configureAlerts(helper._RED, {
      ROC_ALERT_RULES: JSON.stringify([
        { id: 'ko-rate', raise: 0.5, clear: 0.2, forMs: 0, minCount: 4 },
        ...DEFAULT_RULES.filter((r) => r.id !== 'ko-rate').map((r) => ({ id: r.id, disabled: true })),
      ]),
      ROC_ALERT_SMTP_HOST: '127.0.0.1',
      ROC_ALERT_SMTP_PORT: String(deadPort),
      ROC_ALERT_MAIL_TO: 'exploitation@chu-exemple.fr',
      ROC_ALERT_WEBHOOK_URL: `http://127.0.0.1:${deadPort}/`,
    });
    for (let i = 0; i < 4; i++) answered('KO', 300, 'idb', '6001');
    await summary();
    await outlets.idle();
    expect(outlets.stats.webhook).toMatchObject({ sent: 0, failed: 1 });
    expect(outlets.stats.mail).toMatchObject({ sent: 0, failed: 1 });
    await until('mqtt raise', () => alerts().length >= before + 1);
    expect(JSON.parse(alerts()[before].payload).kind).toBe('raised');
    for (let i = 0; i < 36; i++) answered('OK', 150);
    await summary();
    await outlets.idle();
    await until('mqtt clear', () => alerts().length >= before + 2);
    expect(JSON.parse(alerts()[before + 1].payload).kind).toBe('cleared');
  });
});
