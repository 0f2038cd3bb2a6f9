/**
 * GET /roc/ops/summary: what the dashboard polls, built from the journal (counts, queues, held
 * venues, re-checks due, the last message per GAP connection), the live parts the runtime hands
 * over (circuit breakers, certificates, answer senders) and the exchange statistics. Also the
 * inputs of the alert rules. No patient data: counts, states, codes, venue-free identifiers.
 * Pure TypeScript.
 */
import type { Journal, InboundState } from '../store/journal';
import type { BreakerSnapshot } from '../sel/breaker';
import type { CertificateState } from '../sel/establishment';
import type { OpsStats, StatsSnapshot } from './stats';
import type { Alert, AlertChange, AlertInputs } from './alerts';

export type SummaryJournal = Pick<Journal, 'counts' | 'countDossiersByState' | 'heldKeys' | 'browseOutbound' | 'dueDossiers' | 'browse'>;

export interface LiveSources {
  /** Per roc-establishment: its breakers and certificate. */
  establishments?: Array<{ id: string; name?: string; breakers: BreakerSnapshot[]; certificate?: CertificateState }>;
  /** Per roc-mllp-out: its destination and whether its connection is up. */
  senders?: Array<{ id: string; destination: string; connected: boolean }>;
  /** Per roc-mllp-in: its port and open connections. */
  listeners?: Array<{ id: string; port: number; connections: number }>;
}

/** Counts above this are shown as "at least" (a queue is read up to this many rows). */
export const COUNT_CAP = 1000;

export interface OpsSummary {
  at: string;
  inbound: Record<InboundState, number>;
  dossiers: Record<string, number>;
  queues: {
    held: number;
    heldOldestMinutes?: number;
    outboundQueued: number;
    outboundError: number;
    /** True when a count reached COUNT_CAP (there may be more). */
    capped: boolean;
    recheckDue: number;
  };
  breakers: Array<{ establishment: string; amc: string; state: string; failures: number; retryInS?: number }>;
  certificates: Array<{ establishment: string; notAfter: string; daysLeft: number; level: string }>;
  gap: Array<{ connection: string; lastAt: string; minutesAgo: number }>;
  listeners: NonNullable<LiveSources['listeners']>;
  senders: NonNullable<LiveSources['senders']>;
  stats: StatsSnapshot;
  alerts: { active: Alert[]; recent: AlertChange[] };
}

/** Recent inbound rows read to find each GAP connection's last message. */
const LAST_MESSAGES_READ = 500;

export async function buildSummary(
  journal: SummaryJournal,
  live: LiveSources,
  stats: OpsStats,
  now: Date = new Date(),
  o: { windowMinutes?: number } = {},
): Promise<Omit<OpsSummary, 'alerts'>> {
  const [inbound, dossiers, held, due, recent] = await Promise.all([
    journal.counts(),
    journal.countDossiersByState(),
    journal.heldKeys(),
    journal.dueDossiers(now, COUNT_CAP),
    journal.browse({ order: 'desc', limit: LAST_MESSAGES_READ }),
  ]);
  // per destination when the senders are known (index outbound_queue), else over the table
  const dests = live.senders?.length ? [...new Set(live.senders.map((s) => s.destination))] : [undefined];
  let queued = 0;
  let errors = 0;
  for (const destination of dests) {
    const d = destination ? { destination } : {};
    queued += (await journal.browseOutbound({ ...d, states: ['QUEUED', 'SENT'], limit: COUNT_CAP })).length;
    errors += (await journal.browseOutbound({ ...d, states: ['ERROR'], limit: COUNT_CAP })).length;
  }
  const oldestHeld = held.reduce((m, h) => Math.min(m, Date.parse(h.since)), Infinity);
  const lastBy = new Map<string, string>();
  for (const r of recent) {
    const who = [r.channel, [r.sendingApplication, r.sendingFacility].filter(Boolean).join('/')].filter(Boolean).join(' ');
    if (!lastBy.has(who)) lastBy.set(who, r.receivedAt);
  }
  const summary: Omit<OpsSummary, 'alerts'> = {
    at: now.toISOString(),
    inbound,
    dossiers,
    queues: {
      held: held.length,
      outboundQueued: queued,
      outboundError: errors,
      capped: queued >= COUNT_CAP || errors >= COUNT_CAP || due.length >= COUNT_CAP,
      recheckDue: due.length,
    },
    breakers: (live.establishments ?? []).flatMap((e) =>
      e.breakers.map((b) => {
        const x: OpsSummary['breakers'][number] = { establishment: e.name || e.id, amc: b.key, state: b.state, failures: b.failures };
        if (b.retryInMs !== undefined) x.retryInS = Math.ceil(b.retryInMs / 1000);
        return x;
      }),
    ),
    certificates: (live.establishments ?? []).flatMap((e) =>
      e.certificate
        ? [
            {
              establishment: e.name || e.id,
              notAfter: e.certificate.notAfter,
              daysLeft: e.certificate.daysLeft,
              level: e.certificate.level,
            },
          ]
        : [],
    ),
    gap: [...lastBy.entries()].map(([connection, lastAt]) => ({
      connection,
      lastAt,
      minutesAgo: Math.max(0, Math.floor((now.getTime() - Date.parse(lastAt)) / 60_000)),
    })),
    listeners: live.listeners ?? [],
    senders: live.senders ?? [],
    stats: stats.snapshot(o.windowMinutes ?? 60),
  };
  if (Number.isFinite(oldestHeld)) summary.queues.heldOldestMinutes = Math.floor((now.getTime() - oldestHeld) / 60_000);
  return summary;
}

/** The alert rules' inputs from a summary. */
export function alertInputs(s: Omit<OpsSummary, 'alerts'>): AlertInputs {
  const all = s.stats.recent.all;
  const amcUnreachable: NonNullable<AlertInputs['amcUnreachable']> = {};
  for (const [amc, t] of Object.entries(s.stats.recent.perAmc)) {
    if (amc === 'inconnue' || amc === 'autres') continue;
    amcUnreachable[amc] = { value: t.count ? t.technical / t.count : 0, count: t.count };
  }
  for (const b of s.breakers) {
    // an open breaker is an unreachable AMC, whatever the counts say
    if (b.state === 'open') amcUnreachable[b.amc] = { value: 1, count: Infinity };
  }
  const inputs: AlertInputs = {
    koRate: { value: all.count ? (all.ko + all.technical) / all.count : 0, count: all.count },
    amcUnreachable,
    queueDepth: s.queues.outboundQueued + s.queues.outboundError,
    holdAgeMinutes: s.queues.heldOldestMinutes ?? 0,
    recheckBacklog: s.queues.recheckDue,
    gapSilentMinutes: Object.fromEntries(s.gap.map((g) => [g.connection, g.minutesAgo])),
  };
  const days = s.certificates.map((c) => c.daysLeft);
  if (days.length) inputs.certificateDays = Math.min(...days);
  return inputs;
}
