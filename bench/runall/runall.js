/**
 * Run All benchmark of the Heap panel (issue 11, "Speed"): not a test, it prints ratios.
 *
 * Drives a JupyterLab started by bench/runall.sh (its URL and root folder are passed in) in
 * /usr/bin/chromium with playwright-core from ui-tests/node_modules, and measures:
 *  - Run All of an N-cell notebook of small cells on the stock python3 kernel, on heapscope with
 *    the Heap panel closed (right sidebar collapsed) and with the panel open: wall time (from the
 *    command until the last cell has its execution count and the kernel is idle), long tasks
 *    (PerformanceObserver 'longtask') and the longest one;
 *  - opening the Heap panel on a session of M finished runs (until the chart is drawn and painted);
 *  - a badge click until the drill-down shows the kernel's detail answer (an import cell and a
 *    small cell), with the number of DOM nodes of the detail view.
 *
 * Usage (see bench/runall.sh): node bench/runall/runall.js --url URL --root DIR [--cells 300]
 *   [--open-cells 500] [--rounds 1] [--only stock,closed,open,panel,badge]
 */
'use strict';

const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const UI_TESTS = path.resolve(HERE, '..', '..', 'ui-tests');
const { chromium } = require(path.join(UI_TESTS, 'node_modules', 'playwright-core'));

function parseArgs(argv) {
  const args = { cells: 300, openCells: 500, rounds: 1, only: null, url: null, root: null, json: null, profile: null };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    switch (key) {
      case '--url':
        args.url = value.replace(/\/$/, '');
        i++;
        break;
      case '--root':
        args.root = value;
        i++;
        break;
      case '--cells':
        args.cells = parseInt(value, 10);
        i++;
        break;
      case '--open-cells':
        args.openCells = parseInt(value, 10);
        i++;
        break;
      case '--rounds':
        args.rounds = parseInt(value, 10);
        i++;
        break;
      case '--only':
        args.only = new Set(value.split(','));
        i++;
        break;
      case '--profile':
        args.profile = value;
        i++;
        break;
      case '--json':
        args.json = value;
        i++;
        break;
      default:
        throw new Error(`unknown argument ${key}`);
    }
  }
  if (!args.url || !args.root) {
    throw new Error('--url and --root are required (run bench/runall.sh)');
  }
  return args;
}

