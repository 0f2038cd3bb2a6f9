/**
 * End to end, with `npm start` and the GAP simulator streaming: the operations event stream over
 * MQTT (the embedded broker of the shipped roc-events node), read by a real MQTT client; the
 * Prometheus metrics, parsed, matching what the stream showed; the health endpoints; each new
 * endpoint tried as anonymous, viewer, operator and admin (and the scraper's ROC_METRICS_TOKEN);
 * no NIR, name, birth date or IPP in any event, topic or metric.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startRuntimeProcess, type StartedRuntime, type TestRole } from '../support/runtime';
import { GapAnswerListener, GapSimulator } from '../../simulator/gap';
import { encodeGapMessage, gapDay } from '../../simulator/gap-day';
import { decodeFrame } from '../../lib/hl7/charset';
import { expectNoPatientData, identifiersFromHl7, mergeIdentifiers, processOutput } from '../support/patient-data';
import { parsePrometheus } from '../support/prometheus';
import type { RocEvent } from '../../lib/events/schema';

jest.setTimeout(180000);

const METRICS_TOKEN = 'metrics-scraper-token-0123456789abcdef';

async function until(what: string, check: () => boolean, timeoutMs = 40000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) {
      const kinds: Record<string, number> = {};
      for (const g of got) kinds[`${g.event.node} ${g.event.event}`] = (kinds[`${g.event.node} ${g.event.event}`] ?? 0) + 1;
      throw new Error(`timed out waiting for ${what} (events: ${JSON.stringify(kinds)})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

let dir: string;
let rt: StartedRuntime;
let listener: GapAnswerListener;
let sub: MqttClient;
const got: Array<{ topic: string; text: string; event: RocEvent; qos: number }> = [];
let messages: ReturnType<typeof gapDay> extends Iterable<infer M> ? M[] : never;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-operations-'));
  listener = new GapAnswerListener();
  const { port: answerPort } = await listener.start();
  rt = await startRuntimeProcess(
    {
      ROC_MLLP_PORT: '0',
      ROC_GAP_ANSWER_PORT: String(answerPort),
      ROC_USER_DIR: dir,
      ROC_DEV_CERT_DIR: path.join(dir, 'certs'),
      ROC_METRICS_TOKEN: METRICS_TOKEN,
      ROC_DOSSIER_SCAN_SECONDS: '5',
    },
    60000,
  );
  const ev = /Operations events \(MQTT, embedded broker\) on 127\.0\.0\.1:(\d+)/.exec(rt.output());
  expect(ev).not.toBeNull();
  sub = mqtt.connect(`mqtt://127.0.0.1:${ev![1]}`, { reconnectPeriod: 0, clientId: `ops-e2e-${process.pid}` });
  sub.on('message', (topic, payload, packet) =>
    got.push({ topic, text: payload.toString(), event: JSON.parse(payload.toString()) as RocEvent, qos: packet.qos }),
  );
  await new Promise<void>((resolve, reject) => {
    sub.once('connect', () => sub.subscribe('roc/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    sub.once('error', reject);
  });

  const m = /GAP MLLP listener \(HL7 v2 PAM-FR\) on \S+:(\d+)/.exec(rt.output());
  messages = [...gapDay({ messages: 60, venues: 8, seed: 11 })];
  const sim = new GapSimulator({ port: Number(m![1]), connections: 1, window: 4 });
  const stats = await sim.run(messages);
  expect(stats.byCode).toEqual({ AA: messages.length });
  // the stream shows the chain: intake, dossier, services, answers to the GAP acknowledged
  await until('answers acknowledged by the GAP on the stream', () =>
    got.some((g) => g.event.node === 'roc-mllp-out' && g.event.event === 'acknowledged'),
  );
  // the stream settles: every answer queued for the GAP acknowledged, nothing new for a second
  const n = (node: string, event: string) => got.filter((g) => g.event.node === node && g.event.event === event).length;
  let last = -1;
  let stableSince = Date.now();
  await until('the stream to settle', () => {
    if (got.length !== last) {
      last = got.length;
      stableSince = Date.now();
    }
    return n('roc-mllp-out', 'sent') === n('roc-mllp-out', 'acknowledged') && Date.now() - stableSince > 1500;
  });
});

afterAll(async () => {
  sub?.end(true);
  await rt?.stop();
  await listener?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the event stream (embedded broker, real MQTT client)', () => {
  it('every ROC node of the chain emits, at QoS 1, on roc/<finess>/<node type>/<event>, in the v1 schema', () => {
    const kinds = new Set(got.map((g) => `${g.event.node} ${g.event.event}`));
    for (const k of [
      'roc-mllp-in received',
      'roc-mllp-in acknowledged',
      'roc-dossier state',
      'roc-idb answered',
      'roc-mllp-out sent',
      'roc-mllp-out acknowledged',
    ])
      expect([k, kinds.has(k)]).toEqual([k, true]);
    expect(got.every((g) => g.qos === 1 && g.event.v === 1)).toBe(true);
    for (const g of got) expect(g.topic).toBe(`roc/${g.event.finess ?? '750100125'}/${g.event.node}/${g.event.event}`);
    const acks = got.filter((g) => g.event.node === 'roc-mllp-in' && g.event.event === 'acknowledged');
    expect(acks).toHaveLength(messages.length);
    expect(acks.every((g) => g.event.code === 'AA')).toBe(true);
    const idb = got.find((g) => g.event.node === 'roc-idb' && g.event.event === 'answered')!.event;
    expect(idb).toMatchObject({
      service: 'idb',
      finess: '750100125',
      amc: expect.stringMatching(/^\d{10}$/),
      outcome: expect.stringMatching(/^(OK|KO)$/),
    });
    expect(idb.latencyMs).toBeGreaterThanOrEqual(0);
    const states = got.filter((g) => g.event.event === 'state');
    expect(states.every((g) => /^[0-9a-f]{24}$/.test(g.event.dossier ?? ''))).toBe(true);
  });

  it('no NIR, name, birth date or IPP in any event or topic (the patients of the GAP day)', () => {
    const ids = mergeIdentifiers(...messages.map((msg) => identifiersFromHl7(decodeFrame(encodeGapMessage(msg)).text)));
    expectNoPatientData({ texts: got.flatMap((g) => [g.topic, g.text]) }, ids);
    // nor any venue number: dossiers are opaque by default
    for (const msg of messages) if (msg.venue) expect(got.some((g) => g.text.includes(msg.venue!))).toBe(false);
    expectNoPatientData(processOutput(rt), ids);
  });
});

describe('GET /metrics', () => {
  it.each([
    ['anonymous', 401, undefined],
    ['viewer', 200, 'viewer'],
    ['operator', 200, 'operator'],
    ['admin', 200, 'admin'],
  ] as Array<[string, number, TestRole | undefined]>)('%s → %i', async (_who, status, role) => {
    const res = await fetch(`${rt.url}metrics`, { headers: role ? await rt.headers(role) : {} });
    expect(res.status).toBe(status);
    if (status === 200) expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  });

  it('the scraper’s bearer token ROC_METRICS_TOKEN reads /metrics (and nothing else); a wrong token is refused', async () => {
    const ok = await fetch(`${rt.url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(`${rt.url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const elsewhere = await fetch(`${rt.url}roc/dossiers`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(elsewhere.status).toBe(401);
  });

  it('parsed as Prometheus text, the counters match the stream; no patient data in any metric', async () => {
    // the queue gauges are set by the nodes' status refresh (throttled): on a loaded machine the
    // first one may come a little after the stream; wait for them (bounded), then read
    let text = '';
    let p = parsePrometheus('');
    for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
      const res = await fetch(`${rt.url}metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      text = await res.text();
      p = parsePrometheus(text);
      const queues = ['roc-mllp-in:held', 'roc-mllp-in:inflight', 'roc-mllp-out:error', 'roc-dossier:recheck'];
      if (queues.every((q) => p.find('roc_queue_depth', { node: q.split(':')[0], queue: q.split(':')[1] }).length > 0)) break;
    }
    const count = (node: string, event: string) => got.filter((g) => g.event.node === node && g.event.event === event).length;
    // intake: one AA per message, as the GAP saw
    expect(p.sum('roc_gap_acks_total', { node: 'roc-mllp-in', code: 'AA' })).toBe(messages.length);
    expect(p.sum('roc_events_total', { node: 'roc-mllp-in', event: 'acknowledged' })).toBe(count('roc-mllp-in', 'acknowledged'));
    // the services: as many answers counted as the stream carried (the bus feeds both)
    const answered = got.filter((g) => g.event.event === 'answered');
    const answersMetric = p.sum('roc_service_answers_total');
    expect(answersMetric).toBeGreaterThanOrEqual(answered.length);
    expect(p.sum('roc_service_latency_seconds_count')).toBe(answersMetric);
    expect(p.sum('roc_service_answers_total', { service: 'idb' })).toBeGreaterThanOrEqual(
      answered.filter((g) => g.event.service === 'idb').length,
    );
    // gauges: journal size, certificate expiry (the development certificate), the publisher
    expect(p.find('roc_journal_size_bytes', { journal: 'roc-journal.sqlite' })[0].value).toBeGreaterThan(0);
    expect(p.find('roc_certificate_expiry_days', { finess: '750100125' })[0].value).toBeGreaterThan(0);
    expect(p.find('roc_events_broker_connected')[0].value).toBe(1);
    expect(p.find('roc_events_dropped')[0].value).toBe(0);
    expect(p.find('roc_queue_depth', { node: 'roc-mllp-in', queue: 'held' })[0].value).toBe(0);
    expect(p.find('roc_queue_depth', { node: 'roc-mllp-in', queue: 'inflight' })).toHaveLength(1);
    expect(p.find('roc_queue_depth', { node: 'roc-mllp-out', queue: 'error' })[0].value).toBe(0);
    expect(p.find('roc_queue_depth', { node: 'roc-dossier', queue: 'recheck' })).toHaveLength(1);
    expect(p.find('process_resident_memory_bytes')).toHaveLength(1);
    const ids = mergeIdentifiers(...messages.map((msg) => identifiersFromHl7(decodeFrame(encodeGapMessage(msg)).text)));
    expectNoPatientData([text], ids);
  });
});

describe('GET /health and /health/ready', () => {
  it.each([
    ['anonymous', undefined],
    ['viewer', 'viewer'],
    ['operator', 'operator'],
    ['admin', 'admin'],
  ] as Array<[string, TestRole | undefined]>)('%s: liveness 200, no detail', async (_who, role) => {
    const res = await fetch(`${rt.url}health`, { headers: role ? await rt.headers(role) : {} });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it.each([
    ['anonymous', undefined],
    ['viewer', 'viewer'],
    ['operator', 'operator'],
    ['admin', 'admin'],
  ] as Array<[string, TestRole | undefined]>)(
    '%s: readiness 200 with its checks (journal writable, broker, AMC directory), no path',
    async (_who, role) => {
      const res = await fetch(`${rt.url}health/ready`, { headers: role ? await rt.headers(role) : {} });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
      expect(body.status).toBe('ready');
      const names = body.checks.map((c) => c.name);
      expect(names).toEqual(expect.arrayContaining(['journal:roc-journal.sqlite', 'events:embedded', 'directory:750100125']));
      expect(body.checks.every((c) => c.ok)).toBe(true);
      expect(JSON.stringify(body)).not.toContain(dir);
    },
  );
});
