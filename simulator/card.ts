/**
 * `npm run card -- B01 [--out file.png] [--rotate 90] [--page] [--text]`
 *
 * Writes the attestation de tiers payant test card of a seeded beneficiary (simulator/seed) as a
 * PNG DataMatrix, to show to a webcam, print, or drop on the admission desk page (/desk), and
 * prints the scan string it holds (GS shown as <GS>). `--text` prints only the raw scan string.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cardPng, cardText, findBeneficiary, type CardOptions } from './cards';
import { loadSeed } from './seed';

const USAGE = 'usage: npm run card -- <bénéficiaire, ex. B01> [--out fichier.png] [--rotate 0|90|180|270] [--page] [--text]';

export interface CardArgs {
  id: string;
  out?: string;
  rotate: CardOptions['rotate'];
  page: boolean;
  text: boolean;
}

export function parseCardArgs(argv: string[]): CardArgs {
  let id: string | undefined;
  const a: Omit<CardArgs, 'id'> = { rotate: 0, page: false, text: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${k} attend une valeur\n${USAGE}`);
      return v;
    };
    if (k === '--out' || k === '-o') a.out = value();
    else if (k === '--rotate') {
      const r = Number(value());
      if (![0, 90, 180, 270].includes(r)) throw new Error(`--rotate doit valoir 0, 90, 180 ou 270\n${USAGE}`);
      a.rotate = r as CardArgs['rotate'];
    } else if (k === '--page') a.page = true;
    else if (k === '--text') a.text = true;
    else if (k === '--help' || k === '-h') throw new Error(USAGE);
    else if (k.startsWith('-') || id !== undefined) throw new Error(`argument inattendu « ${k} »\n${USAGE}`);
    else id = k;
  }
  if (!id) throw new Error(USAGE);
  return { id, ...a };
}

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let args: CardArgs;
  try {
    args = parseCardArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const seed = loadSeed().seed;
  const b = findBeneficiary(seed, args.id);
  if (!b) {
    console.error(
      `Aucun bénéficiaire « ${args.id} » dans le jeu de données du simulateur (B01 à B${String(seed.beneficiaires.length).padStart(2, '0')}).`,
    );
    return 1;
  }
  const text = cardText(b);
  if (args.text) {
    process.stdout.write(text);
    return 0;
  }
  const out = path.resolve(args.out ?? `carte-${b.id}${args.page ? '-page' : ''}${args.rotate ? `-${args.rotate}` : ''}.png`);
  fs.writeFileSync(out, await cardPng(b, { rotate: args.rotate, page: args.page }));
  console.log(`${b.id} (${b.scenario}) : ${out}`);
  console.log(`texte du DataMatrix : ${text.split('\u001d').join('<GS>')}`);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`carte impossible : ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
