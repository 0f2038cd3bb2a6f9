/**
 * GAP simulator CLI: streams a generated hospital day to an MLLP listener and prints counts
 * (never patient data).
 *
 *   node dist/simulator/gap-main.js --port 2575 --rate 50 --venues 40 --messages 2000 --charset 8859/15
 *
 * The day includes the billing office's invoices (DFT^P03) unless --no-invoices, and the AMO's payment
 * notices (BAR^P05, docs/amo-payments.md) unless --no-amo-payments; control ids carry
 * a run tag (two runs never share an MSH-10) unless --fixed-ids or --id-prefix. With
 * --answers-port, the answers listener opens BEFORE the first message is sent and stays open after
 * the last ACK until the answers stop (--answers-quiet) or --wait-answers ends; the summary counts
 * the ACKs by code and message type and the answers by ROC result (ZRC service × status).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type tls from 'node:tls';
import { charsetFromMsh18 } from '../lib/hl7/charset';
import type { Hl7Charset } from '../lib/hl7/profile';
import { gapDay, runControlIdPrefix, runVenueOffset, type GapAckMode, type LineEnding } from './gap-day';
import { GapAnswerListener, GapSimulator, type GapAnswerCounts, type GapQuirks, type GapStats } from './gap';

export const GAP_USAGE = `Usage: node dist/simulator/gap-main.js --port <n> [options]
  --host <h>                 MLLP listener host (default 127.0.0.1)
  --port <n>                 MLLP listener port (required)
  --messages <n>             messages in the day (default 2000; generated lazily, up to 100000 and more)
  --venues <n>               venues open at the same time (default 40)
  --seed <n>                 RNG seed (default 2026)
  --day <YYYY-MM-DD>         the day (default: today when it falls in the seeded rights, 2026; else 2026-03-16;
                             with --fixed-ids or --id-prefix: 2026-03-16, the same bytes for a seed)
  --charset <MSH-18>         8859/15 (default), 8859/1, UNICODE UTF-8 (or UTF-8)
  --ack original|enhanced    acknowledgement mode asked in MSH-15/16 (default original)
  --rate <msgs/s>            pace over all connections (default 0: as fast as the window allows)
  --connections <n>          MLLP connections (default 1)
  --window <n>               unacknowledged messages per connection (default 1)
  --ack-timeout <ms>         ACK timeout before reconnect + resend (default 10000)
  --line-ending CR|LF|CRLF   segment ends (default CR)
  --blank-lines <n>          trailing blank lines inside each frame (default 0)
  --frames-per-write <n>     frames coalesced per TCP write (default 1)
  --split                    split each frame across two writes
  --newline-after-frame      a CR LF after each frame (outside it)
  --one-byte-every <n>       write every n-th message one byte at a time
  --tls                      connect with TLS (--ca, --cert, --key PEM files; --insecure skips verification)
  --journal <file>           append a JSON line per send / ACK (control ids and codes only)
  --answers-port <n>         also listen for the bridge's answers on this port (AA to each), opened before the first message
  --wait-answers <s>         after the last ACK, keep the answers port open up to this long (default 10)
  --answers-quiet <s>        …and stop earlier once no answer came for this long (default 2)
  --no-invoices              ADT only: no DFT^P03 from the billing office (nor BAR^P05)
  --no-amo-payments          invoices without the AMO payment notices (BAR^P05)
  --fixed-ids                MSH-10 = GAP00000001… (the same bytes for a seed, for tests); default: a run tag
  --id-prefix <p>            MSH-10 prefix (at most 12 characters), instead of the run tag
  --json <file>              write the final summary as JSON to this file (- for stdout)
  --quiet                    only the final summary`;

export interface GapArgs {
  host: string;
  port: number;
  messages: number;
  venues: number;
  seed: number;
  day?: string;
  charset: Hl7Charset;
  ackMode: GapAckMode;
  rate: number;
  connections: number;
  window: number;
  ackTimeoutMs: number;
  quirks: GapQuirks;
  tls?: tls.ConnectionOptions;
  journal?: string;
  answersPort?: number;
  /** Seconds to keep the answers port open after the last ACK (at most). */
  waitAnswers: number;
  /** Seconds without an answer that end the wait early. */
  answersQuiet: number;
  invoices: boolean;
  /** BAR^P05 AMO payment notices after the invoices (default true; nothing without invoices). */
  amoPayments: boolean;
  /** MSH-10 prefix; undefined: a run tag (runControlIdPrefix) chosen at start. */
  idPrefix?: string;
  json?: string;
  quiet: boolean;
}

