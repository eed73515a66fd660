/**
 * The exported page's size: ≤ 1.5 MB for 12 cells and ≤ 5 MB for 300 cells, with the real
 * partial plotly bundle and stylesheet, a viewer stand-in as large as the viewer may grow
 * (48 kB; it is 31 kB), and reports shaped like real ones: import cells with 200 sites per list
 * and deep stacks drawn from a pool of 250 frames (a real
 * 12-cell notebook importing numpy and pandas had 209 distinct frames), 100 retained-by-cell entries.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import type { IFrame, IRetained, ISite } from '../comm/protocol';
import { cellPayload, statusPayload } from '../testing/fixtures';
import { renderReportHtml, templateVersion } from './html';
import { buildReportTemplate } from './page';
import { buildReport, IReport } from './report';
import { reportStylesheet } from './stylesheet';

const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('base64');
const ROOT = path.resolve(__dirname, '..', '..');
const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8')).version as string;

const template = buildReportTemplate(
  {
    version: VERSION,
    plotly: fs.readFileSync(require.resolve('plotly.js-basic-dist-min/plotly-basic.min.js'), 'utf-8'),
    viewer: `/* viewer stand-in */${'x'.repeat(48_000)}`,
    css: reportStylesheet(
      file => fs.readFileSync(path.join(ROOT, 'style', file), 'utf-8'),
      fs.readFileSync(path.join(__dirname, 'report.css'), 'utf-8')
    )
  },
  sha256
);

/** A deterministic pseudo-random sequence. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** A frame of a library file (site-packages or the import machinery). */
function libraryFrame(i: number): IFrame {
  const file =
    i % 3 === 0
      ? '<frozen importlib._bootstrap_external>'
      : `/home/user/project/.venv/lib/python3.11/site-packages/pandas/core/module_${i % 97}.py`;
  return { file, line: 10 + i, function: `function_${i}`, cell_id: null, cell_line: null, execution_count: null };
}

/** `count` sites of a cell run, each with a stack of library frames down to the cell line. */
function sites(count: number, run: number, next: () => number): ISite[] {
  const cellFrame: IFrame = {
    file: `/tmp/ipykernel_1/${run}.py`,
    line: 1,
    function: '<module>',
    cell_id: `cell-${run}`,
    cell_line: 1,
    execution_count: run
  };
  return Array.from({ length: count }, (_, i) => {
    const depth = 5 + Math.floor(next() * 30);
    const stack = Array.from({ length: depth }, () => libraryFrame(Math.floor(next() * 250)));
    stack.push(cellFrame);
    return {
      ...stack[0],
      cell_id: cellFrame.cell_id,
      cell_line: 1,
      execution_count: run,
      bytes: 1000 * (count - i),
      count: 3,
      stack
    };
  });
}

/** A report of `cells` runs; every 20th is an import cell with 200 sites per list. */
function report(cells: number): IReport {
  const next = random(cells);
  const runs = Array.from({ length: cells }, (_, i) => {
    const many = i % 20 === 1;
    return cellPayload({
      cell_id: `cell-${i}`,
      seq: i,
      execution_count: i,
      source: many ? 'import pandas as pd' : `data_${i} = [x * 2 for x in range(${i} * 1000)]`,
      top_at_peak: sites(many ? 200 : 10, i, next),
      retained: sites(many ? 200 : 5, i, next)
    });
  });
  const retained: IRetained[] = runs.slice(0, 100).map(run => ({
    cell_id: run.cell_id,
    execution_count: run.execution_count,
    seq: run.seq,
    bytes: 1000,
    count: 10,
    sites: sites(20, run.execution_count ?? 0, next)
  }));
  return buildReport({
    path: 'analysis.ipynb',
    kernelName: 'heapscope',
    status: statusPayload(),
    cells: runs,
    retainedByCell: retained,
    cellIds: runs.map(run => run.cell_id!),
    version: templateVersion(template) ?? 'unknown',
    now: 1764150000
  });
}

describe('the exported page’s size', () => {
  it('is at most 1.5 MB for 12 cells', () => {
    const html = renderReportHtml(template, report(12));
    expect(Buffer.byteLength(html, 'utf-8')).toBeLessThanOrEqual(1_500_000);
  });

  it('is at most 5 MB for 300 cells', () => {
    const html = renderReportHtml(template, report(300));
    expect(Buffer.byteLength(html, 'utf-8')).toBeLessThanOrEqual(5_000_000);
  });

  it('names the package’s version, in the template and in the report the export writes', () => {
    expect(template).toContain(`<meta name="generator" content="heapscope ${VERSION}">`);
    const data = report(1);
    expect(data.generator.version).toBe(VERSION);
    expect(VERSION).toMatch(/^\d+\.\d+/);
  });
});