/** A notebook of `n` small code cells; the first imports numpy (a drill-down with many sites). */
function notebook(n, kernel) {
  const cells = [];
  for (let i = 0; i < n; i++) {
    const source =
      i === 0 ? 'import numpy as np\nlen(np.__version__)' : `# cell ${i}\nv${i} = list(range(${i % 100}))\nlen(v${i})`;
    cells.push({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source
    });
  }
  const display = kernel === 'python3' ? 'Python 3 (ipykernel)' : 'Python 3 (heapscope)';
  return {
    cells,
    metadata: {
      kernelspec: { name: kernel, display_name: display, language: 'python' },
      language_info: { name: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
}

/** Watch long tasks from the start of every page. */
function initScript() {
  window.__longtasks = [];
  try {
    new PerformanceObserver(list => {
      for (const entry of list.getEntries()) {
        window.__longtasks.push([entry.startTime, entry.duration]);
      }
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    // no long task API
  }
}

async function openNotebook(browser, args, name, tag) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.addInitScript(initScript);
  const page = await context.newPage();
  await page.goto(`${args.url}/lab/workspaces/bench-${tag}-${Date.now()}/tree/${name}?reset`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell, null, { timeout: 120000 });
  // The notebook is current and its kernel is idle.
  await page.waitForFunction(
    nb => {
      const app = window.jupyterapp;
      const widget = app.shell.currentWidget;
      const ctx = widget && widget.sessionContext;
      return (
        widget &&
        widget.context &&
        widget.context.path === nb &&
        widget.content.widgets.length > 0 &&
        ctx &&
        ctx.session &&
        ctx.session.kernel &&
        ctx.session.kernel.status === 'idle'
      );
    },
    name,
    { timeout: 120000, polling: 200 }
  );
  // Let the heapscope comm open and the first history arrive.
  await page.waitForTimeout(1500);
  return { context, page };
}

/** Collapse the right sidebar (panel closed) or show the Heap panel (panel open). */
async function setPanel(page, open) {
  await page.evaluate(open => {
    const shell = window.jupyterapp.shell;
    if (open) {
      shell.activateById('heapscope-panel');
    } else {
      shell.collapseRight();
    }
  }, open);
  await page.waitForTimeout(500);
}

/** Run All; resolves with the wall time and the long tasks of the run. */
async function runAll(page) {
  return page.evaluate(async () => {
    const app = window.jupyterapp;
    const widget = app.shell.currentWidget;
    const model = widget.content.model;
    const last = model.cells.get(model.cells.length - 1);
    const kernel = widget.sessionContext.session.kernel;
    const t0 = performance.now();
    const seen = window.__longtasks.length;
    await app.commands.execute('notebook:run-all-cells');
    await new Promise(resolve => {
      const check = () => {
        if (last.executionCount !== null && kernel.status === 'idle') {
          resolve();
        } else {
          setTimeout(check, 20);
        }
      };
      check();
    });
    const t1 = performance.now();
    // Work the last messages still cause (badges, chart) counts too.
    await new Promise(resolve => setTimeout(resolve, 1000));
    const tasks = window.__longtasks.slice(seen).filter(([start]) => start >= t0);
    return {
      wall: (t1 - t0) / 1000,
      longTasks: tasks.length,
      longest: tasks.reduce((m, [, d]) => Math.max(m, d), 0)
    };
  });
}

async function shutdown(page, context) {
  try {
    await page.evaluate(() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown());
  } catch (e) {
    // already gone
  }
  await context.close();
}

async function measureRun(browser, args, name, open, tag) {
  const { context, page } = await openNotebook(browser, args, name, tag);
  await setPanel(page, open);
  let cdp = null;
  if (args.profile && args.profile.split(',').includes(tag)) {
    cdp = await context.newCDPSession(page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
    await cdp.send('Profiler.start');
  }
  const result = await runAll(page);
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    printProfile(profile, tag);
  }
  await shutdown(page, context);
  return result;
}

/** The functions with the most self time in a CPU profile (stderr). */
function printProfile(profile, tag) {
  const self = new Map();
  const byId = new Map(profile.nodes.map(n => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber}`;
    const ms = (dt[i] || 0) / 1000;
    total += ms;
    self.set(key, (self.get(key) || 0) + ms);
  });
  // Time under heapscope's own code (the labextension's chunks), by its outermost function.
  const parent = new Map();
  for (const n of profile.nodes) {
    for (const c of n.children || []) {
      parent.set(c, n.id);
    }
  }
  const ours = url => url.includes('/extensions/heapscope/');
  const entry = new Map();
  const leaves = new Map(); // self time of the functions that run under heapscope's code (any code)
  const inclusive = new Map(); // time of each function (any code) while under heapscope's code
  const name = f =>
    `${f.functionName || '(anonymous)'} ${f.url.split('/').pop().split('?')[0]}:${f.lineNumber}:${f.columnNumber}`;
  let inside = 0;
  profile.samples.forEach((id, i) => {
    let outer = null;
    const stack = []; // leaf first
    let under = 0; // how many frames, leaf first, run under the outermost heapscope frame
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      stack.push(name(f));
      if (ours(f.url)) {
        outer = name(f);
        under = stack.length;
      }
    }
    const seen = new Set(stack.slice(0, under));
    if (outer) {
      const ms = (dt[i] || 0) / 1000;
      for (const key of seen) {
        inclusive.set(key, (inclusive.get(key) || 0) + ms);
      }
      inside += ms;
      entry.set(outer, (entry.get(outer) || 0) + ms);
      const f = byId.get(id).callFrame;
      const leaf = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop().split('?')[0]}:${f.lineNumber}:${f.columnNumber}`;
      leaves.set(leaf, (leaves.get(leaf) || 0) + ms);
    }
  });
  console.error(`profile of ${tag}: ${inside.toFixed(0)} ms under heapscope code, by entry point:`);
  for (const [key, ms] of Array.from(entry.entries())
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)) {
    console.error(`  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  }
  console.error(`profile of ${tag}: under heapscope code, top inclusive time:`);
  for (const [key, ms] of Array.from(inclusive.entries())
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)) {
    console.error(`  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  }
  console.error(`profile of ${tag}: under heapscope code, top self time:`);
  for (const [key, ms] of Array.from(leaves.entries())
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)) {
    console.error(`  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  }
  const top = Array.from(self.entries())
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30);
  console.error(`profile of ${tag}: ${total.toFixed(0)} ms sampled; top self time:`);
  for (const [key, ms] of top) {
    console.error(`  ${ms.toFixed(0).padStart(6)} ms  ${key}`);
  }
}

/** Opening the panel on a session of `openCells` finished runs; then badge clicks. */
async function measurePanelAndBadges(browser, args, name, want) {
  const { context, page } = await openNotebook(browser, args, name, 'open');
  await setPanel(page, false);
  const run = await runAll(page);
  await page.waitForTimeout(1500);
  const out = { setupRun: run };
  if (want('panel')) {
    let cdp = null;
    if (args.profile && args.profile.split(',').includes('panel')) {
      cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }
    out.panel = await page.evaluate(async () => {
      const seen = window.__longtasks.length;
      const t0 = performance.now();
      window.jupyterapp.shell.activateById('heapscope-panel');
      await new Promise(resolve => {
        const frame = () => {
          const svg = document.querySelector('#heapscope-panel .jp-heapscope-Chart .main-svg');
          if (svg) {
            // One more frame: painted.
            requestAnimationFrame(() => resolve());
          } else {
            requestAnimationFrame(frame);
          }
        };
        frame();
      });
      const ms = performance.now() - t0;
      await new Promise(resolve => setTimeout(resolve, 500));
      const tasks = window.__longtasks.slice(seen);
      return { ms, longest: tasks.reduce((m, [, d]) => Math.max(m, d), 0) };
    });
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      printProfile(profile, 'panel');
    }
  }
  if (want('badge')) {
    out.badges = {};
    for (const [label, cellId] of [
      ['import cell', 'cell-0'],
      ['small cell', 'cell-7']
    ]) {
      // Scroll the cell into view so its badge exists (windowed notebooks render on demand).
      await page.evaluate(id => {
        const nb = window.jupyterapp.shell.currentWidget.content;
        const index = nb.widgets.findIndex(c => c.model.id === id);
        nb.activeCellIndex = index;
        nb.scrollToItem ? nb.scrollToItem(index) : nb.widgets[index].node.scrollIntoView();
      }, cellId);
      await page.waitForSelector(`.jp-heapscope-badge[data-cell-id="${cellId}"]`, { timeout: 30000 });
      await page.waitForTimeout(500);
      out.badges[label] = await page.evaluate(async id => {
        const panel = window.jupyterapp.shell.widgets('right').next
          ? Array.from(window.jupyterapp.shell.widgets('right')).find(w => w.id === 'heapscope-panel')
          : null;
        const seen = window.__longtasks.length;
        const t0 = performance.now();
        document.querySelector(`.jp-heapscope-badge[data-cell-id="${id}"]`).click();
        await new Promise((resolve, reject) => {
          const limit = setTimeout(() => reject(new Error('no drill-down in 30 s')), 30000);
          const frame = () => {
            const detail = panel && panel._detail;
            const seq = detail ? detail.seq : null;
            const model = panel && panel.session && panel.session.model;
            const title = document.querySelector('#heapscope-panel-cell .jp-heapscope-Detail-title');
            if (title && seq !== null && model && model.hasDetail(seq)) {
              clearTimeout(limit);
              requestAnimationFrame(() => requestAnimationFrame(() => resolve()));
            } else {
              requestAnimationFrame(frame);
            }
          };
          frame();
        });
        const ms = performance.now() - t0;
        await new Promise(resolve => setTimeout(resolve, 500));
        const tasks = window.__longtasks.slice(seen);
        return {
          ms,
          longest: tasks.reduce((m, [, d]) => Math.max(m, d), 0),
          nodes: document.querySelectorAll('#heapscope-panel-cell *').length
        };
      }, cellId);
    }
  }
  await shutdown(page, context);
  return out;
}

function median(values) {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const want = what => !args.only || args.only.has(what);
  fs.writeFileSync(path.join(args.root, 'stock.ipynb'), JSON.stringify(notebook(args.cells, 'python3')));
  fs.writeFileSync(path.join(args.root, 'heap.ipynb'), JSON.stringify(notebook(args.cells, 'heapscope')));
  fs.writeFileSync(path.join(args.root, 'heap-open.ipynb'), JSON.stringify(notebook(args.openCells, 'heapscope')));
  const browser = await chromium.launch({
    executablePath: process.env.HEAPSCOPE_CHROMIUM || '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-lcd-text']
  });
  const results = { cells: args.cells, openCells: args.openCells, rounds: args.rounds, runs: {} };
  try {
    const configs = [
      ['stock', 'stock.ipynb', false],
      ['closed', 'heap.ipynb', false],
      ['open', 'heap.ipynb', true]
    ].filter(([tag]) => want(tag) || (tag === 'stock' && (want('closed') || want('open'))));
    for (let round = 0; round < args.rounds; round++) {
      for (const [tag, name, open] of configs) {
        const r = await measureRun(browser, args, name, open, tag);
        (results.runs[tag] = results.runs[tag] || []).push(r);
        console.error(
          `round ${round + 1} ${tag}: ${r.wall.toFixed(2)} s, ${r.longTasks} long tasks, longest ${r.longest.toFixed(0)} ms`
        );
      }
    }
    if (want('panel') || want('badge')) {
      results.session = await measurePanelAndBadges(browser, args, 'heap-open.ipynb', want);
    }
  } finally {
    await browser.close();
  }
  // The summary.
  const lines = [`Run All, ${args.cells} small cells, ${args.rounds} round(s) (median):`];
  const stock = results.runs.stock ? median(results.runs.stock.map(r => r.wall)) : null;
  for (const [tag, label] of [
    ['stock', 'stock python3      '],
    ['closed', 'heapscope, closed  '],
    ['open', 'heapscope, open    ']
  ]) {
    const runs = results.runs[tag];
    if (!runs) {
      continue;
    }
    const wall = median(runs.map(r => r.wall));
    const ratio = stock ? `${(wall / stock).toFixed(2)}x stock` : '';
    // Paired with the stock run of the same round: on a machine whose speed drifts between rounds, the
    // spread of these says more than the ratio of the medians.
    const paired = results.runs.stock && tag !== 'stock' ? runs.map((r, i) => r.wall / results.runs.stock[i].wall) : [];
    const pairedText = paired.length
      ? `; paired ${median(paired).toFixed(2)}x (${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)})`
      : '';
    lines.push(
      `  ${label} ${wall.toFixed(2)} s  ${ratio.padEnd(11)}  long tasks ${median(runs.map(r => r.longTasks))}, ` +
        `longest ${median(runs.map(r => r.longest)).toFixed(0)} ms (max ${Math.max(...runs.map(r => r.longest)).toFixed(0)})` +
        pairedText
    );
  }
  const session = results.session;
  if (session && session.panel) {
    lines.push(
      `Open the Heap panel on ${args.openCells} runs: ${session.panel.ms.toFixed(0)} ms ` +
        `(longest task ${session.panel.longest.toFixed(0)} ms)`
    );
  }
  if (session && session.badges) {
    for (const [label, b] of Object.entries(session.badges)) {
      lines.push(
        `Badge click -> drill-down, ${label}: ${b.ms.toFixed(0)} ms (longest task ${b.longest.toFixed(0)} ms, ` +
          `${b.nodes} DOM nodes in the Cell view)`
      );
    }
  }
  console.log(lines.join('\n'));
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify(results, null, 2));
  }
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
