/**
 * Alerts on an injected clock: raised once after their delay, never repeated while the condition
 * holds, cleared once past the clear threshold (hysteresis), one per subject, outlets called once
 * per change and an outlet that throws does not stop the others.
 */
import { AlertEngine, DEFAULT_RULES, alertMail, alertPayload, type AlertChange, type AlertRule } from '../../lib/ops/alerts';
import { alertInputs } from '../../lib/ops/summary';
import { OpsStats } from '../../lib/ops/stats';

function clock(start = Date.parse('2026-12-06T08:00:00Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('AlertEngine', () => {
  it('KO rate: raised once after forMs, not repeated, cleared once below the clear threshold', () => {
    const c = clock();
    const e = new AlertEngine(DEFAULT_RULES, c.now);
    const seen: AlertChange[] = [];
    e.onChange((x) => seen.push(x));
    const ko = (value: number, count = 50) => e.evaluate({ koRate: { value, count } });
    expect(ko(0.5)).toEqual([]); // holds since now, forMs 2 min not reached
    c.advance(60_000);
    expect(ko(0.5)).toEqual([]);
    c.advance(60_000);
    expect(ko(0.45)).toEqual([
      expect.objectContaining({
        kind: 'raised',
        alert: expect.objectContaining({ rule: 'ko-rate', text: expect.stringContaining('45 %') }),
      }),
    ]);
    for (let i = 0; i < 20; i++) {
      c.advance(15_000);
      expect(ko(i % 2 ? 0.6 : 0.25)).toEqual([]); // between clear (20 %) and raise: still raised, never repeated
    }
    expect(e.active()).toHaveLength(1);
    c.advance(15_000);
    expect(ko(0.1)).toEqual([expect.objectContaining({ kind: 'cleared' })]);
    c.advance(15_000);
    expect(ko(0.1)).toEqual([]);
    expect(e.active()).toEqual([]);
    expect(seen.map((x) => x.kind)).toEqual(['raised', 'cleared']);
    expect(seen[1].alert.clearedAt).toBe(new Date(c.now() - 15_000).toISOString());
  });

  it('a short spike below forMs raises nothing; too few exchanges say nothing', () => {
    const c = clock();
    const e = new AlertEngine(DEFAULT_RULES, c.now);
    e.evaluate({ koRate: { value: 0.9, count: 50 } });
    c.advance(60_000);
    e.evaluate({ koRate: { value: 0.0, count: 50 } });
    c.advance(120_000);
    expect(e.evaluate({ koRate: { value: 0.9, count: 50 } })).toEqual([]);
    c.advance(600_000);
    expect(e.evaluate({ koRate: { value: 1, count: 3 } })).toEqual([]);
  });

  it('one alert per AMC; an open breaker counts as unreachable; an AMC no longer seen clears', () => {
    const c = clock();
    const e = new AlertEngine(DEFAULT_RULES, c.now);
    const inputs = { amcUnreachable: { '0775685365': { value: 1, count: 12 }, '0312345678': { value: 0, count: 40 } } };
    e.evaluate(inputs);
    c.advance(60_000);
    const raised = e.evaluate(inputs);
    expect(raised).toHaveLength(1);
    expect(raised[0].alert).toMatchObject({ rule: 'amc-unreachable', subject: '0775685365', severity: 'critical' });
    c.advance(60_000);
    expect(e.evaluate(inputs)).toEqual([]);
    c.advance(60_000);
    expect(e.evaluate({ amcUnreachable: {} })).toEqual([
      expect.objectContaining({ kind: 'cleared', alert: expect.objectContaining({ subject: '0775685365' }) }),
    ]);
  });

  it('certificate expiry (less is worse), hold age, queue depth, GAP silence per connection', () => {
    const c = clock();
    const e = new AlertEngine(DEFAULT_RULES, c.now);
    const ch = e.evaluate({
      certificateDays: 12,
      holdAgeMinutes: 20,
      queueDepth: 3,
      gapSilentMinutes: { 'mllp:2575 CPAGE/CHU-NORD': 45, 'mllp:2575 HEXA/CHU-SUD': 2 },
    });
    expect(ch.map((x) => [x.alert.rule, x.alert.subject])).toEqual([
      ['hold-age', undefined],
      ['certificate-expiry', undefined],
      ['gap-silent', 'mllp:2575 CPAGE/CHU-NORD'],
    ]);
    c.advance(5_000);
    expect(
      e.evaluate({ certificateDays: 40, holdAgeMinutes: 0, gapSilentMinutes: { 'mllp:2575 CPAGE/CHU-NORD': 0 } }).map((x) => x.kind),
    ).toEqual(['cleared', 'cleared', 'cleared']);
  });

  it('an outlet that throws does not stop the others', () => {
    const rules: AlertRule[] = [{ id: 'q', metric: 'queueDepth', raise: 5, clear: 1, severity: 'warning', text: 'file {value}' }];
    const e = new AlertEngine(rules, clock().now);
    const got: string[] = [];
    e.onChange(() => {
      throw new Error('SMTP injoignable');
    });
    e.onChange((x) => got.push(`${x.kind} ${x.alert.text}`));
    e.evaluate({ queueDepth: 7 });
    expect(got).toEqual(['raised file 7']);
  });
});

