/**
 * The admission desk page, end to end: the runtime started as `npm start` starts it (embedded
 * AMC simulator, demo patients), /desk opened in headless Chromium (Debian's, never downloaded),
 * driven like a clerk with a hand scanner (typed text + Enter) or a photo of the card, plus the
 * HTTP refusals the page relies on (oversized upload, malformed JSON).
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { startRuntimeProcess, type StartedRuntime } from '../support/runtime';
import { cardPng, cardText, findBeneficiary } from '../../simulator/cards';
import { loadSeed } from '../../simulator/seed';
import { grayToPng } from '../../lib/datamatrix/raster';
import { expectNoPatientData, identifiersOf, mergeIdentifiers, processOutput } from '../support/patient-data';

const SEED = loadSeed().seed;
const B01 = findBeneficiary(SEED, 'B01')!;
const B05 = findBeneficiary(SEED, 'B05')!;
const SCREENSHOT = '/tmp/roc-desk-b01-ok.png';

let rt: StartedRuntime;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // ROC_ANNUAIRE_URL empty: the embedded simulator, hence the demo patients, whatever the shell says.
  // Generous bound: the runtime's own incremental build can take a while on a loaded machine.
  rt = await startRuntimeProcess({ ROC_ANNUAIRE_URL: '', ROC_SIMULATOR_LATENCY: 'instant' }, 120000);
  browser = await launchChromium();
  const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1366, height: 900 } });
  page = await context.newPage();
  await page.goto(`${rt.url}desk`);
  await page.waitForSelector('#bloc-demo:not([hidden])');
}, 180000);

afterAll(async () => {
  await browser?.close();
  if (rt) await rt.stop();
});

/** Number of answers the page has shown (data-reponse), to wait for the next one. */
async function answers(): Promise<number> {
  return Number((await page.getAttribute('#resultat', 'data-reponse')) ?? 0);
}

async function nextAnswer(before: number): Promise<{ verdict: string; titre: string; motif: string; texte: string }> {
  await page.waitForSelector(`#resultat[data-reponse="${before + 1}"]`);
  return page.$eval('#resultat', (r: any) => ({
    verdict: r.getAttribute('data-verdict') ?? '',
    titre: r.querySelector('.verdict-titre')?.textContent ?? '',
    motif: r.querySelector('.motif')?.textContent ?? '',
    texte: r.innerText as string,
  }));
}

/** Picks a demo patient, then a fixed stay (so the outcome does not depend on today's date). */
async function patient(id: string, devis = false) {
  await page.selectOption('#demo', id);
  await page.fill('#dateEntree', '2026-11-20');
  await page.fill('#dateSortie', '2026-11-24');
  await page.setChecked('#devis', devis);
  await page.setChecked('#chambreParticuliere', devis);
}

/** Types into the scan field as a keyboard-wedge scanner does, then Enter. */
async function scanText(text: string) {
  const before = await answers();
  await page.focus('#scan');
  await page.locator('#scan').pressSequentially(text);
  await page.keyboard.press('Enter');
  return nextAnswer(before);
}

async function upload(name: string, mimeType: string, buffer: Buffer) {
  const before = await answers();
  // Generous bound: handing Chromium a 20 MB file takes over 30 s on a loaded machine.
  await page.setInputFiles('#image', { name, mimeType, buffer }, { timeout: 120000 });
  return nextAnswer(before);
}

const focused = () => page.evaluate<string | undefined>('document.activeElement ? document.activeElement.id : undefined');
const champ = (name: string) => page.$eval(`#resultat [data-champ="${name}"]`, (e) => e.textContent ?? '').catch(() => '');

