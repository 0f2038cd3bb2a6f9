import { PROFILE } from '../../lib/sel/profile';
import { receive } from '../../lib/hl7/intake';
import { parseEr7 } from '../../lib/hl7/er7';
import { decodeFrame } from '../../lib/hl7/charset';
import { checkInvoice, type InvoiceLine } from '../../lib/dossier/invoice';
import { AMO_PAYMENT_HL7, readAmoPaymentHl7 } from '../../lib/billing/amo';
import { encodeGapMessage, gapDay, runControlIdPrefix, runVenueOffset, STORIES, type GapMessage } from '../../simulator/gap-day';

const day = (o: Parameters<typeof gapDay>[0] = {}): GapMessage[] => [...gapDay(o)];

describe('gapDay: a PAM-FR hospital day', () => {
  const msgs = day({ messages: 1500, venues: 12, seed: 7 });

  it('covers every event of the day, each message read by lib/hl7 receive() as AA without issues', () => {
    const events = new Set(msgs.map((m) => m.event));
    for (const e of ['A05', 'A01', 'A04', 'A02', 'A21', 'A22', 'A03', 'A11', 'A13', 'A38', 'Z99', 'A08', 'A31'])
      expect(events).toContain(e);
    for (const m of msgs) {
      const intake = receive(encodeGapMessage(m));
      expect({ id: m.controlId, event: m.event, ack: intake.ackCode, issues: intake.issues.map((i) => `${i.code} ${i.message}`) }).toEqual({
        id: m.controlId,
        event: m.event,
        ack: 'AA',
        issues: [],
      });
      expect(intake.context.controlId).toBe(m.controlId);
    }
  });

  it('gives every message a unique MSH-10 and is deterministic for a seed', () => {
    expect(new Set(msgs.map((m) => m.controlId)).size).toBe(msgs.length);
    const again = day({ messages: 1500, venues: 12, seed: 7 });
    expect(again.map((m) => m.segments.join('\r'))).toEqual(msgs.map((m) => m.segments.join('\r')));
    const other = day({ messages: 50, venues: 12, seed: 8 });
    expect(other.map((m) => m.segments.join('\r'))).not.toEqual(msgs.slice(0, 50).map((m) => m.segments.join('\r')));
  });

  it('interleaves venues but keeps each venue in a valid PAM-FR order', () => {
    const byVenue = new Map<string, string[]>();
    for (const m of msgs) if (m.venue) byVenue.set(m.venue, [...(byVenue.get(m.venue) ?? []), m.event]);
    expect(byVenue.size).toBeGreaterThan(100);
    // interleaving: consecutive messages often belong to different venues
    let switches = 0;
    for (let i = 1; i < msgs.length; i++) if (msgs[i].venue !== msgs[i - 1].venue) switches++;
    expect(switches).toBeGreaterThan(msgs.length / 2);
    for (const [venue, evs] of byVenue) {
      let state: 'none' | 'pre' | 'in' | 'leave' | 'out' | 'cancelled' = 'none';
      for (const e of evs) {
        const ok =
          (e === 'A05' && state === 'none') ||
          (e === 'A38' && state === 'pre') ||
          ((e === 'A01' || e === 'A04') && (state === 'none' || state === 'pre')) ||
          (e === 'A11' && state === 'in') ||
          (['A02', 'A08', 'Z99', 'A31', 'A21'].includes(e) && state === 'in') ||
          (e === 'A08' && state === 'in') ||
          (e === 'A22' && state === 'leave') ||
          (e === 'A03' && state === 'in') ||
          (e === 'A13' && state === 'out');
        if (!ok) throw new Error(`venue ${venue}: ${e} after state ${state} (${evs.join(' ')})`);
        state =
          e === 'A05'
            ? 'pre'
            : e === 'A01' || e === 'A04' || e === 'A22' || e === 'A13'
              ? 'in'
              : e === 'A21'
                ? 'leave'
                : e === 'A03'
                  ? 'out'
                  : e === 'A11' || e === 'A38'
                    ? 'cancelled'
                    : state;
      }
    }
  });

  it('carries the seeded beneficiary in PID and IN1 AMC (numéro AMC, adhérent, rights, extras), FINESS in authorities', () => {
    const a01 = msgs.find((m) => m.event === 'A01' && m.beneficiary === 'B02') ?? msgs.find((m) => m.event === 'A01')!;
    const intake = receive(encodeGapMessage(a01));
    const adm = intake.admission!;
    expect(adm.venue?.numeroVenue?.value).toBe(a01.venue);
    const amc = adm.coverages.find((c) => c.kind === 'AMC')!;
    expect(amc).toMatchObject({ numeroAmc: '0441927302', numeroAdherent: '000417852', debutDroits: '2026-01-01', finDroits: '2026-12-31' });
    expect(amc.extras[0]).toBe('FRJ');
    expect(a01.scenario).toBe('droits-ok-adherent');
    const msg = intake.message!;
    expect(msg.get('MSH-12')).toBe('2.5');
    expect(msg.get('PV1-19')).toBe(a01.venue);
    expect(msg.raw('PV1-19.4')).toMatch(/&750712184&M$/);
    expect(msg.all('IN1').map((s) => s.get(2))).toEqual(['AMO', 'AMC']);
    expect(msg.all('IN1')[1].get(3)).toMatch(/^\d{10}$/);
    expect(msg.all('IN1')[1].get(12)).toBe('20260101');
    expect(msg.raw('IN2[2]-28')).toMatch(/^FRJ/);
    expect(msg.get('ZBE-4')).toBe('INSERT');
  });
});

