import { receive } from '../../lib/hl7/intake';
import { parseEr7 } from '../../lib/hl7/er7';
import { decodeFrame } from '../../lib/hl7/charset';
import { encodeGapMessage, gapDay, type GapMessage } from '../../simulator/gap-day';

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
