/** ROC_ALERT_RULES and ROC_ALERT_* settings (lib/ops/alert-outlets.ts): validated, defaults kept. */
import { AlertConfigError, alertTopic, outletSettingsFromEnv, parseAlertRules } from '../../lib/ops/alert-outlets';
import { DEFAULT_RULES } from '../../lib/ops/alerts';

describe('parseAlertRules', () => {
  it('no value: the defaults; an entry with a default id overrides its fields; disabled removes; a new complete rule is added', () => {
    expect(parseAlertRules(undefined)).toEqual(DEFAULT_RULES);
    expect(parseAlertRules('  ')).toEqual(DEFAULT_RULES);
    const rules = parseAlertRules(
      JSON.stringify([
        { id: 'queue-depth', raise: 100, clear: 50 },
        { id: 'gap-silent', disabled: true },
        { id: 'ko-rate-strict', metric: 'koRate', raise: 0.1, clear: 0.05, severity: 'critical', text: 'KO {value}' },
      ]),
    );
    const q = rules.find((r) => r.id === 'queue-depth')!;
    expect(q).toMatchObject({ raise: 100, clear: 50, metric: 'queueDepth' });
    expect(rules.some((r) => r.id === 'gap-silent')).toBe(false);
    expect(rules[rules.length - 1]).toMatchObject({ id: 'ko-rate-strict', severity: 'critical' });
    expect(rules).toHaveLength(DEFAULT_RULES.length);
  });

  it.each([
    ['not json', '{'],
    ['not an array', '{"id":"ko-rate"}'],
    ['bad id', '[{"id":"KO RATE"}]'],
    ['unknown field', '[{"id":"ko-rate","rasie":0.4}]'],
    ['negative threshold', '[{"id":"ko-rate","raise":-1}]'],
    ['unknown metric', '[{"id":"ko-rate","metric":"cpu"}]'],
    ['incomplete new rule', '[{"id":"mine","raise":3}]'],
    ['clear on the bad side', '[{"id":"queue-depth","raise":10,"clear":20}]'],
    ['bad severity', '[{"id":"ko-rate","severity":"info"}]'],
  ])('%s: AlertConfigError', (_what, json) => {
    expect(() => parseAlertRules(json)).toThrow(AlertConfigError);
  });
});

describe('outletSettingsFromEnv', () => {
  it('nothing configured: no mail, no webhook', () => {
    expect(outletSettingsFromEnv({})).toEqual({});
  });
  it('mail and webhook settings; implicit TLS on 465 by default with ROC_ALERT_SMTP_TLS', () => {
    const s = outletSettingsFromEnv({
      ROC_ALERT_SMTP_HOST: 'smtp.chu-exemple.fr',
      ROC_ALERT_SMTP_TLS: 'true',
      ROC_ALERT_SMTP_USER: 'roc',
      ROC_ALERT_SMTP_PASSWORD: 'secret-of-the-test',
      ROC_ALERT_MAIL_TO: 'exploitation@chu-exemple.fr; astreinte@chu-exemple.fr',
      ROC_ALERT_MAIL_FROM: 'roc-bridge@chu-exemple.fr',
      ROC_ALERT_WEBHOOK_URL: 'https://supervision.chu-exemple.fr/hooks/roc',
    });
    expect(s.mail).toEqual({
      host: 'smtp.chu-exemple.fr',
      port: 465,
      secure: true,
      user: 'roc',
      password: 'secret-of-the-test',
      to: ['exploitation@chu-exemple.fr', 'astreinte@chu-exemple.fr'],
      from: 'roc-bridge@chu-exemple.fr',
    });
    expect(s.webhook).toEqual({ url: 'https://supervision.chu-exemple.fr/hooks/roc', timeoutMs: 5000 });
  });
  it.each([
    [{ ROC_ALERT_SMTP_HOST: 'smtp.chu-exemple.fr' }],
    [{ ROC_ALERT_MAIL_TO: 'exploitation@chu-exemple.fr' }],
    [{ ROC_ALERT_SMTP_HOST: 'smtp.chu-exemple.fr', ROC_ALERT_MAIL_TO: 'pas-une-adresse' }],
    [{ ROC_ALERT_SMTP_HOST: 'smtp.chu-exemple.fr', ROC_ALERT_MAIL_TO: 'a@chu-exemple.fr', ROC_ALERT_SMTP_PORT: '70000' }],
    [{ ROC_ALERT_WEBHOOK_URL: 'ftp://supervision.chu-exemple.fr/' }],
    [{ ROC_ALERT_WEBHOOK_URL: 'pas une url' }],
  ])('%j: AlertConfigError', (env) => {
    expect(() => outletSettingsFromEnv(env)).toThrow(AlertConfigError);
  });
});

describe('alertTopic', () => {
  const raisedAt = '2026-03-02T08:00:00.000Z';
  it('<prefix>/<finess>/alerts/<rule>, and /<subject> for a per-AMC rule', () => {
    expect(
      alertTopic('roc', '750100125', { kind: 'raised', alert: { rule: 'ko-rate', severity: 'warning', text: 't', value: 0.4, raisedAt } }),
    ).toBe('roc/750100125/alerts/ko-rate');
    expect(
      alertTopic('roc', undefined, {
        kind: 'cleared',
        alert: { rule: 'amc-unreachable', subject: '0077554321', severity: 'critical', text: 't', value: 0, raisedAt },
      }),
    ).toBe('roc/-/alerts/amc-unreachable/0077554321');
  });
});
