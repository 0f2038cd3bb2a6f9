/**
 * Where an alert change goes (docs/operations-dashboard.md, "Alertes"): MQTT (through the
 * roc-events publisher), e-mail (nodemailer) and a webhook, each configured from the environment.
 * One message per change (the AlertEngine raises once and clears once); an outlet that fails is
 * counted, never retried in a loop, never blocks the others. No patient data: the payload is
 * {@link alertPayload} (rule, subject = an AMC number or a GAP connection, value, times).
 *
 * Pure TypeScript (no Node-RED): the runtime hands the MQTT publishers in.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import { DEFAULT_RULES, alertMail, alertPayload, type AlertChange, type AlertMetric, type AlertRule } from './alerts';

const METRICS: readonly AlertMetric[] = [
  'koRate',
  'amcUnreachable',
  'queueDepth',
  'holdAgeMinutes',
  'recheckBacklog',
  'certificateDays',
  'gapSilentMinutes',
];

export class AlertConfigError extends Error {}

const SEGMENT_RE = /[^A-Za-z0-9._-]/g;

/**
 * `<prefix>/<finess>/alerts/<rule>`, with `/<subject>` (an AMC number, a GAP connection) for the
 * rules that alert per subject: each alert has its own retained topic.
 */
export function alertTopic(prefix: string, finess: string | undefined, c: AlertChange): string {
  const f = (finess ?? '-').replace(SEGMENT_RE, '_') || '-';
  const base = `${prefix}/${f}/alerts/${c.alert.rule.replace(SEGMENT_RE, '_')}`;
  return c.alert.subject !== undefined ? `${base}/${c.alert.subject.replace(SEGMENT_RE, '_') || '-'}` : base;
}

function nonNeg(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new AlertConfigError(`${what}: a number ≥ 0 is expected`);
  return v;
}

/**
 * The rules from `ROC_ALERT_RULES` (a JSON array): an entry whose `id` is a default rule's
 * overrides its fields (`{"id":"queue-depth","raise":100,"clear":50}`), `{"id":…,"disabled":true}`
 * removes it, any other id adds a complete rule. Undefined or empty: the defaults. Throws
 * {@link AlertConfigError} on anything invalid (the caller keeps the defaults and says why).
 */
export function parseAlertRules(json: string | undefined, defaults: readonly AlertRule[] = DEFAULT_RULES): AlertRule[] {
  if (json === undefined || !json.trim()) return [...defaults];
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new AlertConfigError('ROC_ALERT_RULES: invalid JSON');
  }
  return applyAlertRules(list, defaults, 'ROC_ALERT_RULES');
}

/**
 * The same entries as {@link parseAlertRules}, already parsed (the runtime settings:
 * `rocOps.alerts.rules` in settings.js), applied over `defaults`; `source` names them in the
 * errors. Undefined: the defaults.
 */
