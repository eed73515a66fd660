/**
 * Build the exported report's page template, report_assets/report.template, in the Python package
 * (kernel-launcher/heapscope/report_assets/): `heapscope report --html` reads it there
 * (heapscope/html_report.py) and the extension imports it raw (report/assets.ts), so both write
 * the same page.
 *
 * The viewer (lib/report/viewer-entry.js, compiled by tsc) is bundled with rspack into one
 * classic script; the page is assembled by lib/report/page.js (bundled for Node in the same run),
 * with plotly's basic bundle and the stylesheet (stylesheet.ts: the panel's shared style files and
 * report.css) inlined and their hashes in the Content-Security-Policy.
 *
 * Usage (after tsc): node lab-extension/report/build-assets.js [--dev]
 */
'use strict';

const { createHash } = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { rspack } = require('@rspack/core');

const ROOT = path.resolve(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib', 'report');
const OUT = path.join(ROOT, 'kernel-launcher', 'heapscope', 'report_assets', 'report.template');
const dev = process.argv.includes('--dev');

/** Bundle the viewer (a browser script) and the page assembler (a Node module). */
function bundle(outDir) {
  const common = { mode: dev ? 'development' : 'production', devtool: false, performance: { hints: false } };
  const configs = [
    {
      ...common,
      name: 'viewer',
      target: ['web', 'es2018'],
      entry: path.join(LIB, 'viewer-entry.js'),
      output: { path: outDir, filename: 'viewer.js', iife: true },
      optimization: { splitChunks: false, runtimeChunk: false }
    },
    {
      ...common,
      name: 'page',
      target: 'node',
      entry: path.join(LIB, 'page.js'),
      output: { path: outDir, filename: 'page.js', library: { type: 'commonjs2' } },
      optimization: { minimize: false }
    }
  ];
  return new Promise((resolve, reject) => {
    rspack(configs, (error, stats) => {
      if (error || stats.hasErrors()) {
        reject(error || new Error(stats.toString('errors-only')));
      } else {
        resolve();
      }
    });
  });
}

async function main() {
  for (const file of ['viewer-entry.js', 'page.js']) {
    if (!fs.existsSync(path.join(LIB, file))) {
      throw new Error(`lib/report/${file} is missing: run tsc first`);
    }
  }
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'heapscope-report-'));
  try {
    await bundle(outDir);
    const { buildReportTemplate } = require(path.join(outDir, 'page.js'));
    const { reportStylesheet } = require(path.join(LIB, 'stylesheet.js'));
    const parts = {
      version: require(path.join(ROOT, 'package.json')).version,
      // The viewer draws scatter traces only: plotly's basic bundle (scatter, bar, pie) is a
      // quarter of the full one.
      plotly: fs.readFileSync(require.resolve('plotly.js-basic-dist-min/plotly-basic.min.js'), 'utf-8'),
      viewer: fs.readFileSync(path.join(outDir, 'viewer.js'), 'utf-8').trim(),
      css: reportStylesheet(
        file => fs.readFileSync(path.join(ROOT, 'style', file), 'utf-8'),
        fs.readFileSync(path.join(__dirname, 'report.css'), 'utf-8')
      )
    };
    const sha256 = text => createHash('sha256').update(text, 'utf8').digest('base64');
    const page = buildReportTemplate(parts, sha256);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, page, 'utf-8');
    console.log(
      `report template: ${path.relative(ROOT, OUT)} (${(page.length / 1e6).toFixed(2)} MB, ` +
        `viewer ${(parts.viewer.length / 1e3).toFixed(1)} kB)`
    );
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
