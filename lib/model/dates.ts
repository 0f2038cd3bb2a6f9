/**
 * Date helpers shared by the HL7 (PAM-FR) and HPRIM readers. Dates in the model are ISO strings at
 * the precision the sender gave (lib/model/dossier.ts IsoDate / IsoDateTime): a GAP that sends a
 * day is not given a midnight, a time without zone is not given one.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at i as a number, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * A compact date (HL7 TS/DT/DTM, HPRIM AAAAMMJJ[HHMM[SS]]) → ISO 8601 at the precision sent
 * ('2024-03-06', '2024-03-06T11:00', '2024-03-06T11:00:00.123+01:00'). Hours without minutes get
 * ':00'; a fraction needs seconds; a zone (+HHMM / -HHMM, hours up to 14) is kept on a time and
 * dropped on a date alone. undefined when the text is not a valid date (calendar checked, leap
 * years included). Hand-written: called ~15 times per ADT.
 */
export function compactDateToIso(s: string): string | undefined {
  // Split off the time zone, then the fraction.
  let tz = '';
  let body = s;
  const sign = Math.max(s.indexOf('+'), s.indexOf('-'));
  if (sign !== -1) {
    tz = s.slice(sign);
    body = s.slice(0, sign);
    if (tz.length !== 5 || two(tz, 1) < 0 || two(tz, 3) < 0 || two(tz, 1) > 14 || two(tz, 3) > 59) return undefined;
  }
  let frac = '';
  const dot = body.indexOf('.');
  if (dot !== -1) {
    frac = body.slice(dot);
    body = body.slice(0, dot);
    if (frac.length < 2 || frac.length > 5 || !/^\.\d+$/.test(frac) || body.length !== 14) return undefined;
  }
  const n = body.length;
  if (n < 4 || n > 14 || n % 2 !== 0) return undefined;
  const c1 = two(body, 0);
  const c2 = two(body, 2);
  if (c1 < 0 || c2 < 0) return undefined;
  const year = c1 * 100 + c2;
  let out = body.slice(0, 4);
  if (n >= 6) {
    const month = two(body, 4);
    if (month < 1 || month > 12) return undefined;
    out += '-' + body.slice(4, 6);
    if (n >= 8) {
      const day = two(body, 6);
      const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
      const days = month === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[month - 1];
      if (day < 1 || day > days) return undefined;
      out += '-' + body.slice(6, 8);
    }
  }
  if (n >= 10) {
    const h = two(body, 8);
    const mi = n >= 12 ? two(body, 10) : 0;
    const se = n >= 14 ? two(body, 12) : 0;
    if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return undefined;
    out += 'T' + body.slice(8, 10) + ':' + (n >= 12 ? body.slice(10, 12) : '00');
    if (n >= 14) out += ':' + body.slice(12, 14) + frac;
    if (tz) out += tz.slice(0, 3) + ':' + tz.slice(3);
  } else if (tz) {
    // a zone on a date without time: accepted, dropped
  }
  return out;
}

/**
 * HPRIM dates: digits only (AAAAMMJJ[HHMM[SS]], no zone, no fraction) → ISO 8601, or undefined.
 */
export function digitsDateToIso(s: string): string | undefined {
  return /^\d+$/.test(s) ? compactDateToIso(s) : undefined;
}