describe('alertInputs', () => {
  it('reads the summary: KO share of the recent window, technical share per AMC, queues, oldest hold, earliest certificate', () => {
    const c = clock();
    const stats = new OpsStats({ now: c.now });
    for (let i = 0; i < 10; i++)
      stats.record({ at: c.now(), service: 'IDB', amc: '0775685365', outcome: i < 8 ? 'TECHNIQUE' : 'OK', latencyMs: 100 });
    for (let i = 0; i < 10; i++)
      stats.record({ at: c.now(), service: 'IDB', amc: '0312345678', outcome: i < 2 ? 'KO' : 'OK', code: '6001', latencyMs: 80 });
    const inputs = alertInputs({
      at: new Date(c.now()).toISOString(),
      inbound: {} as never,
      dossiers: {},
      queues: { held: 1, heldOldestMinutes: 17, outboundQueued: 4, outboundError: 2, capped: false, recheckDue: 3 },
      breakers: [{ establishment: 'CHU', amc: '0990000006', state: 'open', failures: 5 }],
      certificates: [
        { establishment: 'a', notAfter: '', daysLeft: 40, level: 'ok' },
        { establishment: 'b', notAfter: '', daysLeft: 9, level: 'warning' },
      ],
      gap: [{ connection: 'mllp:2575 CPAGE/CHU-NORD', lastAt: '', minutesAgo: 4 }],
      listeners: [],
      senders: [],
      stats: stats.snapshot(60),
    });
    expect(inputs.koRate).toEqual({ value: 0.5, count: 20 });
    expect(inputs.amcUnreachable).toEqual({
      '0775685365': { value: 0.8, count: 10 },
      '0312345678': { value: 0, count: 10 },
      '0990000006': { value: 1, count: Infinity },
    });
    expect(inputs).toMatchObject({
      queueDepth: 6,
      holdAgeMinutes: 17,
      recheckBacklog: 3,
      certificateDays: 9,
      gapSilentMinutes: { 'mllp:2575 CPAGE/CHU-NORD': 4 },
    });
  });
});

describe('outlet payloads', () => {
  it('a versioned JSON for MQTT or a webhook, a French e-mail', () => {
    const c = clock();
    const rules: AlertRule[] = [{ id: 'q', metric: 'queueDepth', raise: 5, clear: 1, severity: 'critical', text: 'file {value}' }];
    const e = new AlertEngine(rules, c.now);
    const [raised] = e.evaluate({ queueDepth: 9 });
    expect(alertPayload(raised)).toEqual({
      v: 1,
      kind: 'raised',
      rule: 'q',
      severity: 'critical',
      text: 'file 9',
      value: 9,
      raisedAt: '2026-12-06T08:00:00.000Z',
    });
    expect(alertMail(raised).subject).toBe('[ROC Bridge] ALERTE CRITIQUE : file 9');
    c.advance(1000);
    const [cleared] = e.evaluate({ queueDepth: 0 });
    expect(alertPayload(cleared)).toMatchObject({ kind: 'cleared', clearedAt: '2026-12-06T08:00:01.000Z' });
    expect(alertMail(cleared).text).toContain('Levée terminée le : 2026-12-06T08:00:01.000Z');
  });
});
