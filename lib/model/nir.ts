/**
 * The NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale") and its key, in one
 * place: the desk checks the key the clerk typed, the DataMatrix reader recognises a Vitale card
 * scanned by mistake, the simulator computes the keys of its fictitious beneficiaries.
 *
 * A NIR is 13 characters: sex (1, 2; 3, 7, 8 for provisional numbers), year (2), month (2),
 * department (2 digits, or 2A / 2B for Corsica), commune (3), order (3). Its key is
 * 97 − (NIR mod 97), on two digits, where 2A counts as 19 and 2B as 18.
 */

/** The shape of a 13-character NIR (without its key), upper case, no separators. */
export const NIR_PATTERN = /^[12378]\d{4}(?:\d{2}|2[AB])\d{6}$/;

/** Upper case, without the spaces, dots and dashes people and forms put in a NIR. */
export function normaliseNir(text: string): string {
  return text.toUpperCase().replace(/[\s.-]/g, '');
}

/**
 * The key of a 13-character NIR (digits, 2A/2B in the department), as two digits ("05", "97").
 * Returns undefined when the text is not 13 such characters.
 */
export function nirKey(nir: string): string | undefined {
  const s = nir.toUpperCase();
  if (!/^\d{5}(?:\d{2}|2[AB])\d{6}$/.test(s)) return undefined;
  const dep = s.slice(5, 7);
  const numeric = s.slice(0, 5) + (dep === '2A' ? '19' : dep === '2B' ? '18' : dep) + s.slice(7);
  return String(97n - (BigInt(numeric) % 97n)).padStart(2, '0');
}

/** True when `key` (two digits) is the key of the 13-character `nir`. */
export function nirKeyMatches(nir: string, key: string): boolean {
  return /^\d{2}$/.test(key) && nirKey(nir) === key;
}
