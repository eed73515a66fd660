import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {
  browserMessage,
  checkBrowserMessage,
  checkKernelMessage,
  checkReport,
  parseKernelMessage,
  ParseResult,
  PROTOCOL_VERSION
} from './protocol';
import { cellPayload, cellStartPayload, message, statusPayload } from '../testing/fixtures';

const ROOT = path.resolve(__dirname, '..', '..');

interface IFixture {
  name: string;
  valid: boolean;
  where?: string;
  data: unknown;
}

/**
 * `{"$repeat": X, "times": N}`: X repeated N times (a string joined, anything else a list), as in
 * tests/test_protocol_fixtures.py.
 */
function expand(node: unknown): unknown {
  if (Array.isArray(node)) {
    return node.map(expand);
  }
  if (node !== null && typeof node === 'object') {
    const obj = node as { [key: string]: unknown };
    const keys = Object.keys(obj);
    if (keys.length === 2 && '$repeat' in obj && 'times' in obj) {
      const value = expand(obj.$repeat);
      const times = obj.times as number;
      return typeof value === 'string' ? value.repeat(times) : Array.from({ length: times }, () => value);
    }
    return Object.fromEntries(keys.map(key => [key, expand(obj[key])]));
  }
  return node;
}

function fixtures(name: string): IFixture[] {
  const file = path.join(ROOT, 'protocol', 'fixtures', name);
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { cases: IFixture[] }).cases;
}

/** The parsed message, failing the test when parsing failed. */
function parsed(result: ParseResult) {
  if (!result.ok) {
    throw new Error(`expected a valid message, got: ${result.error}`);
  }
  return result.message;
}

/** The parse error, failing the test when parsing succeeded. */
function rejection(data: unknown): string {
  const result = parseKernelMessage(data);
  if (result.ok) {
    throw new Error(`expected a rejection of ${JSON.stringify(data)}`);
  }
  return result.error;
}

