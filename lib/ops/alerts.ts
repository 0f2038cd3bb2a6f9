/**
 * Operations alerts: rules as data (a metric of the summary, a threshold, how long it must hold),
 * evaluated periodically. An alert is raised ONCE when its condition has held for `forMs`, stays
 * raised (no repeat) while it holds, and is cleared ONCE when the value has gone back past the
 * clear threshold (hysteresis: `clear` below `raise` for a "more is worse" metric) for `clearForMs`.
 * One alert per rule and subject (an AMC, a GAP connection): never a flood.
 *
 * Outputs: `active()` for the dashboard, and listeners (`onChange`) the runtime connects to MQTT,
 * e-mail or a webhook. Pure TypeScript, clock injected.
 */

export type AlertMetric =
  /** KO share (business + technical) of the service exchanges of the recent window, 0..1. */
  | 'koRate'
  /** Per AMC: technical KO share of the recent window (1 = unreachable), or its breaker open. */
  | 'amcUnreachable'
  /** Outbound answers QUEUED or in ERROR. */
  | 'queueDepth'
  /** Age in minutes of the oldest held venue. */
  | 'holdAgeMinutes'
  /** Dossiers whose re-check is due. */
  | 'recheckBacklog'
  /** Days before the establishment's certificate expires (less is worse). */
  | 'certificateDays'
  /** Per GAP connection: minutes since its last message. */
  | 'gapSilentMinutes';

export interface AlertRule {
  id: string;
  metric: AlertMetric;
  /** Raise when value >= raise (or <= raise when `below`). */
  raise: number;
  /** Clear when value < clear (or > clear when `below`). Defaults to `raise`. */
  clear?: number;
  below?: boolean;
  /** The condition must hold this long before raising (default 0: at the first evaluation). */
  forMs?: number;
  /** The clear condition must hold this long before clearing (default 0). */
  clearForMs?: number;
  /** For ratio metrics: at least this many exchanges in the window (default 10). */
  minCount?: number;
  severity: 'warning' | 'critical';
  /** French, for the operator; `{subject}` and `{value}` are replaced. */
  text: string;
}

/** The defaults (docs/operations-dashboard.md); a site replaces them with its own list. */
export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    id: 'ko-rate',
    metric: 'koRate',
    raise: 0.3,
    clear: 0.2,
    forMs: 120_000,
    minCount: 10,
    severity: 'warning',
    text: 'Taux de KO élevé : {value} des échanges des 10 dernières minutes',
  },
  {
    id: 'amc-unreachable',
    metric: 'amcUnreachable',
    raise: 0.8,
    clear: 0.2,
    forMs: 60_000,
    minCount: 3,
    severity: 'critical',
    text: 'AMC {subject} injoignable : {value} de KO techniques (ou disjoncteur ouvert)',
  },
  {
    id: 'queue-depth',
    metric: 'queueDepth',
    raise: 50,
    clear: 10,
    forMs: 120_000,
    severity: 'warning',
    text: 'Réponses au GAP en attente : {value}',
  },
  {
    id: 'hold-age',
    metric: 'holdAgeMinutes',
    raise: 15,
    clear: 1,
    severity: 'warning',
    text: 'Une venue est suspendue depuis {value} min',
  },
  {
    id: 'recheck-backlog',
    metric: 'recheckBacklog',
    raise: 100,
    clear: 20,
    forMs: 300_000,
    severity: 'warning',
    text: 'Re-vérifications en retard : {value}',
  },
  {
    id: 'certificate-expiry',
    metric: 'certificateDays',
    raise: 30,
    clear: 35,
    below: true,
    severity: 'warning',
    text: 'Certificat de l’établissement : expire dans {value} jours',
  },
  {
    id: 'gap-silent',
    metric: 'gapSilentMinutes',
    raise: 30,
    clear: 1,
    severity: 'warning',
    text: 'Aucun message du GAP {subject} depuis {value} min',
  },
];

