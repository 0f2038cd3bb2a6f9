/**
 * A user's clone has nothing beside it: no test, benchmark or simulator file may read a folder
 * outside the repository (the public samples live in test/fixtures/samples, origins in SOURCES.md).
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
// The folder's name is assembled, so that this guard does not itself hold a path out of the repository.
const NAME = ['sha', 'red'].join('');
const OUTSIDE = new RegExp(`\\.\\./${NAME}|/work/${NAME}|\\.\\.['"\`],\\s*['"\`]${NAME}['"\`]|ROC_SAMPLES_DIR`);

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : files(p);
    return /\.(ts|js)$/.test(e.name) && p !== __filename ? [p] : [];
  });
}

it('no test, benchmark or simulator file reads a folder beside the repository, nor lets the environment point it there', () => {
  const offending = ['test', 'bench', 'simulator', 'scripts']
    .flatMap((d) => files(path.join(ROOT, d)))
    .filter((f) => OUTSIDE.test(fs.readFileSync(f, 'utf8')))
    .map((f) => path.relative(ROOT, f));
  expect(offending).toEqual([]);
});

it('the public samples the tests read are inside the repository, with their sources', () => {
  const dir = path.join(ROOT, 'test', 'fixtures', 'samples');
  const samples = fs.readdirSync(dir).filter((f) => /\.(hl7|hpr)$/.test(f));
  expect(samples.length).toBeGreaterThanOrEqual(5);
  const sources = fs.readFileSync(path.join(dir, 'SOURCES.md'), 'utf8');
  for (const f of samples) expect({ f, named: sources.includes(f) }).toEqual({ f, named: true });
});
