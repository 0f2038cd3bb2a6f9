/**
 * Benchmark of the admission desk (not a test): how long a clerk waits between the end of a scan
 * and the answer on /desk, with the AMC simulator in its national mode (log-normal, median 0.4 s
 * per call, ROC_SIMULATOR_LATENCY=national). Target: median under 1 s.
 *
 * The runtime is started as `npm start` starts it (scripts/start.js, embedded simulator, mutual
 * TLS). One clerk at a time, sequential scans of B01 (rights open), after a warm-up that fills the
 * annuaire cache:
 *  - http-idb:        POST /desk/scan JSON, no quote: datamatrix → annuaire (cached) → IDB;
 *  - http-idb-sim:    the same with a quote (GHS + 4 nights + private room): IDB then SIM;
 *  - browser-idb:       headless Chromium on /desk, scan typed then Enter → verdict shown (no quote);
 *  - browser-photo-idb: the same from a photo of the card (A6 page PNG) set on the file input;
 *  - browser-idb-sim:   typed scan with a quote (IDB then SIM).
 * Browser times are taken in the page (submit / change event → verdict rendered).
 *
 * `npm run build && node dist/bench/desk.js [--n 100]` → bench/results/desk.json
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { cardPng, cardText, findBeneficiary } from '../simulator/cards';
import { loadSeed } from '../simulator/seed';

const ROOT = path.resolve(__dirname, '..', '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'desk.json');
const TARGET_MS = 1000;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  const r = (x: number) => Math.round(x);
  return { n: s.length, medianMs: r(q(50)), p90Ms: r(q(90)), p99Ms: r(q(99)), minMs: r(s[0]), maxMs: r(s[s.length - 1]) };
}

async function startRuntime(): Promise<{ url: string; stop: () => Promise<void> }> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roc-bench-desk-'));
  const proc = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      ROC_PORT: '0',
      ROC_HOST: '127.0.0.1',
      ROC_USER_DIR: userDir,
      ROC_DEV_CERT_DIR: path.join(userDir, 'certs'),
      ROC_ANNUAIRE_URL: '',
      ROC_SIMULATOR_LATENCY: 'national',
      ROC_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runtime not ready:\n${out}`)), 60000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /ROC Bridge ready at (http:\/\/\S+?\/)\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once('exit', (c) => reject(new Error(`runtime exited (${c}):\n${out}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => {
          fs.rmSync(userDir, { recursive: true, force: true });
          resolve();
        });
        proc.kill('SIGINT');
      }),
  };
}

async function main() {
  const n = arg('--n', 100);
  const seed = loadSeed().seed;
  const b = findBeneficiary(seed, 'B01')!;
  const scan = cardText(b);
  const photo = await cardPng(b, { page: true });
  const patient = {
    nir: b.nir,
    cleNir: b.cleNir,
    dateNaissance: b.dateNaissance,
    rangNaissance: String(b.rangNaissance),
    nom: b.nom,
    prenom: b.prenom,
  };
  const sejour = { type: 'HOSPITALISATION', dateEntree: '2026-11-20', dateSortie: '2026-11-24' };
  const devis = { demande: true, ghs: '3452,40', nuits: '', chambreParticuliere: true };

  const rt = await startRuntime();
  const results: Record<string, ReturnType<typeof stats>> = {};
  try {
    const post = async (withQuote: boolean) => {
      const body = JSON.stringify({ scan, patient, sejour, devis: withQuote ? devis : { demande: false } });
      const t0 = performance.now();
      const res = await fetch(`${rt.url}desk/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { guichet: { verdict: string } };
      const ms = performance.now() - t0;
      if (json.guichet.verdict !== 'OK') throw new Error(`unexpected verdict ${json.guichet.verdict}`);
      return ms;
    };
    for (let i = 0; i < 3; i++) await post(true); // warm-up: annuaire cache, TLS sessions, JIT
    for (const [name, q] of [
      ['http-idb', false],
      ['http-idb-sim', true],
    ] as const) {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) ms.push(await post(q));
      results[name] = stats(ms);
      console.log(name, results[name]);
    }

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await (await browser.newContext({ locale: 'fr-FR' })).newPage();
      await page.goto(`${rt.url}desk`);
      await page.waitForSelector('#bloc-demo:not([hidden])');
      await page.selectOption('#demo', 'B01');
      await page.fill('#dateEntree', sejour.dateEntree);
      await page.fill('#dateSortie', sejour.dateSortie);
      await page.check('#devis');
      await page.check('#chambreParticuliere');
      // Timed in the page (submit or file-input change → verdict rendered), not by Playwright's
      // waitForSelector, whose polling (up to 500 ms apart) would add its own delay.
      await page.evaluate(`(() => {
        const b = (window.__deskBench = { t0: 0, ms: [] });
        const start = () => { b.t0 = performance.now(); };
        document.getElementById('form-scan').addEventListener('submit', start, true);
        document.getElementById('image').addEventListener('change', start, true);
        const r = document.getElementById('resultat');
        new MutationObserver(() => { if (r.getAttribute('data-verdict') !== 'EN_COURS') b.ms.push(performance.now() - b.t0); })
          .observe(r, { attributes: true, attributeFilter: ['data-reponse'] });
      })()`);
      let shown = 0;
      const browserRun = async (name: string, count: number, prepare: () => Promise<void>, trigger: () => Promise<void>) => {
        await page.evaluate('window.__deskBench.ms = []');
        for (let i = 0; i < count; i++) {
          await prepare();
          await trigger();
          await page.waitForSelector(`#resultat[data-reponse="${++shown}"]`, { timeout: 30000 });
          const verdict = await page.getAttribute('#resultat', 'data-verdict');
          if (verdict !== 'OK') throw new Error(`${name}: unexpected verdict ${verdict}`);
        }
        results[name] = stats(await page.evaluate<number[]>('window.__deskBench.ms'));
        console.log(name, results[name]);
      };
      // The scan is typed first (as the scanner does, a few ms); the clock starts at Enter.
      const typed = () => page.fill('#scan', scan);
      const enter = () => page.keyboard.press('Enter');
      await page.uncheck('#devis');
      await browserRun('browser-idb', n, typed, enter);
      await browserRun(
        'browser-photo-idb',
        Math.min(n, 30),
        async () => undefined,
        () => page.setInputFiles('#image', { name: 'attestation.png', mimeType: 'image/png', buffer: photo }),
      );
      await page.check('#devis');
      await browserRun('browser-idb-sim', n, typed, enter);
    } finally {
      await browser.close();
    }
  } finally {
    await rt.stop();
  }

  const report = {
    benchmark: 'desk',
    what: 'time from scan submit (Enter, or photo set on the file input) to the answer (HTTP: request sent → JSON received; browser: submit/change event → verdict rendered, timed in the page), one clerk, B01 (rights open), simulator in national mode (log-normal, median 0.4 s per AMC call)',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, platform: `${os.platform()} ${os.release()}` },
    simulatorLatency: 'national',
    targetMedianMs: TARGET_MS,
    results,
    targetMet: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.medianMs < TARGET_MS])),
  };
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, JSON.stringify(report, null, 2) + '\n');
  console.log(`→ ${path.relative(ROOT, RESULTS)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
