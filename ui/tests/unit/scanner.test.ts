import { describe, expect, it } from 'vitest';
import { WedgeDetector, mapAzertyDigits } from '../../src/lib/scanner';

/** Feeds `text` then Enter, one key every `gapMs`, starting at `start`. */
function type(detector: WedgeDetector, text: string, gapMs: number, start = 1000) {
  const results = [...text].map((c, i) => detector.key(c, start + i * gapMs));
  results.push(detector.key('Enter', start + text.length * gapMs));
  return results;
}

describe('scanner bursts', () => {
  it('takes a fast burst ending with Enter as a scan', () => {
    const d = new WedgeDetector();
    const results = type(d, '3760000010009', 5);
    expect(results.at(-1)).toEqual({ kind: 'scan', code: '3760000010009', raw: '3760000010009' });
    expect(results.slice(0, -1).every((r) => r.kind === 'char')).toBe(true);
  });

  it('takes slow typing ending with Enter as an ordinary Enter', () => {
    const d = new WedgeDetector();
    expect(type(d, '3760000010009', 120).at(-1)).toEqual({ kind: 'enter' });
  });

  it('needs the Enter to follow the burst at once', () => {
    const d = new WedgeDetector();
    for (const [i, c] of [...'3760000010009'].entries()) d.key(c, 1000 + i * 5);
    expect(d.key('Enter', 5000)).toEqual({ kind: 'enter' });
  });

  it('treats too short a burst as typing', () => {
    const d = new WedgeDetector();
    expect(type(d, '123', 5).at(-1)).toEqual({ kind: 'enter' });
  });

  it('finds a burst that follows slow typing', () => {
    const d = new WedgeDetector();
    d.key('c', 0);
    d.key('o', 150);
    d.key('q', 300);
    const results = type(d, '3760000010009', 4, 2000);
    expect(results.at(-1)).toEqual({ kind: 'scan', code: '3760000010009', raw: '3760000010009' });
  });

  it('cuts a run at a long pause in the middle', () => {
    const d = new WedgeDetector();
    for (const [i, c] of [...'376000'].entries()) d.key(c, 1000 + i * 5);
    // A person continues after a pause: only the three fast keys after it remain, too few.
    d.key('0', 2000);
    d.key('0', 2005);
    d.key('1', 2010);
    expect(d.key('Enter', 2015)).toEqual({ kind: 'enter' });
  });

  it('ignores Shift inside a burst but resets on other special keys', () => {
    const d = new WedgeDetector();
    let t = 0;
    for (const c of '376000') {
      d.key('Shift', (t += 2));
      d.key(c, (t += 2));
    }
    expect(d.key('Enter', (t += 2))).toMatchObject({ kind: 'scan', code: '376000' });
    for (const c of '376000') d.key(c, (t += 2));
    d.key('ArrowLeft', (t += 2));
    expect(d.key('Enter', (t += 2))).toEqual({ kind: 'enter' });
  });
});

describe('AZERTY digit mapping', () => {
  it('maps the unshifted AZERTY digit row to digits', () => {
    expect(mapAzertyDigits('&é"\'(-è_çà')).toBe('1234567890');
  });

  it('maps a scanned EAN typed on an AZERTY layout', () => {
    const d = new WedgeDetector();
    // 3760000010009 as a US-configured scanner types it on AZERTY.
    const result = type(d, '"è-ààààà&àààç', 5).at(-1);
    expect(result).toEqual({ kind: 'scan', code: '3760000010009', raw: '"è-ààààà&àààç' });
  });

  it('leaves text with real digits alone', () => {
    expect(mapAzertyDigits('ACC-12')).toBe('ACC-12');
  });

  it('never maps what a person types, since only bursts are mapped', () => {
    const d = new WedgeDetector();
    expect(type(d, "l'été", 150).at(-1)).toEqual({ kind: 'enter' });
  });

  it('leaves text without AZERTY digit keys alone', () => {
    expect(mapAzertyDigits('COQUE')).toBe('COQUE');
  });
});
