/**
 * lib/dossier/README.md prints the transition and decision tables: they must stay the code's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DECISIONS } from '../../lib/dossier/decision';
import { SAME, STATES, STATE_LABELS, TRANSITIONS } from '../../lib/dossier/states';

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'dossier', 'README.md'), 'utf8');

it('README lists every state, transition and decision row as the code has them', () => {
  for (const s of STATES) expect(README).toContain(`| ${s} | ${STATE_LABELS[s]} |`);
  for (const t of TRANSITIONS) expect(README).toContain(`| ${t.event} | ${t.from.join(', ')} | ${t.to === SAME ? '(inchangé)' : t.to} |`);
  for (const r of DECISIONS)
    expect(README).toContain(
      `| ${r.event} | ${r.states === '*' ? '*' : r.states.join(', ')} | ${r.when ?? ''} | ${r.actions.join(', ')} | ${r.note} |`,
    );
});