describe('admission desk page /desk', () => {
  it('is served by the running bridge, in French, with the scan field focused and the demo data marked as such', async () => {
    expect(await page.title()).toMatch(/Guichet d’admission/);
    expect(await focused()).toBe('scan');
    expect(await page.isVisible('#demo-bandeau')).toBe(true);
    expect(await page.textContent('#demo-bandeau')).toMatch(/DÉMONSTRATION.*fictifs/);
    const options = await page.$$eval('#demo option', (o) => o.map((x) => x.textContent ?? ''));
    expect(options.length).toBe(SEED.beneficiaires.length + 1);
    expect(options[1]).toContain('B01 · MARTIN Camille');
    // every field has a label (keyboard and screen-reader use)
    const unlabelled = await page.$$eval('input, select', (els: any[]) =>
      els.filter((e) => e.type !== 'hidden' && !(e.labels && e.labels.length)).map((e) => e.id),
    );
    expect(unlabelled).toEqual([]);
  });

  it('B01 scanned (text + Enter): OK, the AMC, the coverage period and the quote; cursor back in an empty scan field', async () => {
    await patient('B01', true);
    const r = await scanText(cardText(B01));
    expect(r.verdict).toBe('OK');
    expect(r.titre).toBe('Droits ouverts');
    expect(r.motif).toMatch(/prend en charge/);
    expect(await champ('amc')).toBe('Mutuelle des Cévennes (n° 0775685365)');
    expect(await champ('attestation')).toBe('valable du 01/01/2026 au 31/12/2026');
    expect(await champ('periodes')).toContain('depuis le 01/01/2026');
    // 4 nights of private room at 75 € capped at 60 € a day by the contract: 60 € left to pay
    expect(await champ('reste')).toMatch(/Reste à charge du patient : 60,00\s€/);
    expect(r.texte).toMatch(/lu par la douchette/);
    expect(await focused()).toBe('scan');
    expect(await page.inputValue('#scan')).toBe('');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('B05 scanned: KO with the reason in plain French (6002), and the expired attestation pointed out', async () => {
    await patient('B05');
    const r = await scanText(cardText(B05));
    expect(r.verdict).toBe('KO');
    expect(r.titre).toBe('Droits non ouverts');
    expect(r.motif).toBe('Droits non ouverts à la date des soins');
    expect(r.texte).toMatch(/facturée au patient/);
    expect(await champ('code')).toBe('6002');
    expect(r.texte).toMatch(/L’attestation a expiré le 31\/12\/2025/);
    expect(await focused()).toBe('scan');
  });

  it('B09 scanned: an incident the AMC reports is not a refusal — the admission goes on, checked again later', async () => {
    await patient('B09');
    const r = await scanText(cardText(findBeneficiary(SEED, 'B09')!));
    expect(r.verdict).toBe('TECHNIQUE');
    expect(r.titre).toBe('Incident chez l’AMC');
    expect(r.texte).toMatch(/L’admission n’est pas bloquée/);
    expect(await champ('code')).toBe('0999');
  });

  it('B10 (the AMC never answers): TECHNIQUE told in seconds and tries, never the bridge’s settings', async () => {
    await patient('B10');
    const r = await scanText(cardText(findBeneficiary(SEED, 'B10')!));
    expect(r.verdict).toBe('TECHNIQUE');
    expect(r.titre).toBe('AMC injoignable');
    expect(r.motif).toMatch(/^Pas de réponse de l’organisme complémentaire dans le délai \(2 essais en \d+ s\)\.$/);
    expect(r.texte).toMatch(/L’admission n’est pas bloquée/);
    expect(r.texte).not.toMatch(/\d ms\b|hangMs|readTimeout/);
    // the demo list the clerk picks from speaks French too
    const options = await page.$$eval('#demo option', (o) => o.map((x) => x.textContent ?? '').join('\n'));
    expect(options).not.toMatch(/hangMs|slowMs|'/);
  }, 60000);

  it('a photo of the card (PNG upload) gives the same answer as the typed scan', async () => {
    await patient('B01');
    const typed = await scanText(cardText(B01));
    const typedFields = [await champ('amc'), await champ('attestation'), await champ('periodes')];
    const photo = await upload('attestation-B01.png', 'image/png', await cardPng(B01, { page: true }));
    expect({ verdict: photo.verdict, titre: photo.titre, motif: photo.motif }).toEqual({
      verdict: typed.verdict,
      titre: typed.titre,
      motif: typed.motif,
    });
    expect([await champ('amc'), await champ('attestation'), await champ('periodes')]).toEqual(typedFields);
    expect(photo.texte).toMatch(/lu sur la photo/);
    expect(await focused()).toBe('scan');

    await patient('B05');
    const typedKo = await scanText(cardText(B05));
    const photoKo = await upload('attestation-B05.png', 'image/png', await cardPng(B05, { rotate: 90 }));
    expect([photoKo.verdict, photoKo.motif]).toEqual([typedKo.verdict, typedKo.motif]);
  });

  it('keeps the GS separator a scanner sends as Ctrl+]', async () => {
    await patient('B01');
    const before = await answers();
    await page.focus('#scan');
    const [first, ...rest] = cardText(B01).split('\u001d');
    await page.keyboard.type(first);
    for (const part of rest) {
      await page.keyboard.press('Control+BracketRight');
      await page.keyboard.type(part);
    }
    await page.keyboard.press('Enter');
    expect((await nextAnswer(before)).verdict).toBe('OK');
  });

  it('answers every bad scan or file with a clear French message, and the cursor goes back to the scan field', async () => {
    await patient('B01');
    const text = cardText(B01);
    const blank = new Uint8ClampedArray(500 * 350).fill(240);
    for (let y = 30; y < 320; y += 14) for (let x = 30; x < 470; x++) if ((x * 13 + y) % 11 < 6) blank[y * 500 + x] = 40;
    const big = Buffer.alloc(20 * 1024 * 1024);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    const garbage = Buffer.alloc(3000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 11) % 256;

    const cases: [string, () => Promise<{ verdict: string; motif: string }>, RegExp][] = [
      ['empty scan', () => scanText(''), /La lecture est vide/],
      ['half a scan', () => scanText(text.slice(0, 25)), /La lecture est incomplète/],
      ['Vitale card', () => scanText(B01.nir + B01.cleNir), /carte Vitale/],
      ['product barcode', () => scanText('3401579654325'), /code-barres à 13 chiffres/],
      [
        'photo without a symbol',
        () => upload('photo.png', 'image/png', grayToPng({ width: 500, height: 350, data: blank })),
        /Aucun DataMatrix lisible/,
      ],
      ['20 MB image', () => upload('scan-600dpi.png', 'image/png', big), /L’image pèse 20 Mo, au-delà de la limite de 10 Mo/],
      ['binary garbage', () => upload('fichier.bin', 'application/octet-stream', garbage), /n’est pas une image PNG ou JPEG/],
    ];
    for (const [name, act, motif] of cases) {
      const r = await act();
      expect(`${name}: ${r.verdict}`).toBe(`${name}: LECTURE`);
      expect(r.motif).toMatch(motif);
      expect(await focused()).toBe('scan');
    }
  }, 240000);

  it('asks for the missing patient data instead of calling the AMC, once the attestation is read', async () => {
    await patient('B01');
    await page.fill('#nir', '');
    await page.fill('#cleNir', '');
    const r = await scanText(cardText(B01));
    expect(r.verdict).toBe('SAISIE');
    expect(r.motif).toMatch(/indiquez le NIR du patient/);
    expect(await champ('amc')).toContain('0775685365');
    await page.fill('#nir', B01.nir);
    await page.fill('#cleNir', '00');
    const wrongKey = await scanText(cardText(B01));
    expect(wrongKey.motif).toMatch(/la clé du NIR/);
  });
});

describe('POST /desk/scan refusals the page relies on', () => {
  it('refuses a 20 MB multipart upload with 413 and a French sentence, without reading it into memory', async () => {
    const form = new FormData();
    form.append('demande', JSON.stringify({ patient: {} }));
    form.append('image', new Blob([Buffer.alloc(20 * 1024 * 1024)], { type: 'image/png' }), 'scan.png');
    const res = await fetch(`${rt.url}desk/scan`, { method: 'POST', body: form });
    expect(res.status).toBe(413);
    const json = (await res.json()) as any;
    expect(json.guichet).toMatchObject({ verdict: 'LECTURE', code: 'IMAGE_TROP_LOURDE' });
    expect(json.guichet.motif).toMatch(/au-delà de la limite de 10 Mo/);
  });

  it('refuses malformed JSON with 400 and a French sentence, without echoing the body', async () => {
    const body = `{"scan":"x","patient":{"nir":"${B01.nir}"`;
    const res = await fetch(`${rt.url}desk/scan`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text).guichet.code).toBe('JSON_INVALIDE');
    expect(text).not.toContain(B01.nir);
  });

  it('reads a bare scan posted as text/plain', async () => {
    const res = await fetch(`${rt.url}desk/scan`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: cardText(B01) });
    const json = (await res.json()) as any;
    expect(json.amc.numeroAmc).toBe('0775685365');
    expect(json.guichet.verdict).toBe('SAISIE'); // no patient given
  });

  it('kept running and wrote no patient data to its log', async () => {
    expect((await fetch(`${rt.url}desk`)).status).toBe(200);
    const out = rt.output();
    for (const b of [B01, B05]) for (const secret of [b.nir, b.nom, b.prenom, b.numeroAdherent!]) expect(out).not.toContain(secret);
    expectNoPatientData(
      processOutput(rt),
      mergeIdentifiers(
        ...SEED.beneficiaires.map((b: any) =>
          identifiersOf({ nir: b.nir + b.cleNir, names: [b.nom, b.prenom], birthDates: [b.dateNaissance] }),
        ),
      ),
    );
  });
});
