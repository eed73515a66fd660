/**
 * Who holds it (issue 13), browser side, on real kernels and real numpy arrays: the command and the
 * Holders view list `a` with its size, sort by every column from the keyboard, say shared memory in
 * words, jump to the cell that bound a name and to a site's line, and release `Out[n]` and the last
 * traceback only after asking, after which the memory is gone from the kernel's heap. A notebook on a
 * plain kernel gets one clear line. Screenshots in light and dark at 250 and 800 px when
 * HEAPSCOPE_SCREENSHOTS names a folder.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import * as path from 'path';

import { badge, eachWidthAndTheme, notebookFile, openFixture } from './helpers';
import { PLAIN_PYTHON, readTextFile } from './uiHelpers';

test.use({ autoGoto: true, viewport: { width: 1400, height: 900 } });

const MB = 1e6;
const OUT = process.env.HEAPSCOPE_SCREENSHOTS;

const SOURCES = [
  'import numpy as np\na = np.ones(10_000_000)  # 80 MB',
  'base = np.ones(6_000_000)  # 48 MB\nview = base[::2]',
  'np.ones(12_500_000)  # 100 MB, kept as Out[3]',
  'def fail():\n    big = np.ones(18_750_000)  # 150 MB, kept by the traceback\n    raise ValueError("boom")\nfail()'
];

const VIEW = '#heapscope-panel-holders';

/** Parse `80 MB`, `1.2 GB`, `512 B` (decimal units) into bytes. */
function bytes(text: string): number {
  const m = /([\d.]+)\s*(B|kB|MB|GB|TB)/.exec(text);
  if (!m) {
    throw new Error(`no size in ${JSON.stringify(text)}`);
  }
  return parseFloat(m[1]) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2] as 'B']!;
}

/** The names of the Holders view's rows, in order. */
async function rowNames(page: IJupyterLabPageFixture): Promise<string[]> {
  return page
    .locator(`${VIEW} .jp-heapscope-Holder`)
    .evaluateAll(rows => rows.map(r => (r as HTMLElement).dataset.name!));
}

function row(page: IJupyterLabPageFixture, name: string) {
  return page.locator(`${VIEW} .jp-heapscope-Holder[data-name="${name}"]`);
}

/** The active cell of the current notebook and its cursor's line (from 0). */
async function activeCell(page: IJupyterLabPageFixture): Promise<{ id: string; line: number }> {
  return page.evaluate(() => {
    const nb = (window as any).jupyterapp.shell.currentWidget.content;
    return { id: nb.activeCell.model.id, line: nb.activeCell.editor.getCursorPosition().line };
  });
}

/** The holders whose row has two cells drawn over each other (the sidebar's width decides the layout). */
async function overlappingRows(page: IJupyterLabPageFixture): Promise<string[]> {
  await page.waitForTimeout(300);
  return page.locator(`${VIEW} .jp-heapscope-Holder-row`).evaluateAll(rows =>
    rows.flatMap(r => {
      const boxes = Array.from(r.children)
        .map(c => c.getBoundingClientRect())
        .filter(b => b.width > 0 && b.height > 0);
      const out: string[] = [];
      boxes.forEach((x, i) =>
        boxes.slice(i + 1).forEach(y => {
          if (x.left < y.right - 1 && y.left < x.right - 1 && x.top < y.bottom - 1 && y.top < x.bottom - 1) {
            out.push((r.parentElement as HTMLElement).dataset.name!);
          }
        })
      );
      return out;
    })
  );
}

/** Run every cell (the last one raises on purpose) and wait for its badge. */
async function runAll(page: IJupyterLabPageFixture, tmpPath: string, name: string, sources: string[]): Promise<void> {
  await openFixture(page, tmpPath, notebookFile(name, sources));
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, `c${sources.length - 1}`)).toHaveCount(1);
}