describe('gapDay options', () => {
  it('writes MSH-18 and the bytes in the chosen charset (ISO 8859-15, 8859-1, UTF-8)', () => {
    const pick = (charset: 'iso-8859-15' | 'latin1' | 'utf8'): { m: GapMessage; bytes: Buffer } => {
      const m = [...gapDay({ messages: 400, venues: 6, charset })].find(
        (x) => x.beneficiary === 'B03' && x.segments.some((s) => s.startsWith('PID')),
      )!;
      return { m, bytes: encodeGapMessage(m) };
    };
    const iso = pick('iso-8859-15');
    expect(iso.m.segments[0].split('|')[17]).toBe('8859/15');
    expect(iso.bytes.includes(Buffer.from([0x47, 0x55, 0xc9, 0x52, 0x49, 0x4e]))).toBe(true); // GUÉRIN, É = 0xC9
    expect(iso.bytes.includes(Buffer.from('GUÉRIN', 'utf8'))).toBe(false);
    const l1 = pick('latin1');
    expect(l1.m.segments[0].split('|')[17]).toBe('8859/1');
    const u8 = pick('utf8');
    expect(u8.m.segments[0].split('|')[17]).toBe('UNICODE UTF-8');
    expect(u8.bytes.includes(Buffer.from('GUÉRIN', 'utf8'))).toBe(true);
    for (const x of [iso, l1, u8]) {
      const d = decodeFrame(x.bytes);
      expect(parseEr7(d.text).get('PID-5')).toBe('GUÉRIN');
    }
  });

  it('asks for enhanced-mode acknowledgements with MSH-15/16', () => {
    const [m] = gapDay({ messages: 1, ackMode: 'enhanced', applicationAck: 'NE' });
    const f = m.segments[0].split('|');
    expect([f[14], f[15]]).toEqual(['AL', 'NE']);
    const [o] = gapDay({ messages: 1 });
    expect([o.segments[0].split('|')[14], o.segments[0].split('|')[15]]).toEqual(['', '']);
  });

  it('streams 100,000 messages lazily', () => {
    const it = gapDay({ messages: 100_000, venues: 40 });
    let n = 0;
    let last = '';
    for (const m of it) {
      n++;
      last = m.controlId;
    }
    expect(n).toBe(100_000);
    expect(last).toBe('GAP00100000');
  });

  it('LF segment ends and trailing blank lines still read as AA', () => {
    for (const m of gapDay({ messages: 30 })) {
      expect(receive(encodeGapMessage(m, 'LF', 2)).ackCode).toBe('AA');
      expect(receive(encodeGapMessage(m, 'CRLF', 1)).ackCode).toBe('AA');
    }
  });
});

