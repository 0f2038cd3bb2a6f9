/**
 * boundedText (lib/store/journal.ts): the error texts a journal stores (a failed message's reason,
 * an exchange's detail, a refused lot's reasons) are cut at their bound, with an ellipsis.
 */
import { boundedText } from '../../lib/store/journal';

describe('boundedText', () => {
  const soapFault = 'IDB: soap:Server — Le service de l’AMC ne répond pas (délai de 30 s dépassé). ';

  it('keeps a text up to its bound as it is; a longer one is cut to the bound, its last character an ellipsis', () => {
    const exactly = soapFault.repeat(20).slice(0, 1000);
    expect(boundedText(exactly)).toBe(exactly);
    const long = soapFault.repeat(20);
    const cut = boundedText(long)!;
    expect(cut).toHaveLength(1000);
    expect(cut).toBe(long.slice(0, 999) + '…');
    expect(boundedText(soapFault, 40)).toBe(soapFault.slice(0, 39) + '…');
    expect(boundedText('AMC injoignable', 15)).toBe('AMC injoignable');
  });

  it('no text (undefined, or null from an older row or a JavaScript caller) stays no text', () => {
    expect(boundedText(undefined)).toBeUndefined();
    expect(boundedText(null as unknown as string)).toBeUndefined();
    expect(boundedText('')).toBe('');
  });
});
