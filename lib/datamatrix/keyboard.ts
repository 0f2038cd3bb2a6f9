/**
 * Keyboard-layout mix-ups of keyboard-wedge scanners.
 *
 * A hand scanner in "keyboard" mode does not send characters: it sends key presses, computed for
 * the layout it is configured for. A scanner set to QWERTY on an AZERTY workstation therefore
 * "types" `&é"'(-è_çà` for `1234567890`, `Q` for `A`, `!` for `/`, `:` for `.`… The table below
 * pairs, for each physical key and shift state, the US-QWERTY character with the French-AZERTY one.
 */

/** [QWERTY unshifted, QWERTY shifted, AZERTY unshifted, AZERTY shifted] for one physical key. */
const KEYS: readonly [string, string, string, string][] = [
  // digits row
  ['1', '!', '&', '1'],
  ['2', '@', 'é', '2'],
  ['3', '#', '"', '3'],
  ['4', '$', "'", '4'],
  ['5', '%', '(', '5'],
  ['6', '^', '-', '6'],
  ['7', '&', 'è', '7'],
  ['8', '*', '_', '8'],
  ['9', '(', 'ç', '9'],
  ['0', ')', 'à', '0'],
  ['-', '_', ')', '°'],
  ['=', '+', '=', '+'],
  // top row (letters handled below), then the two keys after P
  [']', '}', '$', '£'],
  // home row: the key after L, the one after it, and the ISO key next to Enter
  [';', ':', 'm', 'M'],
  ["'", '"', 'ù', '%'],
  ['\\', '|', '*', 'µ'],
  // bottom row: the keys after N
  ['m', 'M', ',', '?'],
  [',', '<', ';', '.'],
  ['.', '>', ':', '/'],
  ['/', '?', '!', '§'],
];

/** Letters on different keys: QWERTY letter → AZERTY letter on the same key. */
const LETTERS: readonly [string, string][] = [
  ['q', 'a'],
  ['a', 'q'],
  ['w', 'z'],
  ['z', 'w'],
];

function buildMaps(): { qwertyOnAzerty: Map<string, string>; azertyOnQwerty: Map<string, string> } {
  // qwertyOnAzerty: received (AZERTY) char → intended (QWERTY) char.
  const qwertyOnAzerty = new Map<string, string>();
  const azertyOnQwerty = new Map<string, string>();
  for (const [qu, qs, au, as] of KEYS) {
    qwertyOnAzerty.set(au, qu);
    qwertyOnAzerty.set(as, qs);
    azertyOnQwerty.set(qu, au);
    azertyOnQwerty.set(qs, as);
  }
  for (const [q, a] of LETTERS) {
    qwertyOnAzerty.set(a, q);
    qwertyOnAzerty.set(a.toUpperCase(), q.toUpperCase());
    azertyOnQwerty.set(q, a);
    azertyOnQwerty.set(q.toUpperCase(), a.toUpperCase());
  }
  // 'M' is on the key after L on AZERTY but on the bottom row on QWERTY: the KEYS rows cover it.
  return { qwertyOnAzerty, azertyOnQwerty };
}

const MAPS = buildMaps();

export type KeyboardMixup = 'qwertyOnAzerty' | 'azertyOnQwerty';

/** Undo a layout mix-up: map each received character back to the one the scanner meant. */
export function undoMixup(text: string, mixup: KeyboardMixup): string {
  const map = MAPS[mixup];
  let out = '';
  for (const ch of text) out += map.get(ch) ?? ch;
  return out;
}

/** Simulate a layout mix-up (tests, demos): what the workstation receives for `text`. */
export function applyMixup(text: string, mixup: KeyboardMixup): string {
  const inverse = new Map<string, string>();
  for (const [k, v] of MAPS[mixup]) inverse.set(v, k);
  let out = '';
  for (const ch of text) out += inverse.get(ch) ?? ch;
  return out;
}

/** Caps Lock on a keyboard-wedge scanner inverts the case of letters. */
export function swapCase(text: string): string {
  let out = '';
  for (const ch of text) {
    const up = ch.toUpperCase();
    out += ch === up ? ch.toLowerCase() : up;
  }
  return out;
}
