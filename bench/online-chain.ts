/**
 * Benchmark of the online ROC chain through a running runtime (not a test).
 *
 * Three processes, as in production: the AMC simulator (mutual TLS), the ROC Bridge runtime
 * started like `npm start` (pointed at that simulator), and this load generator posting dossiers
 * to POST /roc/dossier (annuaire → IDB → SIM → CLC: three SOAP calls per dossier once the
 * directory answer is cached).
 *
 * 1. Throughput: simulator answering at once, N dossiers with C in flight → dossiers/s
 *    (target ≥ 1,000/s on the 2-core machine).
 * 2. Added latency: simulator in its national mode (median 0.4 s), 200 dossiers in flight; for
 *    each dossier, end-to-end time minus the time the simulator spent on its three requests
 *    (reported by the simulator per request id) = what the bridge adds (target p99 ≤ 5 ms).
 *
 * Writes bench/results/online-chain.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { ROOT } from './common';

// Never leave a simulator or a runtime behind, whatever happens to this process.
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));
function track(p: ChildProcess): ChildProcess {
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}
const RESULTS = path.join(ROOT, 'bench', 'results');

interface SimInfo {
  url: string;
  annuaireUrl: string;
  certs: { clientCert: string; clientKey: string; caCert: string };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU seconds (user + system) a child process has used so far (Linux /proc, USER_HZ 100; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return NaN;
  }
}

/** Starts the simulator child; `waits` receives (requestId → server time in ms) when tracing. */
export async function startSim(
  latency: string,
  certDir: string,
  waits?: Map<string, number>,
): Promise<{ info: SimInfo; proc: ChildProcess }> {
  const proc = track(
    spawn(
      process.execPath,
      [path.join(__dirname, 'sim-child.js'), '--latency', latency, '--certs', certDir, ...(waits ? ['--trace'] : [])],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    ),
  );
  const rl = readline.createInterface({ input: proc.stdout! });
  const info = await new Promise<SimInfo>((resolve, reject) => {
    proc.once('exit', (c) => reject(new Error(`simulator exited (${c})`)));
    rl.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)));
      else if (waits && line.startsWith('T ')) {
        const [, rid, ms] = line.split(' ');
        waits.set(rid, Number(ms));
      }
    });
  });
  return { info, proc };
}

export async function startBridge(sim: SimInfo): Promise<{ url: string; proc: ChildProcess }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bench-'));
  // e.g. ROC_BENCH_BRIDGE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the bridge
  const nodeArgs = (process.env.ROC_BENCH_BRIDGE_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const proc = track(
    spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'scripts', 'start.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ROC_PORT: '0',
        ROC_USER_DIR: userDir,
        ROC_LOG_LEVEL: 'warn',
        ROC_ANNUAIRE_URL: sim.annuaireUrl,
        ROC_CLIENT_CERT: sim.certs.clientCert,
        ROC_CLIENT_KEY: sim.certs.clientKey,
        ROC_CA: sim.certs.caCert,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.once('exit', (c) => reject(new Error(`runtime exited (${c}): ${out}`)));
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /ROC Bridge ready at (http:\/\/\S+?\/)\s/.exec(out);
      if (m) resolve(m[1]);
    });
  });
  return { url, proc };
}

export function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGINT');
  });
}

const SEED = JSON.parse(fs.readFileSync(path.join(ROOT, 'simulator', 'seed', 'amc-seed.json'), 'utf8'));
const B01 = SEED.beneficiaires.find((b: { id: string }) => b.id === 'B01');