export function applyAlertRules(
  list: unknown,
  defaults: readonly AlertRule[] = DEFAULT_RULES,
  source = 'rocOps.alerts.rules',
): AlertRule[] {
  if (list === undefined || list === null) return [...defaults];
  if (!Array.isArray(list)) throw new AlertConfigError(`${source}: an array of rules is expected`);
  const rules = defaults.map((r) => ({ ...r }));
  for (const [i, raw] of list.entries()) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new AlertConfigError(`${source}[${i}]: an object is expected`);
    const o = raw as Record<string, unknown>;
    const id = o.id;
    if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]{0,39}$/.test(id))
      throw new AlertConfigError(`${source}[${i}]: id of lowercase letters, digits and - (40 at most)`);
    const known = new Set(['id', 'metric', 'raise', 'clear', 'below', 'forMs', 'clearForMs', 'minCount', 'severity', 'text', 'disabled']);
    const extra = Object.keys(o).find((k) => !known.has(k));
    if (extra) throw new AlertConfigError(`${source}[${i}] (${id}): unknown field "${extra.slice(0, 30)}"`);
    const at = rules.findIndex((r) => r.id === id);
    if (o.disabled === true) {
      if (at >= 0) rules.splice(at, 1);
      continue;
    }
    const base: Partial<AlertRule> = at >= 0 ? rules[at] : {};
    const r: Partial<AlertRule> = { ...base, id };
    if (o.metric !== undefined) {
      if (!METRICS.includes(o.metric as AlertMetric))
        throw new AlertConfigError(`${source}[${i}] (${id}): metric among ${METRICS.join(', ')}`);
      r.metric = o.metric as AlertMetric;
    }
    if (o.raise !== undefined) r.raise = nonNeg(o.raise, `${source}[${i}] (${id}).raise`);
    if (o.clear !== undefined) r.clear = nonNeg(o.clear, `${source}[${i}] (${id}).clear`);
    for (const k of ['forMs', 'clearForMs', 'minCount'] as const)
      if (o[k] !== undefined) r[k] = nonNeg(o[k], `${source}[${i}] (${id}).${k}`);
    if (o.below !== undefined) {
      if (typeof o.below !== 'boolean') throw new AlertConfigError(`${source}[${i}] (${id}).below: true or false`);
      r.below = o.below;
    }
    if (o.severity !== undefined) {
      if (o.severity !== 'warning' && o.severity !== 'critical')
        throw new AlertConfigError(`${source}[${i}] (${id}).severity: warning or critical`);
      r.severity = o.severity;
    }
    if (o.text !== undefined) {
      if (typeof o.text !== 'string' || !o.text.trim() || o.text.length > 200)
        throw new AlertConfigError(`${source}[${i}] (${id}).text: 1 to 200 characters`);
      r.text = o.text;
    }
    if (r.metric === undefined || r.raise === undefined || r.severity === undefined || r.text === undefined)
      throw new AlertConfigError(`${source}[${i}] (${id}): a new rule needs metric, raise, severity and text`);
    const clear = r.clear ?? r.raise;
    if (r.below ? clear < r.raise : clear > r.raise)
      throw new AlertConfigError(`${source}[${i}] (${id}): clear must be on the good side of raise (hysteresis)`);
    if (at >= 0) rules[at] = r as AlertRule;
    else rules.push(r as AlertRule);
  }
  return rules;
}

/** The part of the roc-events publisher the MQTT outlet uses. */
export interface AlertMqttTarget {
  readonly prefix: string;
  readonly finess?: string;
  /** QoS 1; returns false when it could not be sent nor kept. */
  publishMessage(topic: string, payload: string, retain: boolean): boolean;
}

export interface MailSettings {
  host: string;
  port: number;
  /** Implicit TLS (465); otherwise STARTTLS when offered. */
  secure: boolean;
  user?: string;
  password?: string;
  to: string[];
  from: string;
}

export interface WebhookSettings {
  url: string;
  timeoutMs: number;
}

export interface OutletSettings {
  mail?: MailSettings;
  webhook?: WebhookSettings;
}

/** Mail and webhook settings from `ROC_ALERT_*`; throws {@link AlertConfigError} on a bad value. */
export function outletSettingsFromEnv(env: Record<string, string | undefined>): OutletSettings {
  const out: OutletSettings = {};
  const host = env.ROC_ALERT_SMTP_HOST?.trim();
  const to = (env.ROC_ALERT_MAIL_TO ?? '')
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (host || to.length) {
    if (!host) throw new AlertConfigError('ROC_ALERT_MAIL_TO without ROC_ALERT_SMTP_HOST');
    if (!to.length) throw new AlertConfigError('ROC_ALERT_SMTP_HOST without ROC_ALERT_MAIL_TO');
    const email = /^[^\s@<>]+@[^\s@<>]+$/;
    const bad = to.find((a) => !email.test(a));
    if (bad) throw new AlertConfigError('ROC_ALERT_MAIL_TO: an address is invalid');
    const from = env.ROC_ALERT_MAIL_FROM?.trim() || `roc-bridge@${host}`;
    if (!email.test(from)) throw new AlertConfigError('ROC_ALERT_MAIL_FROM: invalid address');
    const tlsFlag = (env.ROC_ALERT_SMTP_TLS ?? '').trim().toLowerCase();
    const secure = tlsFlag === 'true' || tlsFlag === '1';
    const port = env.ROC_ALERT_SMTP_PORT?.trim() ? Number(env.ROC_ALERT_SMTP_PORT) : secure ? 465 : 25;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AlertConfigError('ROC_ALERT_SMTP_PORT: 1 to 65535');
    out.mail = { host, port, secure, to, from };
    if (env.ROC_ALERT_SMTP_USER) out.mail.user = env.ROC_ALERT_SMTP_USER;
    if (env.ROC_ALERT_SMTP_PASSWORD) out.mail.password = env.ROC_ALERT_SMTP_PASSWORD;
  }
  const url = env.ROC_ALERT_WEBHOOK_URL?.trim();
  if (url) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AlertConfigError('ROC_ALERT_WEBHOOK_URL: invalid URL');
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AlertConfigError('ROC_ALERT_WEBHOOK_URL: http or https');
    const t = env.ROC_ALERT_WEBHOOK_TIMEOUT_MS ? Number(env.ROC_ALERT_WEBHOOK_TIMEOUT_MS) : 5000;
    out.webhook = { url, timeoutMs: Number.isInteger(t) && t >= 100 && t <= 60_000 ? t : 5000 };
  }
  return out;
}