/** The values the rules read: one number per metric, per subject for the per-subject ones. */
export interface AlertInputs {
  koRate?: { value: number; count: number };
  amcUnreachable?: Record<string, { value: number; count: number }>;
  queueDepth?: number;
  holdAgeMinutes?: number;
  recheckBacklog?: number;
  certificateDays?: number;
  gapSilentMinutes?: Record<string, number>;
}

export interface Alert {
  rule: string;
  subject?: string;
  severity: AlertRule['severity'];
  text: string;
  value: number;
  raisedAt: string;
  clearedAt?: string;
}

export type AlertChange = { kind: 'raised' | 'cleared'; alert: Alert };

interface Tracker {
  /** When the raise condition started holding (pending raise). */
  raiseSince?: number;
  /** When the clear condition started holding (pending clear). */
  clearSince?: number;
  alert?: Alert;
}

function fmt(rule: AlertRule, v: number): string {
  if (rule.metric === 'koRate' || rule.metric === 'amcUnreachable') return `${Math.round(v * 100)} %`;
  return String(Math.round(v));
}

export class AlertEngine {
  private readonly trackers = new Map<string, Tracker>();
  private readonly listeners: Array<(c: AlertChange) => void> = [];
  private readonly history: AlertChange[] = [];

  constructor(
    private _rules: readonly AlertRule[] = DEFAULT_RULES,
    private readonly now: () => number = Date.now,
  ) {}

  get rules(): readonly AlertRule[] {
    return this._rules;
  }

  /** Replaces the rules (a site's thresholds); the alerts of a rule that is gone are forgotten (no clear sent). */
  setRules(rules: readonly AlertRule[]): void {
    this._rules = rules;
    for (const id of [...this.trackers.keys()]) {
      if (!rules.some((r) => id === r.id || id.startsWith(r.id + '|'))) this.trackers.delete(id);
    }
  }

