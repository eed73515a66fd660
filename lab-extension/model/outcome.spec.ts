import { outcomeText, runOutcome } from './outcome';

describe('runOutcome', () => {
  it('tells an interrupt from an error', () => {
    expect(runOutcome({ status: 'ok' })).toBe('ok');
    expect(runOutcome({ status: 'error' })).toBe('error');
    expect(runOutcome({ status: 'error' }, true)).toBe('interrupted');
    expect(runOutcome({ status: 'interrupted' as any })).toBe('interrupted');
    expect(runOutcome({ status: 'aborted' })).toBe('aborted');
    // An ok run stays ok whatever the outputs say.
    expect(runOutcome({ status: 'ok' }, true)).toBe('ok');
  });

  it('has words for each outcome', () => {
    expect(outcomeText('ok')).toBe('');
    expect(outcomeText('error')).toBe('raised an error');
    expect(outcomeText('interrupted')).toBe('interrupted');
    expect(outcomeText('aborted')).toBe('aborted');
  });
});