/** Find who holds memory from the command palette, and wait for the list. */
async function findHolders(page: IJupyterLabPageFixture): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  const input = page.locator('.lm-CommandPalette-input');
  await input.fill('find who holds memory');
  await page.locator('.lm-CommandPalette-item', { hasText: 'Heap: Find Who Holds Memory' }).first().click();
  await expect(page.locator(VIEW)).toBeVisible();
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`)).toHaveText('Scan again', { timeout: 60000 });
}

test('the Holders view lists the names with their sizes, sorts, shares, jumps and releases after asking', async ({
  page,
  tmpPath
}) => {
  await runAll(page, tmpPath, 'holders.ipynb', SOURCES);
  await page.sidebar.openTab('heapscope-panel');
  await page.sidebar.setWidth(800, 'right');
  await findHolders(page);
  const tab = page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="holders"]');
  await expect(tab).toHaveAttribute('aria-selected', 'true');

  // `a` frees its 80 MB; the view and its base share 48 MB, said in words; Out[3] and the
  // traceback hold 100 MB and 150 MB; the rest of the heap is last.
  const aBytes = bytes(await row(page, 'a').locator('[data-column="bytes"]').innerText());
  expect(aBytes).toBeGreaterThanOrEqual(79.5 * MB);
  expect(aBytes).toBeLessThanOrEqual(81 * MB);
  await expect(row(page, 'a').locator('[data-column="kind"]')).toHaveText('variable');
  await expect(row(page, 'a').locator('[data-column="type"]')).toHaveText('numpy.ndarray');
  expect(bytes(await row(page, 'view').locator('[data-column="reachable"]').innerText())).toBeGreaterThan(47 * MB);
  expect(bytes(await row(page, 'view').locator('[data-column="bytes"]').innerText())).toBeLessThan(1 * MB);
  await expect(page.locator(`${VIEW} .jp-heapscope-Holders-shared`)).toContainText(
    /base and view share 48(\.\d)? MB; deleting both frees it\./
  );
  expect(bytes(await row(page, 'Out[3]').locator('[data-column="bytes"]').innerText())).toBeGreaterThan(99 * MB);
  expect(bytes(await row(page, 'last traceback').locator('[data-column="bytes"]').innerText())).toBeGreaterThan(
    149 * MB
  );
  const initial = await rowNames(page);
  expect(initial.slice(0, 3)).toEqual(['last traceback', 'Out[3]', 'a']);
  expect(initial[initial.length - 1]).toBe('not reachable from your names');
  const header = (key: string) => page.locator(`${VIEW} [role="columnheader"][data-sort="${key}"]`);
  await expect(header('bytes')).toHaveAttribute('aria-sort', 'descending');
  // Nothing drawn over anything, wide (one line a holder) and in the default 250 px sidebar.
  expect(await overlappingRows(page)).toEqual([]);
  await page.sidebar.setWidth(250, 'right');
  expect(await overlappingRows(page)).toEqual([]);
  await page.sidebar.setWidth(800, 'right');

  // Sorting from the keyboard: Name (A to Z), again (Z to A), then Frees ascending.
  await header('name').locator('button').focus();
  await page.keyboard.press('Enter');
  await expect(header('name')).toHaveAttribute('aria-sort', 'ascending');
  await expect(header('bytes')).toHaveAttribute('aria-sort', 'none');
  const byName = (await rowNames(page)).slice(0, -1);
  expect(byName).toEqual([...byName].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));
  await expect(header('name').locator('button')).toBeFocused();
  await page.keyboard.press('Space');
  await expect(header('name')).toHaveAttribute('aria-sort', 'descending');
  expect((await rowNames(page)).slice(0, -1)).toEqual([...byName].reverse());
  await header('bytes').locator('button').click();
  await header('bytes').locator('button').click();
  await expect(header('bytes')).toHaveAttribute('aria-sort', 'ascending');
  const ascending = await rowNames(page);
  expect(ascending.indexOf('a')).toBeLessThan(ascending.indexOf('Out[3]'));
  expect(ascending.indexOf('Out[3]')).toBeLessThan(ascending.indexOf('last traceback'));
  await header('cell').locator('button').click();
  await expect(header('cell')).toHaveAttribute('aria-sort', 'ascending');
  expect((await rowNames(page))[0]).toBe('a');

  // Jump to the cell that bound `base` (cell c1, run [2]).
  await row(page, 'base').locator('.jp-heapscope-Holder-jump').click();
  await expect.poll(() => activeCell(page)).toEqual({ id: 'c1', line: 0 });
  // Expand `a`: its top site is cell [1] line 2, which jumps to that line.
  await row(page, 'a').locator('.jp-heapscope-Toggle').click();
  const site = row(page, 'a').locator('.jp-heapscope-Site-main', { hasText: 'line 2' }).first();
  await expect(site).toBeVisible();
  await expect(site.locator('.jp-heapscope-Site-source')).toHaveText(/np\.ones\(10_000_000\)/);
  await site.locator('.jp-heapscope-Site-location').click();
  await expect.poll(() => activeCell(page)).toEqual({ id: 'c0', line: 1 });

  // Release Out[3]: the dialog asks first; Cancel keeps it.
  await row(page, 'Out[3]').locator('.jp-heapscope-Holder-release').click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Release Out[3]?');
  await dialog.locator('.jp-Dialog-button', { hasText: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(row(page, 'Out[3]')).toHaveCount(1);
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-released`)).toBeHidden();

  await row(page, 'Out[3]').locator('.jp-heapscope-Holder-release').click();
  await expect(dialog).toContainText('frees about 100 MB');
  await dialog.locator('.jp-Dialog-button', { hasText: 'Release' }).click();
  // The kernel drops it; the fresh status says by how much the heap went down.
  const released = page.locator(`${VIEW} .jp-heapscope-HoldersView-released`);
  await expect(released).toHaveText(/^Released Out\[3\]: the heap went from .+ to .+\.$/, { timeout: 30000 });
  const [, before, after] = /from (.+) to (.+)\.$/.exec(await released.innerText())!;
  // (both rounded to three digits: 490 MB → 391 MB is a drop of 98.5 MB or more)
  expect(bytes(before) - bytes(after)).toBeGreaterThan(98 * MB);
  // The list is scanned again: Out[3] is gone, `a` is still there.
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`)).toHaveText('Scan again', { timeout: 60000 });
  await expect(row(page, 'Out[3]')).toHaveCount(0);
  await expect(row(page, 'a')).toHaveCount(1);
  // The badge of the cell that made Out[3] says it went, with what it freed in its tooltip.
  await expect(badge(page, 'c2')).toContainText('Out[3] released');
  expect(await badge(page, 'c2').getAttribute('title')).toMatch(
    /Out\[3\] was released from the Holders view: about 100(\.\d)? MB freed\./
  );
  await expect(badge(page, 'c0')).not.toContainText('released');
  // The timeline shows it going: the panel's "heap now" and the chart's "now" marker next to the
  // last run, from that run's end down to the heap after the release.
  await expect(page.locator('#heapscope-panel .jp-heapscope-Panel-status')).toContainText(`heap now ${after}`);
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
  const nowTrace = () =>
    page.evaluate(() => {
      const node = document.querySelector('#heapscope-panel .jp-heapscope-Chart .js-plotly-plot') as any;
      const trace = node?.data?.find((d: any) => d.name === 'now');
      return trace ? (trace.y as number[]) : null;
    });
  await expect.poll(async () => (await nowTrace())?.length ?? 0).toBe(2);
  const [endY, nowY] = (await nowTrace())!;
  // From the last run's end (not the status before the release): the agent's own work between
  // cells (the scans) moves the heap by a megabyte or two besides the 100 MB.
  expect(endY - nowY).toBeGreaterThan(95 * MB);
  expect(Math.abs(nowY - bytes(after))).toBeLessThan(0.01 * bytes(after) + MB);
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="holders"]').click();
  // …and in the kernel: Out has no 3, the 100 MB are not alive.
  await page.notebook.addCell('code', 'print(3 in Out, "_3" in globals())');
  await page.notebook.runCell(4);
  await expect(page.locator('.jp-Cell').nth(4).locator('.jp-OutputArea-output')).toHaveText('False False');

  // The last traceback goes the same way.
  await page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`).click();
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`)).toHaveText('Scan again', { timeout: 60000 });
  await row(page, 'last traceback').locator('.jp-heapscope-Holder-release').click();
  await expect(dialog).toContainText('Release the last traceback?');
  await dialog.locator('.jp-Dialog-button', { hasText: 'Release' }).click();
  await expect(released).toHaveText(/^Released last traceback: the heap went from .+ to .+\.$/, { timeout: 30000 });
  const [, tbBefore, tbAfter] = /from (.+) to (.+)\.$/.exec(await released.innerText())!;
  expect(bytes(tbBefore) - bytes(tbAfter)).toBeGreaterThan(148 * MB);
  await expect(row(page, 'last traceback')).toHaveCount(0, { timeout: 60000 });
  await expect(badge(page, 'c3')).toContainText('last traceback released');
  // Run again, the cell's badge is about the new run only.
  await page.notebook.runCell(2);
  await expect(badge(page, 'c2')).not.toContainText('released', { timeout: 30000 });
});

test('the exported report ends with who holds the memory, drawn as text in the page', async ({
  page,
  tmpPath,
  context
}) => {
  await runAll(page, tmpPath, 'holders_export.ipynb', SOURCES.slice(0, 3));
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('heapscope:export-report'));
  const base = `${tmpPath}/holders_export`;
  await expect.poll(() => page.contents.fileExists(`${base}.heap.html`), { timeout: 60000 }).toBe(true);
  const report = JSON.parse(await readTextFile(page, `${base}.heap.json`));
  const byName = Object.fromEntries(report.holders.holders.map((h: any) => [h.name, h]));
  expect(byName.a.bytes).toBeGreaterThan(79.5 * MB);
  expect(byName.a.cell_id).toBe('c0');
  expect(byName['Out[3]'].bytes).toBeGreaterThan(99 * MB);
  const html = await readTextFile(page, `${base}.heap.html`);

  const reader = await context.newPage();
  const requests: string[] = [];
  reader.on('request', request => requests.push(request.url()));
  await reader.setContent(html, { waitUntil: 'load' });
  const section = reader.locator('#hs-holders');
  await expect(section.locator('h2')).toHaveText('Who holds the memory at the end');
  await expect(section.locator('.jp-heapscope-Holders-shared')).toContainText('base and view share');
  const names = await section
    .locator('.jp-heapscope-Holder')
    .evaluateAll(rows => rows.map(r => (r as HTMLElement).dataset.name));
  expect(names.slice(0, 2)).toEqual(['Out[3]', 'a']);
  expect(names[names.length - 1]).toBe('not reachable from your names');
  // Sites closed until a row opens; no release in a report.
  const a = section.locator('.jp-heapscope-Holder[data-name="a"]');
  await expect(a.locator('.jp-heapscope-Site')).toHaveCount(0);
  await expect(section.locator('.jp-heapscope-Holder-release')).toHaveCount(0);
  await a.locator('.jp-heapscope-Toggle').click();
  await expect(a.locator('.jp-heapscope-Site-main', { hasText: 'line 2' }).first()).toBeVisible();
  // The Cell button opens that cell's section of the report.
  await a.locator('.jp-heapscope-Holder-jump').click();
  await expect(reader.locator('#hs-cell-0')).toHaveAttribute('open', '');
  await section.locator('[data-sort="name"] button').click();
  await expect(section.locator('[data-sort="name"]')).toHaveAttribute('aria-sort', 'ascending');
  expect(requests.filter(url => !url.startsWith('data:') && url !== 'about:blank')).toEqual([]);
  await reader.close();
});

test('a scan while a cell runs says why there is no list', async ({ page, tmpPath }) => {
  await runAll(page, tmpPath, 'holders_busy.ipynb', ['x = 1']);
  await page.notebook.setCell(0, 'code', 'import time\ntime.sleep(8)');
  await page.sidebar.openTab('heapscope-panel');
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="holders"]').click();
  const running = page.notebook.runCell(0);
  await expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="busy"]')).toHaveCount(1);
  await page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`).click();
  const status = page.locator(`${VIEW} .jp-heapscope-HoldersView-status`);
  await expect(status).toHaveText('No holders list: a cell is running: ask again when it has finished');
  await expect(status).toHaveClass(/jp-mod-warning/);
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`)).toHaveText('Try again');
  // Once the cell has finished, the same button gets the list.
  await running;
  await page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`).click();
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-scan`)).toHaveText('Scan again', { timeout: 60000 });
  await expect(row(page, 'x')).toHaveCount(1);
});

test('a notebook on a plain kernel gets one clear line, not silence', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, PLAIN_PYTHON);
  await page.sidebar.openTab('heapscope-panel');
  await page.keyboard.press('Control+Shift+C');
  await page.locator('.lm-CommandPalette-input').fill('find who holds memory');
  await page.locator('.lm-CommandPalette-item', { hasText: 'Heap: Find Who Holds Memory' }).first().click();
  await expect(page.locator('.Toastify__toast').filter({ hasText: 'does not run heapscope' })).toBeVisible();
  await expect(page.locator('#heapscope-panel .jp-heapscope-Panel-status')).toContainText(
    'does not run the heapscope agent'
  );
});

test('screenshots of the Holders view in light and dark at 250 and 800 px', async ({ page, tmpPath }) => {
  test.skip(!OUT, 'set HEAPSCOPE_SCREENSHOTS to a folder to take the screenshots');
  await runAll(page, tmpPath, 'holders_shots.ipynb', SOURCES);
  await page.sidebar.openTab('heapscope-panel');
  await findHolders(page);
  await row(page, 'a').locator('.jp-heapscope-Toggle').click();
  await expect(row(page, 'a').locator('.jp-heapscope-Site').first()).toBeVisible();
  const panel = page.locator('#heapscope-panel');
  await eachWidthAndTheme(page, [250, 800], async (theme, width) => {
    await page.waitForTimeout(600);
    await panel.screenshot({ path: path.join(OUT!, `holders-${theme}-${width}.png`) });
  });
  await page.sidebar.setWidth(250, 'right');
  expect(await overlappingRows(page)).toEqual([]);
  // The timeline after releasing Out[3]: the "now" marker next to the last run.
  await row(page, 'Out[3]').locator('.jp-heapscope-Holder-release').click();
  await page.locator('.jp-Dialog .jp-Dialog-button', { hasText: 'Release' }).click();
  await expect(page.locator(`${VIEW} .jp-heapscope-HoldersView-released`)).toHaveText(/the heap went from/, {
    timeout: 30000
  });
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="timeline"]').click();
  await eachWidthAndTheme(page, [250, 800], async (theme, width) => {
    await page.waitForTimeout(800);
    await panel.screenshot({ path: path.join(OUT!, `holders-now-${theme}-${width}.png`) });
  });
});
