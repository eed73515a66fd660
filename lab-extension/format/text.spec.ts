import { displayText, firstSourceLine, shortenPath } from './text';

describe('displayText', () => {
  it('shows control, bidi and zero-width characters escaped and replaces lone surrogates', () => {
    expect(displayText('a\u202eb\u200bc\u0007\nd')).toBe('a\\u{202e}b\\u{200b}c\\u{0007}\\u{000a}d');
    expect(displayText('x\ud800y')).toBe('x\ufffdy');
    expect(displayText('😀\tok')).toBe('😀\tok');
  });

  it('cuts long strings with an ellipsis', () => {
    expect(displayText('abcdef', 4)).toBe('abc…');
    expect(shortenPath('/very/long/path/file.py', 10)).toBe('…h/file.py');
    expect(firstSourceLine('\n  \n  x = 1  \ny')).toBe('x = 1');
  });
});
