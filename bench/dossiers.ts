/**
 * Dossier store benchmark: fills the SQLite journal with N ROC dossier records (default 1,000,000,
 * through `saveDossier`, i.e. the group-commit writer, synchronous FULL) spread over states, AMC,
 * entry dates, open stays with an IDB validity, scheduled re-checks, flags and engagements, then
 * times the queries the dashboard and the clock node make: listDossiers first page, a deep page
 * (keyset cursor reached by walking the list), filtered by state, by AMC, by state + AMC, flagged;
 * dueDossiers; countDossiersByState; loadDossier and dossierByEngagement at random.
 * Writes bench/results/dossiers.json. Run after the build: `node dist/bench/dossiers.js [count]`
 * (with a count the run is partial: printed only, no results file, unless `--write`).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { newDossier, type DossierRecord } from '../lib/dossier/dossier';
import { STATES, type DossierState } from '../lib/dossier/states';
import { SqliteJournal } from '../lib/store/sqlite';
import { ROOT } from './common';

const round = (x: number, d = 2) => Number(x.toFixed(d));
const loadavg = () => os.loadavg().map((x) => round(x, 2));
const DAY = 86_400_000;
/** States with their share of a year of dossiers (the closed ones dominate). */
const WEIGHTS: Partial<Record<DossierState, number>> = {
  PAYE: 40,
  ANNULE: 8,
  FACTURE_AMC: 10,
  ENGAGE: 12,
  DROITS_OK: 8,
  SANS_AMC: 8,
  DROITS_KO: 3,
  ADMIS: 2,
  A_REVERIFIER: 2,
  DEVIS: 2,
  FACTURE_RECUE: 1,
  CALCUL_REFUSE: 1,
  PAYE_PARTIEL: 1,
  REJETE: 1,
  A_TRAITER_MANUELLEMENT: 1,
};
const STATE_TABLE: DossierState[] = STATES.flatMap((s) => Array<DossierState>(WEIGHTS[s] ?? 0).fill(s));
const AMC = Array.from({ length: 200 }, (_, i) => String(10_000_000 + i * 7919).padStart(10, '0'));
const NOMS = ['MARTIN', 'BERNARD', 'THOMAS', 'PETIT', 'ROBERT', 'RICHARD', 'DURAND', 'DUBOIS', 'MOREAU', 'LAURENT'];
const PRENOMS = ['CAMILLE', 'LOUISE', 'JULES', 'GABRIEL', 'EMMA', 'LÉA', 'HUGO', 'CHLOÉ', 'ARTHUR', 'MANON'];

/** Deterministic pseudo-random (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOW = Date.parse('2026-11-25T10:00:00Z');

/** Dossier number i: synthetic patient (no real identifier), a stay in the last two years. */
function record(i: number, r: () => number): DossierRecord {
  const venue = `V${String(i).padStart(9, '0')}`;
  const etat = STATE_TABLE[Math.floor(r() * STATE_TABLE.length)];
  const entree = new Date(NOW - Math.floor(r() * 730) * DAY).toISOString().slice(0, 10);
  const open = r() < 0.2;
  const sortie = open ? undefined : new Date(Date.parse(entree) + Math.floor(1 + r() * 10) * DAY).toISOString().slice(0, 10);
  const at = `${entree}T08:${String(Math.floor(r() * 60)).padStart(2, '0')}:00.000Z`;
  const d = newDossier(`750100125/V/${venue}`, 'PV1-19', at, '750100125');
  const engaged = ['ENGAGE', 'FACTURE_AMC', 'PAYE', 'PAYE_PARTIEL', 'REJETE'].includes(etat);
  return {
    ...d,
    etat,
    droits: etat === 'DROITS_KO' ? 'KO' : etat === 'ADMIS' || etat === 'SANS_AMC' ? 'INCONNUS' : 'OK',
    identite: {
      ipp: String(100_000_000 + i),
      nom: NOMS[i % NOMS.length],
      prenom: PRENOMS[(i >> 3) % PRENOMS.length],
      dateNaissance: `19${String(40 + (i % 60))}-0${1 + (i % 9)}-1${i % 10}`,
    },
    ...(etat === 'SANS_AMC'
      ? {}
      : { couverture: { numeroAmc: AMC[Math.floor(r() * AMC.length)], numeroAdherent: String(i).padStart(8, '0'), typeConvention: 'IS' } }),
    sejour: { type: 'HOSPITALISATION', dateEntree: entree, ...(sortie ? { dateSortie: sortie } : {}), nda: `NDA${i}`, numeroVenue: venue },
    ...(open && (etat === 'DROITS_OK' || etat === 'DEVIS')
      ? { idbValidite: new Date(NOW + Math.floor(r() * 60 - 30) * DAY).toISOString().slice(0, 10) }
      : {}),
    ...(etat === 'A_REVERIFIER'
      ? {
          reverification: {
            service: 'idb' as const,
            tentatives: 2,
            prochaine: new Date(NOW + Math.floor(r() * 7200 - 3600) * 1000).toISOString(),
          },
        }
      : {}),
    engagements: engaged
      ? [
          {
            numero: `ENG-${String(i).padStart(9, '0')}`,
            factureNumero: `F${i}`,
            requestId: `REQ-CLC-${i}`,
            at,
            statut: etat === 'ANNULE' ? 'ANNULE' : 'VIVANT',
          },
        ]
      : [],
    echanges: [
      { service: 'idb', requestId: `REQ-IDB-${i}`, status: 'OK', technical: false, latencyMs: 180, at },
      ...(engaged
        ? [
            {
              service: 'clc' as const,
              requestId: `REQ-CLC-${i}`,
              status: 'OK' as const,
              technical: false,
              latencyMs: 240,
              engagement: `ENG-${i}`,
              at,
            },
          ]
        : []),
    ],
    drapeaux: r() < 0.03 ? [{ code: 'CONTRADICTION', motif: 'réponse contradictoire', at }] : [],
    historique: [
      { from: 'SANS_AMC', to: 'ADMIS', event: 'ADMISSION', at },
      { from: 'ADMIS', to: etat, event: 'IDB_OK', at },
    ] as DossierRecord['historique'],
  };
}

