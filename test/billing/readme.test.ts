import { readFileSync } from 'fs';
import path from 'path';
import { ARL, DRE_ES, RSP } from '../../lib/billing/layouts';

describe('lib/billing/README.md', () => {
  it('documents every field of every layout at its position (the tables follow the data)', () => {
    const readme = readFileSync(path.join(__dirname, '../../lib/billing/README.md'), 'utf8');
    for (const l of [DRE_ES, RSP, ARL]) {
      expect(readme).toContain(`### ${l.name} (${l.version}) [profile]`);
      for (const r of l.records) {
        expect(readme).toContain(`**${r.type} ${r.name}**`);
        for (const f of r.fields)
          expect(readme).toContain(`| ${f.start} | ${f.length} | ${f.kind} | ${f.kind === 'F' ? '(filler)' : f.name} |`);
      }
    }
  });
});