describe('the shared fixtures (protocol/fixtures, also run by pytest)', () => {
  const checks: { [name: string]: (data: unknown) => string | null } = {
    'kernel.json': checkKernelMessage,
    'browser.json': checkBrowserMessage,
    'report.json': checkReport
  };

  it('has at least 60 cases, valid and invalid', () => {
    const all = Object.keys(checks).flatMap(fixtures);
    expect(all.length).toBeGreaterThanOrEqual(60);
    expect(all.some(c => c.valid) && all.some(c => !c.valid)).toBe(true);
  });

  for (const name of Object.keys(checks)) {
    it(`labels every case of ${name} as the fixture does`, () => {
      const failures: string[] = [];
      for (const fixture of fixtures(name)) {
        const problem = checks[name](expand(fixture.data));
        if (fixture.valid && problem !== null) {
          failures.push(`${fixture.name}: should be valid, got ${JSON.stringify(problem)}`);
        } else if (!fixture.valid) {
          if (problem === null) {
            failures.push(`${fixture.name}: should be invalid`);
          } else if (!problem.includes(fixture.where ?? '')) {
            failures.push(`${fixture.name}: the problem should name ${fixture.where}: ${JSON.stringify(problem)}`);
          } else if (problem.length > 500) {
            failures.push(`${fixture.name}: the problem is ${problem.length} characters long`);
          }
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it('parseKernelMessage agrees with the kernel fixtures', () => {
    for (const fixture of fixtures('kernel.json')) {
      expect([fixture.name, parseKernelMessage(expand(fixture.data)).ok]).toEqual([fixture.name, fixture.valid]);
    }
  });
});

describe('parseKernelMessage', () => {
  it('returns the message without its protocol key', () => {
    const msg = parsed(parseKernelMessage(message('status', { status: statusPayload() })));
    expect(msg).toEqual({ type: 'status', status: statusPayload() });
    const cell = cellStartPayload({ seq: 7 });
    expect(parsed(parseKernelMessage(message('cell_start', { cell })))).toEqual({ type: 'cell_start', cell });
  });

  it('parses ticks', () => {
    const data = message('ticks', { seq: 7, ticks: [[1764150000.15, 52430000]] });
    expect(parsed(parseKernelMessage(data))).toEqual({ type: 'ticks', seq: 7, ticks: [[1764150000.15, 52430000]] });
  });

  it('keeps unknown extra keys (forward compatibility) and does not change its input', () => {
    const data = {
      ...message('cell', { cell: { ...cellPayload(), future_field: [1, 2] } }),
      sent_by: 'a newer agent'
    };
    const copy = JSON.parse(JSON.stringify(data));
    expect(parsed(parseKernelMessage(data))).toEqual({
      type: 'cell',
      cell: { ...cellPayload(), future_field: [1, 2] },
      sent_by: 'a newer agent'
    });
    expect(data).toEqual(copy);
  });

  it('says what is wrong in one line, with the path', () => {
    expect(rejection(null)).toBe('a message must be a JSON object');
    expect(rejection({ ...message('status', { status: statusPayload() }), protocol: 1 })).toBe(
      'unsupported protocol 1 (this extension speaks 2)'
    );
    expect(rejection(message('samples', { seq: 1, samples: [] }))).toBe('unknown message type "samples"');
    expect(rejection({ protocol: 2 })).toBe("'type' must be a string");
    expect(rejection(message('cell', { cell: cellPayload({ end_bytes: -1 }) }))).toBe(
      'cell.cell.end_bytes must be >= 0'
    );
    expect(rejection(message('cell', { cell: cellPayload({ start_bytes: 10, peak_bytes: 5, end_bytes: 5 }) }))).toBe(
      'cell.peak_bytes is below start_bytes or end_bytes'
    );
    expect(
      rejection(
        message('history', {
          status: statusPayload(),
          cells: [cellPayload(), { ...cellPayload(), seq: 0 }],
          running: null
        })
      )
    ).toBe('history.cells[1].seq must be >= 1');
  });

  it('quotes at most 200 characters of what it refuses', () => {
    const error = rejection(message('x'.repeat(100_000)));
    expect(error.length).toBeLessThan(300);
    expect(error).toMatch(/…\[truncated\]$/);
  });

  it('never throws, whatever it is given', () => {
    const cyclic: { [key: string]: unknown } = { protocol: 2, type: 'cell' };
    cyclic.cell = cyclic;
    const inputs: unknown[] = [undefined, 0, 'status', [], cyclic, { protocol: 2, type: { toString: null } }];
    for (const input of inputs) {
      expect(() => parseKernelMessage(input)).not.toThrow();
      expect(parseKernelMessage(input).ok).toBe(false);
    }
  });
});

describe('browserMessage', () => {
  it('builds requests the kernel accepts', () => {
    expect(browserMessage('sync')).toEqual({ protocol: PROTOCOL_VERSION, type: 'sync' });
    expect(browserMessage('clear')).toEqual({ protocol: 2, type: 'clear' });
    const requests = [
      browserMessage('sync'),
      browserMessage({ type: 'configure', mode: 'exact', top_n: 20 }),
      browserMessage({ type: 'cell_detail', seq: 7, limit: 200 }),
      browserMessage({ type: 'retained_by_cell' })
    ];
    for (const request of requests) {
      expect([request, checkBrowserMessage(request)]).toEqual([request, null]);
    }
    expect(checkBrowserMessage(browserMessage({ type: 'configure', top_n: 5000 }))).toBe(
      'configure.top_n must be <= 1000'
    );
  });
});

describe('generated code', () => {
  it('is what the schemas give (run node protocol/generate.js after changing them)', () => {
    expect(() =>
      execFileSync(process.execPath, [path.join(ROOT, 'protocol', 'generate.js'), '--check'], { stdio: 'pipe' })
    ).not.toThrow();
  });

  it('never compiles code at run time (strict Content-Security-Policy)', () => {
    const code = fs.readFileSync(path.join(__dirname, 'generated', 'validators.ts'), 'utf8');
    expect(code).not.toMatch(/new Function|\beval\(|\brequire\(/);
  });
});
