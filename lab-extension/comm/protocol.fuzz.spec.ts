import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { checkBrowserMessage, checkKernelMessage, checkReport } from './protocol';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The project's Python (the one the tests run with), else python3 from PATH.
 */
function python(): string {
  const venv = path.join(ROOT, '.venv', 'bin', 'python');
  return process.env.HEAPSCOPE_PYTHON ?? (fs.existsSync(venv) ? venv : 'python3');
}

describe('the two validators agree on generated messages (protocol/fuzz.py)', () => {
  it('gives the verdict of the Python side on 1500 mutated messages', () => {
    const output = execFileSync(python(), [path.join(ROOT, 'protocol', 'fuzz.py'), '1500'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024
    });
    const checks: { [kind: string]: (data: unknown) => string | null } = {
      kernel: checkKernelMessage,
      browser: checkBrowserMessage,
      report: checkReport
    };
    const lines = output.split('\n').filter(line => line.length > 0);
    expect(lines.length).toBe(1500);
    const disagreements: string[] = [];
    let valid = 0;
    for (const line of lines) {
      const tab = line.indexOf('\t');
      const meta = JSON.parse(line.slice(0, tab)) as { kind: string; problem: string | null };
      const data = JSON.parse(line.slice(tab + 1));
      const problem = checks[meta.kind](data);
      if ((problem === null) !== (meta.problem === null)) {
        disagreements.push(
          `${meta.kind}: Python ${JSON.stringify(meta.problem)}, TypeScript ${JSON.stringify(problem)}: ${line
            .slice(tab + 1)
            .slice(0, 300)}`
        );
      }
      if (problem !== null && problem.length > 500) {
        disagreements.push(`${meta.kind}: a ${problem.length}-character problem`);
      }
      valid += problem === null ? 1 : 0;
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    // Both verdicts occur often enough for the comparison to mean something.
    expect(valid).toBeGreaterThan(100);
    expect(lines.length - valid).toBeGreaterThan(500);
  });
});
