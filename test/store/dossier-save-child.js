'use strict';
/**
 * Child process of the dossier SIGKILL test (plain JS on the compiled library, which the test global
 * setup builds): 32 workers save ROC dossier records to the journal given in argv, each venue three
 * times (created with expectedMajLe null, then two updates expecting the previous majLe, the second
 * bringing an engagement), and print "key version" as soon as each save resolves. It never stops by
 * itself: the test kills it with SIGKILL.
 * Usage: node dossier-save-child.js <file> <FULL|NORMAL>
 */
const path = require('path');
const root = path.join(__dirname, '..', '..');
const { SqliteJournal } = require(path.join(root, 'dist', 'lib', 'store', 'sqlite.js'));
const { newDossier } = require(path.join(root, 'dist', 'lib', 'dossier', 'dossier.js'));

const [file, sync] = process.argv.slice(2);
const journal = new SqliteJournal({ file, synchronous: sync === 'NORMAL' ? 'NORMAL' : 'FULL', retentionDays: 0 });
const BASE = Date.parse('2026-11-20T08:00:00Z');
const majLe = (v) => new Date(BASE + v * 1000).toISOString();
let nextVenue = 0;

function record(venue, version) {
  const d = newDossier(`750100125/V/${venue}`, 'PV1-19', majLe(0), '750100125');
  return {
    ...d,
    etat: version === 1 ? 'ADMIS' : version === 2 ? 'DROITS_OK' : 'ENGAGE',
    couverture: { numeroAmc: '0000123456', numeroAdherent: '00412345' },
    sejour: { type: 'HOSPITALISATION', dateEntree: '2026-11-20', numeroVenue: venue },
    idbValidite: '2026-11-30',
    engagements:
      version === 3
        ? [{ numero: `ENG-${venue}`, factureNumero: `F-${venue}`, requestId: `REQ-CLC-${venue}`, at: majLe(version), statut: 'VIVANT' }]
        : [],
    majLe: majLe(version),
  };
}

async function worker() {
  for (;;) {
    const venue = `V${String(nextVenue++).padStart(7, '0')}`;
    for (let v = 1; v <= 3; v++) {
      await journal.saveDossier(record(venue, v), v === 1 ? null : majLe(v - 1));
      process.stdout.write(`750100125/V/${venue} ${v}\n`);
    }
  }
}

Promise.all(Array.from({ length: 32 }, worker)).catch((e) => {
  process.stderr.write(String(e) + '\n');
  process.exit(1);
});