function dossier(i: number): string {
  return JSON.stringify({
    amc: B01.amc,
    beneficiaire: {
      nir: B01.nir,
      cleNir: B01.cleNir,
      dateNaissance: B01.dateNaissance,
      rangNaissance: B01.rangNaissance,
      nom: B01.nom,
      prenom: B01.prenom,
      numeroAdherent: B01.numeroAdherent,
    },
    venue: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24', numeroDossier: `NDA${i}`, numeroVenue: `V${i}` },
    facture: {
      numero: `FAC-BENCH-${process.pid}-${i}`,
      lignes: [
        {
          numero: 1,
          code: 'GHS',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-24',
          quantite: 1,
          prixUnitaire: 3452.4,
          baseAmo: 3452.4,
          tauxAmo: 80,
          montantAmo: 2761.92,
        },
        {
          numero: 2,
          code: 'FJ',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-24',
          quantite: 4,
          prixUnitaire: 20,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
        {
          numero: 3,
          code: 'CP',
          dateDebut: '2026-11-20',
          dateFin: '2026-11-24',
          quantite: 4,
          prixUnitaire: 75,
          baseAmo: 0,
          tauxAmo: 0,
          montantAmo: 0,
        },
      ],
    },
  });
}

interface Call {
  requestId: string;
  latencyMs: number;
}
interface Done {
  ms: number;
  roc: { idb?: Call; sim?: Call; clc?: Call & { status: string } };
}

/**
 * Posts `total` dossiers keeping `inFlight` in flight. The in-flight workers start spread over
 * `rampMs` (a real desk/GAP does not fire 200 dossiers in the same millisecond), and only dossiers
 * started after `recordAfterMs` are recorded, so start-up bursts are not measured.
 */
export async function drive(
  base: string,
  total: number,
  inFlight: number,
  from: number,
  opts: { rampMs?: number; recordAfterMs?: number } = {},
): Promise<{ done: Done[]; seconds: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const url = new URL('roc/dossier', base);
  const done: Done[] = [];
  let next = 0;
  let errors = 0;
  const tStart = performance.now();
  const recordAfter = opts.recordAfterMs ?? 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const body = dossier(from + i);
      const t0 = performance.now();
      const record = t0 - tStart >= recordAfter;
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t0;
            try {
              const roc = JSON.parse(Buffer.concat(chunks).toString());
              if (roc.clc?.status !== 'OK') errors++;
              if (record) done.push({ ms, roc });
            } catch {
              errors++;
            }
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const t0 = performance.now();
  const ramp = opts.rampMs ?? 0;
  await Promise.all(
    Array.from({ length: inFlight }, async (_, k) => {
      if (ramp) await new Promise((r) => setTimeout(r, (k * ramp) / inFlight));
      while (next < total) await one(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { done, seconds, errors };
}

export async function runOnlineChain(opts: { total?: number; inFlight?: number; latencyDossiers?: number } = {}): Promise<object> {
  const total = opts.total ?? Number(process.env.ROC_BENCH_DOSSIERS || 20000);
  const inFlight = opts.inFlight ?? 64;
  const latencyDossiers = opts.latencyDossiers ?? 5000;
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bench-certs-'));

  // ---- 1. throughput ----
  let sim = await startSim('instant', certDir);
  let bridge = await startBridge(sim.info);
  await drive(bridge.url, 2000, inFlight, 0); // warm-up (JIT, TLS sessions, directory cache)
  const cpu0 = { bridge: cpuSeconds(bridge.proc.pid), sim: cpuSeconds(sim.proc.pid), load: process.cpuUsage() };
  const thr = await drive(bridge.url, total, inFlight, 10_000_000);
  const loadCpu = process.cpuUsage(cpu0.load);
  const cpuMs = {
    bridge: ((cpuSeconds(bridge.proc.pid) - cpu0.bridge) * 1000) / total,
    simulator: ((cpuSeconds(sim.proc.pid) - cpu0.sim) * 1000) / total,
    loadGenerator: (loadCpu.user + loadCpu.system) / 1000 / total,
  };
  await stop(bridge.proc);
  await stop(sim.proc);
  const throughput = total / thr.seconds;
  const thrSorted = thr.done.map((d) => d.ms).sort((a, b) => a - b);

  // ---- 2. added latency, simulator at national latency, 200 in flight ----
  const waits = new Map<string, number>();
  sim = await startSim('national', certDir, waits);
  bridge = await startBridge(sim.info);
  // One continuous run: 200 in flight reached over 1.5 s, the first 5 s (warm-up: JIT, TLS
  // sessions to the AMC, directory cache) not recorded.
  const lat = await drive(bridge.url, latencyDossiers, 200, 30_000_000, { rampMs: 1500, recordAfterMs: 5000 });
  await new Promise((r) => setTimeout(r, 200)); // let the last trace lines arrive
  await stop(bridge.proc);
  await stop(sim.proc);
  const added: number[] = [];
  const simTimes: number[] = [];
  const inCalls: number[] = []; // client side of the SOAP calls (encode, TLS, decode, queueing)
  const inFlow: number[] = []; // HTTP in/out and the Node-RED flow between the calls
  let unmatched = 0;
  for (const d of lat.done) {
    const calls = [d.roc.idb, d.roc.sim, d.roc.clc];
    const w = calls.map((c) => (c ? waits.get(c.requestId) : undefined));
    if (w.some((x) => x === undefined)) {
      unmatched++;
      continue;
    }
    const simMs = (w as number[]).reduce((a, b) => a + b, 0);
    const callMs = calls.reduce((a, c) => a + (c as Call).latencyMs, 0);
    simTimes.push(simMs);
    added.push(d.ms - simMs);
    inCalls.push(callMs - simMs);
    inFlow.push(d.ms - callMs);
  }
  for (const a of [added, simTimes, inCalls, inFlow]) a.sort((x, y) => x - y);
  fs.rmSync(certDir, { recursive: true, force: true });

  const result = {
    benchmark: 'online-chain',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg().map((x) => round(x)) },
    chain:
      'POST /roc/dossier → annuaire (cached) → IDB → SIM → CLC over HTTPS + mutual TLS; simulator, runtime and load generator in separate processes',
    note: 'The simulator runs on the same 2 cores (a real AMC is another machine) and uses the same SEL codec (lib/sel) as the bridge: codec speed-ups lower its CPU too, which frees CPU for the bridge in this set-up.',
    throughput: {
      dossiers: total,
      inFlight,
      seconds: round(thr.seconds),
      dossiersPerSecond: round(throughput, 0),
      soapCallsPerSecond: round(throughput * 3, 0),
      errors: thr.errors,
      latencyMs: { p50: round(percentile(thrSorted, 50)), p99: round(percentile(thrSorted, 99)) },
      // Which process is the bottleneck: CPU ms per dossier (2 cores for the three of them).
      cpuMsPerDossier: {
        bridge: round(cpuMs.bridge, 3),
        simulator: round(cpuMs.simulator, 3),
        loadGenerator: round(cpuMs.loadGenerator, 3),
      },
      target: 1000,
      met: throughput >= 1000,
    },
    addedLatency: {
      simulatorMode: 'national (median 0.4 s per call)',
      dossiers: latencyDossiers,
      inFlight: 200,
      measured: added.length,
      unmatched,
      errors: lat.errors,
      simulatorMsPerDossier: { p50: round(percentile(simTimes, 50)), p99: round(percentile(simTimes, 99)) },
      bridgeAddedMs: {
        p50: round(percentile(added, 50)),
        p90: round(percentile(added, 90)),
        p99: round(percentile(added, 99)),
        max: round(added[added.length - 1] ?? NaN),
      },
      ofWhichSoapClientMs: { p50: round(percentile(inCalls, 50)), p99: round(percentile(inCalls, 99)) },
      ofWhichFlowAndHttpMs: { p50: round(percentile(inFlow, 50)), p99: round(percentile(inFlow, 99)) },
      target: { p99: 5 },
      met: percentile(added, 99) <= 5,
    },
  };
  fs.mkdirSync(RESULTS, { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'online-chain.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

if (require.main === module) {
  runOnlineChain().then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