/** Median and p95 of `rounds` runs of `fn`, in ms. */
async function timeIt(rounds: number, fn: (k: number) => Promise<unknown>): Promise<{ medianMs: number; p95Ms: number; rounds: number }> {
  const ms: number[] = [];
  for (let k = 0; k < rounds; k++) {
    const t = process.hrtime.bigint();
    await fn(k);
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return {
    medianMs: round(ms[Math.floor(ms.length / 2)], 3),
    p95Ms: round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.95))], 3),
    rounds,
  };
}

async function main(): Promise<void> {
  const partial = process.argv[2] !== undefined && !process.argv.includes('--write');
  const count = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roc-bench-dossiers-'));
  const file = path.join(dir, 'journal.sqlite');
  const loadBefore = loadavg();
  try {
    let j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });
    const r = rng(42);
    const inFlight = 4000;
    const t0 = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await j.saveDossier(record(i, r));
        if (i % 100_000 === 99_999) console.log(`  ${i + 1} saved, ${round(Number(process.hrtime.bigint() - t0) / 1e9, 1)} s`);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const fillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const commits = j.stats.commits;
    await j.close();
    const dbMegabytes = round(statSync(file).size / 1e6, 1);
    j = new SqliteJournal({ file, retentionDays: 0, purgeIntervalMs: 0 });

    // the cursor of a deep page: walk the list by pages of 500 to half of it
    const depth = Math.floor(count / 2);
    const tw = process.hrtime.bigint();
    let deep: string | undefined;
    for (let seen = 0; seen < depth;) {
      const p = await j.listDossiers({ limit: 500, after: deep });
      seen += p.items.length;
      deep = p.next;
      if (!deep) break;
    }
    const walkSeconds = Number(process.hrtime.bigint() - tw) / 1e9;
    const pick = rng(7);
    const counts = await j.countDossiersByState();
    const queries = {
      listFirstPage: await timeIt(50, () => j.listDossiers({ limit: 50 })),
      listDeepPage: await timeIt(50, () => j.listDossiers({ limit: 50, after: deep })),
      listByState: await timeIt(50, () => j.listDossiers({ etat: ['A_TRAITER_MANUELLEMENT'], limit: 50 })),
      listByTwoStates: await timeIt(20, () => j.listDossiers({ etat: ['ENGAGE', 'FACTURE_AMC'], limit: 50 })),
      listByAmc: await timeIt(50, (k) => j.listDossiers({ numeroAmc: AMC[k % AMC.length], limit: 50 })),
      listByStateAndAmc: await timeIt(50, (k) => j.listDossiers({ etat: ['ENGAGE'], numeroAmc: AMC[k % AMC.length], limit: 50 })),
      listFlagged: await timeIt(50, () => j.listDossiers({ flagged: true, limit: 50 })),
      listByEntryDates: await timeIt(20, () => j.listDossiers({ from: '2026-11-01', to: '2026-11-07', limit: 50 })),
      listByVenue: await timeIt(50, () => j.listDossiers({ venue: `V${String(Math.floor(pick() * count)).padStart(9, '0')}` })),
      dueDossiers100: await timeIt(50, () => j.dueDossiers(new Date(NOW), 100)),
      countDossiersByState: await timeIt(10, () => j.countDossiersByState()),
      loadDossier: await timeIt(200, () => j.loadDossier(`750100125/V/V${String(Math.floor(pick() * count)).padStart(9, '0')}`)),
      dossierByEngagement: await timeIt(200, () => j.dossierByEngagement(`ENG-${String(Math.floor(pick() * count)).padStart(9, '0')}`)),
    };
    const due = (await j.dueDossiers(new Date(NOW), 1000)).length;
    await j.close();
    const out = {
      bench: 'dossiers',
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      dossiers: count,
      fill: { seconds: round(fillSeconds, 1), perSecond: Math.round(count / fillSeconds), commits, synchronous: 'FULL', inFlight },
      dbMegabytes,
      deepPage: { depth, walkSeconds: round(walkSeconds, 1) },
      dueAtNow: due,
      countsByState: counts,
      queries,
      loadAverage: [loadBefore[0], loadavg()[0]],
    };
    console.log(JSON.stringify(out, null, 2));
    if (partial) return;
    const resDir = path.join(ROOT, 'bench', 'results');
    mkdirSync(resDir, { recursive: true });
    writeFileSync(path.join(resDir, 'dossiers.json'), JSON.stringify(out, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