  /** Called once per raise and once per clear (errors of a listener are swallowed: an outlet that fails never stops the others). */
  onChange(cb: (c: AlertChange) => void): () => void {
    this.listeners.push(cb);
    return () => {
      const i = this.listeners.indexOf(cb);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  active(): Alert[] {
    return [...this.trackers.values()].flatMap((t) => (t.alert ? [t.alert] : []));
  }

  /** The last changes (most recent last, at most 100). */
  recent(): AlertChange[] {
    return [...this.history];
  }

  /** Evaluates every rule; returns the changes of this evaluation. */
  evaluate(inputs: AlertInputs): AlertChange[] {
    const now = this.now();
    const changes: AlertChange[] = [];
    const seen = new Set<string>();
    for (const rule of this.rules) {
      for (const [subject, value, count] of this.values(rule, inputs)) {
        const id = subject === undefined ? rule.id : `${rule.id}|${subject}`;
        seen.add(id);
        const c = this.step(rule, id, subject, value, count, now);
        if (c) changes.push(c);
      }
    }
    // a subject that disappeared (an AMC no longer seen): its condition no longer holds
    for (const [id, t] of this.trackers) {
      if (seen.has(id)) continue;
      const rule = this.rules.find((r) => id === r.id || id.startsWith(r.id + '|'));
      if (t.alert && rule) {
        const c = this.step(rule, id, t.alert.subject, rule.below ? Infinity : -Infinity, Infinity, now);
        if (c) changes.push(c);
      } else if (!t.alert) this.trackers.delete(id);
    }
    for (const c of changes) {
      this.history.push(c);
      if (this.history.length > 100) this.history.shift();
      for (const l of this.listeners) {
        try {
          l(c);
        } catch {
          // an outlet's failure is its own
        }
      }
    }
    return changes;
  }

  private values(rule: AlertRule, i: AlertInputs): Array<[string | undefined, number, number]> {
    switch (rule.metric) {
      case 'koRate':
        return i.koRate ? [[undefined, i.koRate.value, i.koRate.count]] : [];
      case 'amcUnreachable':
        return Object.entries(i.amcUnreachable ?? {}).map(([k, v]) => [k, v.value, v.count]);
      case 'gapSilentMinutes':
        return Object.entries(i.gapSilentMinutes ?? {}).map(([k, v]) => [k, v, Infinity]);
      default: {
        const v = i[rule.metric];
        return typeof v === 'number' && Number.isFinite(v) ? [[undefined, v, Infinity]] : [];
      }
    }
  }

  private step(
    rule: AlertRule,
    id: string,
    subject: string | undefined,
    value: number,
    count: number,
    now: number,
  ): AlertChange | undefined {
    let t = this.trackers.get(id);
    if (!t) this.trackers.set(id, (t = {}));
    const clear = rule.clear ?? rule.raise;
    const enough = count >= (rule.minCount ?? (rule.metric === 'koRate' || rule.metric === 'amcUnreachable' ? 10 : 0));
    const bad = enough && (rule.below ? value <= rule.raise : value >= rule.raise);
    // too few exchanges says nothing: an unreachable AMC nobody calls any more clears
    const good = rule.below ? value > clear : value < clear || !enough;
    if (!t.alert) {
      t.clearSince = undefined;
      if (!bad) {
        t.raiseSince = undefined;
        return undefined;
      }
      t.raiseSince ??= now;
      if (now - t.raiseSince < (rule.forMs ?? 0)) return undefined;
      const alert: Alert = {
        rule: rule.id,
        severity: rule.severity,
        text: rule.text.replace('{subject}', subject ?? '').replace('{value}', fmt(rule, value)),
        value,
        raisedAt: new Date(now).toISOString(),
      };
      if (subject !== undefined) alert.subject = subject;
      t.alert = alert;
      t.raiseSince = undefined;
      return { kind: 'raised', alert: { ...alert } };
    }
    t.raiseSince = undefined;
    if (!good) {
      t.clearSince = undefined;
      if (Number.isFinite(value)) t.alert.value = value;
      return undefined;
    }
    t.clearSince ??= now;
    if (now - t.clearSince < (rule.clearForMs ?? 0)) return undefined;
    const cleared: Alert = { ...t.alert, clearedAt: new Date(now).toISOString() };
    this.trackers.delete(id);
    return { kind: 'cleared', alert: cleared };
  }
}

/** Version of {@link alertPayload}'s shape (MQTT topic payload, webhook body). */
export const ALERT_PAYLOAD_VERSION = 1 as const;

/** What an outlet sends: JSON for MQTT (`roc/<finess>/alerts/<rule>`) or a webhook; no patient data in it. */
export function alertPayload(c: AlertChange): Record<string, unknown> {
  const a = c.alert;
  const p: Record<string, unknown> = {
    v: ALERT_PAYLOAD_VERSION,
    kind: c.kind,
    rule: a.rule,
    severity: a.severity,
    text: a.text,
    value: a.value,
    raisedAt: a.raisedAt,
  };
  if (a.subject !== undefined) p.subject = a.subject;
  if (a.clearedAt) p.clearedAt = a.clearedAt;
  return p;
}

/** Subject and body of the e-mail of a change (nodemailer `sendMail({ subject, text })`). */
export function alertMail(c: AlertChange): { subject: string; text: string } {
  const a = c.alert;
  const head = c.kind === 'raised' ? (a.severity === 'critical' ? 'ALERTE CRITIQUE' : 'Alerte') : 'Fin d’alerte';
  return {
    subject: `[ROC Bridge] ${head} : ${a.text}`,
    text:
      `${head} — ${a.text}\n` +
      `Règle : ${a.rule}${a.subject ? ` (${a.subject})` : ''}\n` +
      `Levée le : ${a.raisedAt}\n` +
      (a.clearedAt ? `Levée terminée le : ${a.clearedAt}\n` : '') +
      'Tableau de bord : /roc/ops/\n',
  };
}
