/**
 * FINESS numbers (Fichier national des établissements sanitaires et sociaux): 9 characters,
 * the first two the département (2A/2B for Corsica), the last a Luhn check digit computed on the
 * first eight (with 2A/2B read as 20 for the computation).
 */
export function finessKey(first8: string): number {
  const digits = first8.replace(/^2[AB]/i, '20');
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    let d = digits.charCodeAt(7 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Returns null when valid, else a plain-language reason. */
export function checkFiness(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return 'FINESS absent';
  if (!/^(\d{2}|2[AB])\d{7}$/i.test(value)) return 'un FINESS compte 9 caractères (chiffres, 2A/2B pour la Corse)';
  if (finessKey(value.slice(0, 8)) !== Number(value[8])) return `clé FINESS invalide (attendue : ${finessKey(value.slice(0, 8))})`;
  return null;
}
