import { holdsFrameLine, TRUNCATION_MARKER } from './sameFile';

const FILE = 'import numpy as np\n\ndef make():\n    return np.ones(10)  # here\n';

describe('holdsFrameLine', () => {
  it('accepts the file whose line reads as the kernel read it (white space aside)', () => {
    expect(holdsFrameLine({ line: 4, source: 'return np.ones(10)  # here' }, FILE)).toBe(true);
    expect(holdsFrameLine({ line: 4, source: 'return np.ones(10)  # here' }, FILE.replace(/\n/g, '\r\n'))).toBe(true);
  });

  it('refuses another file of the same path, a shorter one, and frames without the kernel text', () => {
    expect(holdsFrameLine({ line: 4, source: 'return np.zeros(10)' }, FILE)).toBe(false);
    expect(holdsFrameLine({ line: 40, source: 'return np.ones(10)  # here' }, FILE)).toBe(false);
    expect(holdsFrameLine({ line: 4 }, FILE)).toBe(false);
    expect(holdsFrameLine({ line: 4, source: '' }, FILE)).toBe(false);
    expect(holdsFrameLine({ line: null, source: 'return np.ones(10)  # here' }, FILE)).toBe(false);
  });

  it('compares a line the kernel cut to the schema limit by its kept start', () => {
    const long = 'x = "' + 'a'.repeat(2000) + '"';
    const cut = long.slice(0, 988) + TRUNCATION_MARKER;
    expect(holdsFrameLine({ line: 1, source: cut }, long + '\n')).toBe(true);
    expect(holdsFrameLine({ line: 1, source: cut }, 'y = 1\n')).toBe(false);
  });
});