/** Cents of an HL7 NM amount ("4492.96"). */
const cents = (v: string): number => {
  expect(v).toMatch(/^-?\d+\.\d{2}$/);
  return Math.round(Number(v) * 100);
};
const isoOf = (d: string): string => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;

describe('gapDay with invoices: the billing office', () => {
  const msgs = day({ messages: 6000, venues: 16, seed: 11, invoices: true });
  const dfts = msgs.filter((m) => m.messageType === 'DFT');
  const byVenue = new Map<string, GapMessage[]>();
  for (const m of msgs) if (m.venue) byVenue.set(m.venue, [...(byVenue.get(m.venue) ?? []), m]);
  const events = (v: string): string =>
    byVenue
      .get(v)!
      .map((m) => m.event)
      .join(' ');

  it('sends DFT^P03 per the profile: ZFA totals add up, FT1 quantity × unit = amount, ZFT AMO = base × rate', () => {
    expect(dfts.length).toBeGreaterThan(500);
    for (const m of dfts) {
      const msg = parseEr7(decodeFrame(encodeGapMessage(m)).text);
      expect(msg.raw('MSH-9')).toBe('DFT^P03^DFT_P03');
      expect(msg.get('MSH-12')).toBe('2.5');
      expect(msg.get('EVN-1')).toBe('P03');
      expect(msg.get('PV1-19')).toBe(m.venue);
      expect(msg.get('PV1-45')).toMatch(/^\d{14}$/);
      // Segment order: …, ZFA once, then FT1 + ZFT pairs.
      const names = msg.segments.map((s) => s.name);
      const zfa = names.indexOf('ZFA');
      expect(names.lastIndexOf('ZFA')).toBe(zfa);
      const tail = names.slice(zfa + 1);
      expect(tail.length % 2).toBe(0);
      for (let i = 0; i < tail.length; i += 2) expect([tail[i], tail[i + 1]]).toEqual(['FT1', 'ZFT']);
      expect(msg.get('ZFA-1')).toBe(m.invoice!.number);
      expect(msg.get('ZFA-2')).toMatch(/^\d{8}$/);
      const [total, amo, amc, patient] = [3, 4, 5, 6].map((f) => cents(msg.get(`ZFA-${f}`)));
      expect(amo + amc + patient).toBe(total);
      expect(amc).toBeGreaterThanOrEqual(0);
      const ft1 = msg.all('FT1');
      const zft = msg.all('ZFT');
      let sumAmount = 0;
      let sumAmo = 0;
      const lines: InvoiceLine[] = [];
      ft1.forEach((f, k) => {
        const z = zft[k];
        expect(f.get(1)).toBe(String(k + 1));
        expect(z.get(1)).toBe(f.get(1));
        expect(f.get(6)).toBe('CG');
        expect(PROFILE.codeLists.prestation).toContain(f.get(7)); // a code outside the profile's list is refused before CLC
        expect(f.get(4) <= f.get(5)).toBe(true);
        const qty = Number(f.get(10));
        expect(Number.isInteger(qty) && qty > 0).toBe(true);
        const amount = cents(f.get(11));
        expect(qty * cents(f.get(12))).toBe(amount);
        const [base, rate, amoLine] = [cents(z.get(2)), Number(z.get(3)), cents(z.get(4))];
        expect(rate).toBeGreaterThanOrEqual(0);
        expect(rate).toBeLessThanOrEqual(100);
        expect(Math.abs((base * rate) / 100 - amoLine)).toBeLessThanOrEqual(1);
        sumAmount += amount;
        sumAmo += amoLine;
        lines.push({
          numero: k + 1,
          code: f.get(7),
          dateDebut: isoOf(f.get(4)),
          dateFin: isoOf(f.get(5)),
          quantite: qty,
          prixUnitaire: cents(f.get(12)) / 100,
          montant: amount / 100,
          baseAmo: base / 100,
          tauxAmo: rate,
          montantAmo: amoLine / 100,
        });
      });
      expect(sumAmount).toBe(total);
      expect(sumAmo).toBe(amo);
      // The bridge's own checks (lib/dossier/invoice.ts) find nothing to say.
      const totals = { total: total / 100, amo: amo / 100, amc: amc / 100, patient: patient / 100 };
      expect(checkInvoice({ numero: msg.get('ZFA-1'), lignes: lines }, totals)).toEqual([]);
    }
  });

  it('bills realistic French hospital lines: GHS (AMO 80 or 100 %), forfait journalier 20 € × days, private room 60–90 € × nights', () => {
    const lines = dfts.flatMap((m) => m.invoice!.lines);
    const ghs = lines.filter((l) => l.code === 'GHS');
    expect(ghs.length).toBeGreaterThan(100);
    for (const l of ghs) {
      expect(l.quantity).toBe(1);
      expect(l.unit).toBeGreaterThanOrEqual(2000_00);
      expect(l.unit).toBeLessThanOrEqual(6000_00);
      expect([80, 100]).toContain(l.amoRate);
    }
    expect(new Set(ghs.map((l) => l.amoRate))).toEqual(new Set([80, 100]));
    for (const l of lines.filter((x) => x.code === 'FJ')) expect([l.unit, l.amoAmount]).toEqual([20_00, 0]);
    const cp = lines.filter((l) => l.code === 'CP');
    expect(cp.length).toBeGreaterThan(20);
    for (const l of cp) {
      expect(l.unit).toBeGreaterThanOrEqual(60_00);
      expect(l.unit).toBeLessThanOrEqual(90_00);
      expect(l.amoAmount).toBe(0);
    }
    // The private room above the chambre-plafond ceiling is the patient's.
    const plafond = dfts.filter((m) => m.scenario === 'chambre-plafond' && m.invoice!.lines.some((l) => l.code === 'CP' && l.unit > 60_00));
    for (const m of plafond) expect(m.invoice!.totals.patient).toBeGreaterThan(0);
  });

  it('keeps each venue in order: a DFT only after the A03, never for a patient without AMC coverage, a cancelled venue only after its DFT', () => {
    const noAmc = new Set(STORIES.invoice.noAmcScenarios);
    for (const [venue, ms] of byVenue) {
      let state: 'none' | 'pre' | 'in' | 'leave' | 'out' | 'billed' | 'cancelled' = 'none';
      let invoiceNumber: string | undefined;
      for (const m of ms) {
        const e = m.event;
        const ok =
          (e === 'A05' && state === 'none') ||
          (e === 'A38' && state === 'pre') ||
          ((e === 'A01' || e === 'A04') && (state === 'none' || state === 'pre')) ||
          (e === 'A11' && state === 'in') ||
          (['A02', 'A08', 'Z99', 'A31', 'A21'].includes(e) && state === 'in') ||
          (e === 'A22' && state === 'leave') ||
          (e === 'A03' && state === 'in') ||
          (e === 'A13' && (state === 'out' || state === 'billed')) ||
          (e === 'P03' && (state === 'out' || state === 'billed')) ||
          (e === 'P05' && state === 'billed');
        if (!ok) throw new Error(`venue ${venue}: ${e} after state ${state} (${events(venue)})`);
        if (e === 'P03') {
          expect(noAmc.has(m.scenario)).toBe(false);
          invoiceNumber ??= m.invoice!.number;
          expect(m.invoice!.number).toBe(invoiceNumber);
        }
        state =
          e === 'A05'
            ? 'pre'
            : e === 'A01' || e === 'A04' || e === 'A22' || e === 'A13'
              ? 'in'
              : e === 'A21'
                ? 'leave'
                : e === 'A03'
                  ? 'out'
                  : e === 'P03'
                    ? 'billed'
                    : e === 'A11' || e === 'A38'
                      ? 'cancelled'
                      : state;
      }
      // Once billed, the venue either stays discharged or is cancelled (A13 [A11]) after CLC.
      const evs = ms.map((m) => m.event);
      const first = evs.indexOf('P03');
      if (first >= 0) expect(evs.slice(first).every((x) => ['P03', 'A13', 'A11', 'P05'].includes(x))).toBe(true);
      // The AMO payment, when any, is the venue's last message, once.
      const paid = evs.indexOf('P05');
      if (paid >= 0) expect(paid).toBe(evs.length - 1);
    }
    // Patients without usable AMC coverage are discharged too, and never billed here.
    const dischargedNoAmc = [...byVenue.values()].filter((ms) => noAmc.has(ms[0].scenario) && ms.some((m) => m.event === 'A03'));
    expect(dischargedNoAmc.length).toBeGreaterThan(20);
    for (const ms of dischargedNoAmc) expect(ms.some((m) => m.event === 'P03')).toBe(false);
    // A discharged venue with coverage is billed, unless the day ended first.
    const lastA03 = new Map<string, number>();
    for (const [venue, ms] of byVenue)
      if (!noAmc.has(ms[0].scenario) && ms[ms.length - 1].event === 'A03') lastA03.set(venue, ms[ms.length - 1].index);
    for (const [venue, i] of lastA03) expect({ venue, late: i > msgs.length - 40 }).toEqual({ venue, late: true });
  });

  it('amends and cancels invoices with the shares of STORIES.invoice', () => {
    // Venues billed early enough that their whole billing tail fits in the day.
    const billed = [...byVenue.entries()].filter(([, ms]) => {
      const f = ms.find((m) => m.event === 'P03');
      return f && f.index < msgs.length - 200;
    });
    expect(billed.length).toBeGreaterThan(400);
    const amended = billed.filter(([, ms]) => ms.filter((m) => m.event === 'P03').length === 2);
    const cancelled = billed.filter(([, ms]) => ms.slice(ms.findIndex((m) => m.event === 'P03')).some((m) => m.event === 'A13'));
    const share = (n: number): number => n / billed.length;
    expect(share(amended.length)).toBeGreaterThan(STORIES.invoice.amended - 0.05);
    expect(share(amended.length)).toBeLessThan(STORIES.invoice.amended + 0.05);
    expect(share(cancelled.length)).toBeGreaterThan(STORIES.invoice.cancelAfterClc - 0.04);
    expect(share(cancelled.length)).toBeLessThan(STORIES.invoice.cancelAfterClc + 0.04);
    expect(billed.some(([v]) => / P03 A13 A11$/.test(events(v)))).toBe(true);
    expect(billed.some(([v]) => / P03 A13$/.test(events(v)))).toBe(true);
    // An amended invoice: same ZFA-1, one line changed, totals recomputed.
    for (const [, ms] of amended) {
      const [a, b] = ms.filter((m) => m.event === 'P03').map((m) => m.invoice!);
      expect(b.number).toBe(a.number);
      expect(b.lines.map((l) => l.code)).toEqual(a.lines.map((l) => l.code));
      const changed = a.lines.filter((l, k) => JSON.stringify(l) !== JSON.stringify(b.lines[k]));
      expect(changed.length).toBe(1);
      expect(b.totals.total).toBe(b.lines.reduce((s, l) => s + l.amount, 0));
    }
    // Cancelled after CLC: the A13 cancels the discharge (ZBE-6 = A03).
    for (const [, ms] of cancelled) {
      const a13 = ms.find((m, k) => m.event === 'A13' && ms.slice(0, k).some((x) => x.event === 'P03'))!;
      expect(parseEr7(a13.segments.join('\r')).get('ZBE-6')).toBe('A03');
    }
  });

  it("sends a BAR^P05 AMO payment notice per AMO_PAYMENT_HL7 a few messages after the last DFT: ZFA-4 = the invoice's AMO total", () => {
    const bars = msgs.filter((m) => m.messageType === 'BAR');
    expect(bars.length).toBeGreaterThan(400);
    const F = AMO_PAYMENT_HL7.fields;
    for (const m of bars) {
      const ms = byVenue.get(m.venue)!;
      const lastDft = [...ms].reverse().find((x) => x.event === 'P03')!;
      // After the venue's last invoice, a few messages later (STORIES.invoice.delay, or less when
      // the billing office's queue made the DFT itself late), once.
      expect(m.index - lastDft.index).toBeGreaterThanOrEqual(1);
      expect(m.index - lastDft.index).toBeLessThanOrEqual(3 * STORIES.invoice.delay.max);
      expect(ms.filter((x) => x.event === 'P05')).toEqual([m]);
      const text = decodeFrame(encodeGapMessage(m)).text;
      const msg = parseEr7(text);
      expect(msg.raw('MSH-9')).toBe('BAR^P05^BAR_P05');
      expect(AMO_PAYMENT_HL7.messages).toContain('BAR^P05');
      expect(msg.get('EVN-1')).toBe('P05');
      // The venue's own PID and PV1, as in its DFT.
      const dftMsg = parseEr7(decodeFrame(encodeGapMessage(lastDft)).text);
      expect(msg.segment('PID')!.raw).toBe(dftMsg.segment('PID')!.raw);
      expect(msg.segment('PV1')!.raw).toBe(dftMsg.segment('PV1')!.raw);
      expect(msg.get(`ZFA-${F.factureNumero}`)).toBe(lastDft.invoice!.number);
      expect(cents(msg.get(`ZFA-${F.montantAmo}`))).toBe(lastDft.invoice!.totals.amo);
      expect(m.amoPayment).toEqual({
        factureNumero: lastDft.invoice!.number,
        amoCents: lastDft.invoice!.totals.amo,
        paidAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      });
      // ZFA-7: a few days after the discharge (PV1-45).
      const discharge = Date.parse(isoOf(msg.get('PV1-45').slice(0, 8)));
      const days = (Date.parse(m.amoPayment!.paidAt) - discharge) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(STORIES.invoice.amoPayment.afterDays.min);
      expect(days).toBeLessThanOrEqual(STORIES.invoice.amoPayment.afterDays.max);
      // The billing side's reader and the bridge's intake read the same payment.
      const read = readAmoPaymentHl7(text);
      expect(read).toEqual({ ok: true, value: { key: expect.stringMatching(/^\d{9}\/V\//), ...m.amoPayment } });
      const intake = receive(encodeGapMessage(m));
      expect([intake.ackCode, intake.meaning, intake.issues]).toEqual(['AA', 'AMO_PAYMENT', []]);
      expect(intake.admission!.amoPayment).toEqual(read.ok && read.value);
    }
  });

  it('pays with the share of STORIES.invoice.amoPayment the invoices not cancelled; none of the cancelled ones', () => {
    const billed = [...byVenue.values()].filter((ms) => {
      const f = ms.find((m) => m.event === 'P03');
      return f && f.index < msgs.length - 200;
    });
    const cancelled = billed.filter((ms) => ms.some((m) => m.event === 'A13' && m.index > ms.find((x) => x.event === 'P03')!.index));
    const kept = billed.filter((ms) => !cancelled.includes(ms));
    expect(kept.length).toBeGreaterThan(400);
    for (const ms of cancelled) expect(ms.some((m) => m.event === 'P05')).toBe(false);
    const paid = kept.filter((ms) => ms.some((m) => m.event === 'P05')).length / kept.length;
    expect(paid).toBeGreaterThan(STORIES.invoice.amoPayment.paid - 0.04);
    expect(paid).toBeLessThan(STORIES.invoice.amoPayment.paid + 0.04);
    // amended invoices are paid the amended AMO total (checked above); without payments, the same invoices
    const unpaid = day({ messages: 6000, venues: 16, seed: 11, invoices: true, amoPayments: false });
    expect(unpaid.some((m) => m.messageType === 'BAR')).toBe(false);
    const inv = (ms: GapMessage[]) =>
      new Map(ms.filter((m) => m.invoice).map((m) => [`${m.invoice!.number} ${m.invoice!.version}`, m.invoice]));
    const a = inv(msgs);
    const b = inv(unpaid);
    const both = [...a.keys()].filter((k) => b.has(k));
    expect(both.length).toBeGreaterThan(a.size - 20);
    for (const k of both) expect(b.get(k)).toEqual(a.get(k));
  });

  it('leaves the ADT stream of a seed as it was (only shifted) and is deterministic', () => {
    const plain = day({ messages: 6000, venues: 16, seed: 11 });
    const adt = msgs.filter((m) => m.messageType === 'ADT');
    // Every plain ADT message comes back in the same order with the same venue and event, except
    // for the billing office's own A13/A11, which the plain day does not have.
    const billingCancels = new Set<number>();
    for (const ms of byVenue.values()) {
      const f = ms.findIndex((m) => m.event === 'P03');
      if (f >= 0) for (const m of ms.slice(f)) if (m.event !== 'P03') billingCancels.add(m.index);
    }
    const ours = adt.filter((m) => !billingCancels.has(m.index)).map((m) => `${m.venue} ${m.event}`);
    expect(ours).toEqual(plain.slice(0, ours.length).map((m) => `${m.venue} ${m.event}`));
    const again = day({ messages: 6000, venues: 16, seed: 11, invoices: true });
    expect(again.map((m) => m.segments.join('\r'))).toEqual(msgs.map((m) => m.segments.join('\r')));
  });
});

describe('control ids', () => {
  it('a run tag gives ids of at most 20 characters that two runs never share', () => {
    const a = runControlIdPrefix(Date.parse('2026-03-16T08:00:00Z'), () => 0.1);
    const b = runControlIdPrefix(Date.parse('2026-03-16T08:00:00.001Z'), () => 0.1);
    const c = runControlIdPrefix(Date.parse('2026-03-16T08:00:00Z'), () => 0.9);
    expect(new Set([a, b, c]).size).toBe(3);
    for (const p of [a, b, c]) expect(p).toMatch(/^G[0-9A-Z]{10}$/);
    const ids = (prefix: string): string[] =>
      day({ messages: 300, seed: 7, controlIdPrefix: prefix, invoices: true }).map((m) => m.controlId);
    const first = ids(a);
    const second = ids(b);
    for (const id of [...first, ...second]) expect(id.length).toBeLessThanOrEqual(20);
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect(() => day({ messages: 1, controlIdPrefix: 'X'.repeat(13) })).toThrow(/at most 12/);
    expect(() => day({ messages: 1, controlIdPrefix: 'A|B' })).toThrow(/delimiter/);
  });

  it('a run opens its own venues: two runs a second apart share no venue number, a venue offset of 0 keeps the bytes', () => {
    const venues = (offset: number): Set<string> =>
      new Set(
        day({ messages: 400, seed: 7, invoices: true, venueOffset: offset })
          .map((m) => m.venue)
          .filter(Boolean),
      );
    const t = Date.parse('2026-03-16T08:00:00Z');
    const first = venues(runVenueOffset(t));
    const second = venues(runVenueOffset(t + 1000));
    expect(first.size).toBeGreaterThan(20);
    expect([...first].filter((v) => second.has(v))).toEqual([]);
    for (const v of [...first, ...second]) expect(v).toMatch(/^\d{9}$/);
    expect(day({ messages: 50, seed: 7, venueOffset: 0 }).map((m) => m.segments.join('\r'))).toEqual(
      day({ messages: 50, seed: 7 }).map((m) => m.segments.join('\r')),
    );
    expect(() => day({ messages: 1, venueOffset: 9_000_000 })).toThrow(/venueOffset/);
  });
});