export interface OutletStats {
  mqtt: { sent: number; failed: number };
  mail: { sent: number; failed: number; dropped: number };
  webhook: { sent: number; failed: number; dropped: number };
}

/** Sends in flight per outlet at most: beyond, a change is dropped and counted (never a pile-up). */
const MAX_PENDING = 20;

export class AlertOutlets {
  readonly stats: OutletStats = {
    mqtt: { sent: 0, failed: 0 },
    mail: { sent: 0, failed: 0, dropped: 0 },
    webhook: { sent: 0, failed: 0, dropped: 0 },
  };
  private readonly transport?: Transporter;
  private pendingMail = 0;
  private pendingWebhook = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    readonly settings: OutletSettings,
    /** The MQTT publishers of the moment (roc-events nodes come and go with deployments). */
    private readonly mqtt: () => AlertMqttTarget[] = () => [],
    /** Told of an outlet's failure (a short reason, no payload). */
    private readonly onError: (outlet: 'mqtt' | 'mail' | 'webhook', reason: string) => void = () => undefined,
  ) {
    const m = settings.mail;
    if (m) {
      this.transport = nodemailer.createTransport({
        host: m.host,
        port: m.port,
        secure: m.secure,
        ...(m.user ? { auth: { user: m.user, pass: m.password ?? '' } } : {}),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
    }
  }

  /** One change: to every configured outlet, once. Never throws. */
  handle(c: AlertChange): void {
    const payload = JSON.stringify(alertPayload(c));
    for (const p of this.mqtt()) {
      try {
        if (p.publishMessage(alertTopic(p.prefix, p.finess, c), payload, true)) this.stats.mqtt.sent++;
        else this.stats.mqtt.failed++;
      } catch (e) {
        this.stats.mqtt.failed++;
        this.onError('mqtt', (e as Error).message);
      }
    }
    if (this.transport && this.settings.mail) {
      if (this.pendingMail >= MAX_PENDING) this.stats.mail.dropped++;
      else {
        this.pendingMail++;
        const m = this.settings.mail;
        const { subject, text } = alertMail(c);
        this.track(
          this.transport.sendMail({ from: m.from, to: m.to, subject, text }).then(
            () => void this.stats.mail.sent++,
            (e: Error & { code?: string }) => {
              this.stats.mail.failed++;
              this.onError('mail', e.code ?? e.message);
            },
          ),
          () => this.pendingMail--,
        );
      }
    }
    const w = this.settings.webhook;
    if (w) {
      if (this.pendingWebhook >= MAX_PENDING) this.stats.webhook.dropped++;
      else {
        this.pendingWebhook++;
        this.track(
          fetch(w.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'roc-bridge-alerts' },
            body: payload,
            signal: AbortSignal.timeout(w.timeoutMs),
            redirect: 'error',
          }).then(
            async (res) => {
              await res.arrayBuffer().catch(() => undefined);
              if (res.ok) this.stats.webhook.sent++;
              else {
                this.stats.webhook.failed++;
                this.onError('webhook', `HTTP ${res.status}`);
              }
            },
            (e: Error) => {
              this.stats.webhook.failed++;
              this.onError('webhook', e.name === 'TimeoutError' ? `no answer within ${w.timeoutMs} ms` : e.message);
            },
          ),
          () => this.pendingWebhook--,
        );
      }
    }
  }

  private track(p: Promise<void>, after: () => void): void {
    const q = p.finally(after);
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  /** Resolves when the sends in flight are done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  close(): void {
    this.transport?.close();
  }
}