export function parseGapArgs(argv: string[]): GapArgs {
  const a: GapArgs = {
    host: '127.0.0.1',
    port: 0,
    messages: 2000,
    venues: 40,
    seed: 2026,
    charset: 'iso-8859-15',
    ackMode: 'original',
    rate: 0,
    connections: 1,
    window: 1,
    ackTimeoutMs: 10_000,
    quirks: {},
    waitAnswers: 10,
    answersQuiet: 2,
    invoices: true,
    amoPayments: true,
    quiet: false,
  };
  let useTls = false;
  let insecure = false;
  const files: { ca?: string; cert?: string; key?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const opt = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${opt} needs a value`);
      return v;
    };
    const int = (min: number): number => {
      const v = val();
      if (!/^\d+$/.test(v) || Number(v) < min) throw new Error(`${opt} must be an integer ≥ ${min} (got "${v}")`);
      return Number(v);
    };
    switch (opt) {
      case '--host':
        a.host = val();
        break;
      case '--port':
        a.port = int(1);
        break;
      case '--messages':
        a.messages = int(1);
        break;
      case '--venues':
        a.venues = int(1);
        break;
      case '--seed':
        a.seed = int(0);
        break;
      case '--day':
        a.day = val();
        break;
      case '--charset': {
        const v = val();
        const c = charsetFromMsh18(v) ?? (/^utf-?8$/i.test(v) ? 'utf8' : undefined);
        if (!c || c === 'windows-1252') throw new Error(`--charset must be 8859/15, 8859/1 or UNICODE UTF-8 (got "${v}")`);
        a.charset = c;
        break;
      }
      case '--ack': {
        const v = val();
        if (v !== 'original' && v !== 'enhanced') throw new Error(`--ack must be original or enhanced (got "${v}")`);
        a.ackMode = v;
        break;
      }
      case '--rate':
        a.rate = int(0);
        break;
      case '--connections':
        a.connections = int(1);
        break;
      case '--window':
        a.window = int(1);
        break;
      case '--ack-timeout':
        a.ackTimeoutMs = int(1);
        break;
      case '--line-ending': {
        const v = val().toUpperCase();
        if (v !== 'CR' && v !== 'LF' && v !== 'CRLF') throw new Error(`--line-ending must be CR, LF or CRLF (got "${v}")`);
        a.quirks.lineEnding = v as LineEnding;
        break;
      }
      case '--blank-lines':
        a.quirks.trailingBlankLines = int(0);
        break;
      case '--frames-per-write':
        a.quirks.framesPerWrite = int(1);
        break;
      case '--split':
        a.quirks.splitFrames = true;
        break;
      case '--newline-after-frame':
        a.quirks.newlineAfterFrame = true;
        break;
      case '--one-byte-every':
        a.quirks.oneByteEvery = int(1);
        break;
      case '--tls':
        useTls = true;
        break;
      case '--insecure':
        insecure = true;
        break;
      case '--ca':
        files.ca = val();
        break;
      case '--cert':
        files.cert = val();
        break;
      case '--key':
        files.key = val();
        break;
      case '--journal':
        a.journal = val();
        break;
      case '--answers-port':
        a.answersPort = int(1);
        break;
      case '--wait-answers':
        a.waitAnswers = int(0);
        break;
      case '--answers-quiet':
        a.answersQuiet = int(0);
        break;
      case '--no-invoices':
        a.invoices = false;
        break;
      case '--no-amo-payments':
        a.amoPayments = false;
        break;
      case '--fixed-ids':
        a.idPrefix = 'GAP';
        break;
      case '--id-prefix': {
        const v = val();
        if (!/^[0-9A-Za-z_.-]{1,12}$/.test(v)) throw new Error(`--id-prefix must be 1 to 12 letters, digits, _ . - (got "${v}")`);
        a.idPrefix = v;
        break;
      }
      case '--json':
        a.json = val();
        break;
      case '--quiet':
        a.quiet = true;
        break;
      default:
        throw new Error(`unknown option ${opt}`);
    }
  }
  if (!a.port) throw new Error('--port is required');
  if (useTls || files.ca || files.cert) {
    const read = (f?: string): Buffer | undefined => (f ? readFileSync(f) : undefined);
    a.tls = { ca: read(files.ca), cert: read(files.cert), key: read(files.key), rejectUnauthorized: !insecure };
  }
  return a;
}

export function summary(s: GapStats): string {
  const codes =
    Object.entries(s.byCode)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || 'none';
  const app = Object.entries(s.applicationAcks)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const rate = s.elapsedMs > 0 ? ((s.acked * 1000) / s.elapsedMs).toFixed(1) : '0';
  const types = Object.keys(s.byType ?? {})
    .sort()
    .map(
      (t) =>
        `${t}(${Object.entries(s.byType[t])
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')})`,
    )
    .join(' ');
  return (
    `generated=${s.generated} sent=${s.sent} acked=${s.acked} (${codes})${types ? ` ${types}` : ''}${app ? ` app-acks(${app})` : ''} resent=${s.resent} ` +
    `abandoned=${s.abandoned} unacked=${s.unacked} queued=${s.queued} drops=${s.drops} timeouts=${s.timeouts} ` +
    `latency p50=${s.latencyMs.p50}ms p95=${s.latencyMs.p95}ms max=${s.latencyMs.max}ms elapsed=${s.elapsedMs}ms rate=${rate}/s`
  );
}

/** Sort order of the answer labels: service (IDB, SIM, CLC, DEL, then the others), OK, KO, KO technical. */
const SERVICE_ORDER = ['ANNUAIRE', 'IDB', 'SIM', 'CLC', 'DEL', 'RSP'];
function labelRank(label: string): number {
  const [service, status] = label.split(' ');
  const i = SERVICE_ORDER.indexOf(service);
  return (i === -1 ? SERVICE_ORDER.length : i) * 10 + (status === 'OK' ? 0 : 1) + (label.endsWith(' technical') ? 1 : 0);
}

/** One line: the answers counted by ROC result, plus the distinct engagement numbers. */
export function answersSummary(c: GapAnswerCounts, waitedMs?: number): string {
  const kinds = Object.entries(c.byResult)
    .sort(([a], [b]) => labelRank(a) - labelRank(b) || a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const invoices = Object.entries(c.invoices ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `answers=${c.distinct} (${kinds || 'none'}) engagements=${c.engagements}` +
    (invoices ? ` invoices=(${invoices})` : '') +
    ` duplicates=${c.duplicates} other=${c.other}` +
    (waitedMs !== undefined ? ` waited=${(waitedMs / 1000).toFixed(1)}s` : '')
  );
}

/** The --json document: the run's control-id prefix, the ACK stats, the answers counted. */
export interface GapRunSummary {
  idPrefix: string;
  invoices: boolean;
  stats: GapStats;
  answers?: GapAnswerCounts & { waitedMs: number };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(GAP_USAGE);
    return;
  }
  let args: GapArgs;
  try {
    args = parseGapArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`gap-main: ${(e as Error).message}\n\n${GAP_USAGE}`);
    process.exitCode = 2;
    return;
  }
  // The answers port opens before the first message: the bridge's first answers find it open.
  let listener: GapAnswerListener | undefined;
  if (args.answersPort) {
    listener = new GapAnswerListener({ port: args.answersPort });
    const a = await listener.start();
    console.log(`answers listener on ${a.host}:${a.port}`);
  }
  const idPrefix = args.idPrefix ?? runControlIdPrefix();
  const sim = new GapSimulator({
    host: args.host,
    port: args.port,
    tls: args.tls,
    connections: args.connections,
    rate: args.rate,
    window: args.window,
    ackTimeoutMs: args.ackTimeoutMs,
    quirks: args.quirks,
    journalFile: args.journal,
  });
  console.log(
    `GAP day: ${args.messages} messages${args.invoices ? ' with invoices' : ''}, ${args.venues} venues, ${args.charset}, ${args.ackMode} ACKs → ${args.host}:${args.port} (${args.connections} connection(s), ${args.rate ? `${args.rate} msg/s` : `window ${args.window}`}), MSH-10 ${idPrefix}00000001…`,
  );
  const progress = args.quiet ? undefined : setInterval(() => console.log(summary(sim.stats())), 1000);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void sim.stop();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const stats = await sim.run(
    gapDay({
      messages: args.messages,
      venues: args.venues,
      seed: args.seed,
      // a live run is dated today, so the bridge's clock (re-checks, renewals) sees a current stay
      day: args.day ?? (args.idPrefix === undefined ? liveDay() : undefined),
      charset: args.charset,
      ackMode: args.ackMode,
      invoices: args.invoices,
      amoPayments: args.amoPayments,
      controlIdPrefix: idPrefix,
      // a run with its own control ids also opens its own venues (fixed ids: the same bytes)
      venueOffset: args.idPrefix === undefined ? runVenueOffset() : 0,
    }),
  );
  if (progress) clearInterval(progress);
  await sim.stop();
  const doc: GapRunSummary = { idPrefix, invoices: args.invoices, stats };
  if (listener) {
    // The bridge answers after its AMC round trips: keep listening until the answers stop.
    const waitedMs = stopping ? 0 : await listener.waitQuiet(args.waitAnswers * 1000, args.answersQuiet * 1000);
    const counts = listener.counts();
    doc.answers = { ...counts, waitedMs };
    console.log(answersSummary(counts, waitedMs));
    await listener.stop();
  }
  console.log(summary(stats));
  if (args.json) {
    const text = JSON.stringify(doc, null, 2) + '\n';
    if (args.json === '-') process.stdout.write(text);
    else writeFileSync(args.json, text);
  }
  process.removeListener('SIGINT', stop);
  process.removeListener('SIGTERM', stop);
  const complete = stats.acked === stats.generated && stats.generated === args.messages;
  process.exitCode = complete ? 0 : 1;
}

if (require.main === module) {
  void main().catch((e: unknown) => {
    console.error(`gap-main: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}

/** Today (UTC) when it falls in the seeded rights (2026), else the library's default day. */
export function liveDay(now: Date = new Date()): string | undefined {
  const d = now.toISOString().slice(0, 10);
  return d >= '2026-01-01' && d <= '2026-12-31' ? d : undefined;
}
