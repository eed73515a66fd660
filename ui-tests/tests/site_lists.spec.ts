/**
 * Issue 11, "Site lists people can work with", the drill-down's DOM size and the narrow layout:
 * the filter box, sortable columns, copying, "my code only", no jump when selecting text, the
 * retained-by-cell cut, "Clear history" asking first, and nothing overlapping at 250 px.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { Locator } from '@playwright/test';

import { badge, codeCells, openFixture, waitForKernelIdle } from './helpers';
import { failOnDialog, HEAP_UI, openDetailFromBadge, PLAIN_PYTHON } from './uiHelpers';

test.use({ autoGoto: true });

const cells = codeCells(HEAP_UI);
const importCell = cells.find(c => c.id === 'import')!;
const onesCell = cells.find(c => c.id === 'ones')!;
const tempCell = cells.find(c => c.id === 'temp')!;

const detail = (page: IJupyterLabPageFixture) => page.locator('#heapscope-panel-cell');
const peakList = (page: IJupyterLabPageFixture) => detail(page).locator('.jp-heapscope-SiteTable').first();
const peakRows = (page: IJupyterLabPageFixture) =>
  peakList(page).locator('.jp-heapscope-SiteList > .jp-heapscope-Site');

/** The id of the notebook's active cell. */
async function activeCellId(page: IJupyterLabPageFixture): Promise<string> {
  return page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.content.activeCell.model.id);
}

/** Make a cell of the current notebook the active one (without running it). */
async function activateCell(page: IJupyterLabPageFixture, index: number): Promise<void> {
  await page.evaluate(i => {
    (window as any).jupyterapp.shell.currentWidget.content.activeCellIndex = i;
  }, index);
}

/** The page box of an element. */
async function box(locator: Locator) {
  await expect(locator).toBeVisible(); // drawn on the next frame after the view changes
  // A view may redraw the element between the two reads (seen in a clean-clone run): read until it has a box.
  let b: Awaited<ReturnType<Locator['boundingBox']>> = null;
  await expect.poll(async () => (b = await locator.boundingBox())).not.toBeNull();
  return b!;
}

/** Whether two boxes overlap (by more than a rounding pixel). */
function overlaps(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x + a.width > b.x + 1 && b.x + b.width > a.x + 1 && a.y + a.height > b.y + 1 && b.y + b.height > a.y + 1;
}

test('an import cell’s drill-down stays small, filters, sorts and copies', async ({ page, tmpPath, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const dialogs = failOnDialog(page);
  await openFixture(page, tmpPath, HEAP_UI);
  await page.notebook.runCell(importCell.index);
  await expect(badge(page, importCell.id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  await openDetailFromBadge(page, importCell.id);
  await expect(peakRows(page).first()).toBeVisible();

  // Rows are drawn 50 at a time and stacks only when expanded: a few thousand nodes, not ~67,000.
  const nodes = await detail(page).evaluate(node => node.getElementsByTagName('*').length);
  expect(nodes).toBeLessThan(5000);
  await expect(detail(page).locator('.jp-heapscope-Frame')).toHaveCount(0);
  await peakRows(page).first().locator('.jp-heapscope-Toggle').click();
  await expect(detail(page).locator('.jp-heapscope-Frame').first()).toBeVisible();

  // Sort by blocks: the header says so and the rows follow, then the other way round.
  const header = (key: string) => peakList(page).locator(`[role="columnheader"][data-sort="${key}"]`);
  await expect(header('bytes')).toHaveAttribute('aria-sort', 'descending');
  await header('count').locator('button').click();
  await expect(header('count')).toHaveAttribute('aria-sort', 'descending');
  await expect(header('bytes')).toHaveAttribute('aria-sort', 'none');
  const counts = async () =>
    (await peakRows(page).locator('.jp-heapscope-Site-head .jp-heapscope-Site-count').allTextContents()).map(t =>
      parseInt(t.replace(/,/g, ''), 10)
    );
  let seen = await counts();
  expect(seen.length).toBeGreaterThan(1);
  expect(seen).toEqual([...seen].sort((a, b) => b - a));
  // From the keyboard: focus the header's button and press Enter.
  await header('count').locator('button').focus();
  await page.keyboard.press('Enter');
  await expect(header('count')).toHaveAttribute('aria-sort', 'ascending');
  seen = await counts();
  expect(seen).toEqual([...seen].sort((a, b) => a - b));

  // The filter box: rows whose file, function, place or source has the text.
  const filter = detail(page).locator('.jp-heapscope-SiteQuery-text');
  await filter.fill('importlib');
  await expect(peakRows(page).first()).toBeVisible();
  for (const text of await peakRows(page).locator('.jp-heapscope-Site-main').allTextContents()) {
    expect(text.toLowerCase()).toContain('importlib');
  }
  await filter.fill('no site is called like this');
  await expect(peakRows(page)).toHaveCount(0);
  await expect(peakList(page).locator('.jp-heapscope-Empty', { hasText: 'No site matches' })).toBeVisible();
  await filter.fill('');
  await expect(peakRows(page).first()).toBeVisible();

  // Copy the list as TSV and as Markdown, and one row.
  const clipboard = () => page.evaluate(() => navigator.clipboard.readText());
  await peakList(page).locator('.jp-heapscope-SiteTable-copy[data-format="tsv"]').click();
  await expect.poll(clipboard).toMatch(/^Bytes\tShare\tBlocks\tLocation\tFunction\tFile\tSource\n/);
  const tsv = (await clipboard()).trim().split('\n');
  expect(tsv.length).toBeGreaterThan(1);
  expect(tsv[1].split('\t')).toHaveLength(7);
  await peakList(page).locator('.jp-heapscope-SiteTable-copy[data-format="markdown"]').click();
  await expect.poll(clipboard).toContain('| Bytes | Share | Blocks | Location | Function | File | Source |');
  const firstRow = peakRows(page).first();
  await firstRow.hover();
  await firstRow.locator('.jp-heapscope-Site-copy').click();
  const location = (await firstRow.locator('.jp-heapscope-Site-location').first().textContent())!;
  await expect.poll(clipboard).toContain(location);
  expect((await clipboard()).trim().split('\n')).toHaveLength(1);
  expect(dialogs).toEqual([]);
});

test('my code only, and selecting a row’s text does not jump', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, HEAP_UI);
  await page.notebook.runCell(importCell.index);
  await page.notebook.runCell(onesCell.index);
  await expect(badge(page, onesCell.id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  await openDetailFromBadge(page, onesCell.id);

  // numpy's allocation counts at the cell line that called it; every row is the user's code.
  await detail(page).locator('.jp-heapscope-SiteQuery-mine input').check();
  await expect(peakRows(page).first()).toBeVisible();
  for (const text of await peakRows(page)
    .locator('.jp-heapscope-Site-head .jp-heapscope-Site-location')
    .allTextContents()) {
    expect(text).toMatch(/^cell \[\d+\] line \d+$/);
  }
  const line2 = peakRows(page).filter({ hasText: 'line 2' }).first();
  await expect(line2.locator('.jp-heapscope-Site-source')).toHaveText(/np\.ones\(10_000_000\)/);

  // Drag across the row's source text: the text is selected and nothing jumps.
  await activateCell(page, tempCell.index);
  const source = line2.locator('.jp-heapscope-Site-source');
  const b = await box(source);
  await page.mouse.move(b.x + 2, b.y + b.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + Math.min(b.width - 2, 120), b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
  expect(await page.evaluate(() => window.getSelection()?.toString() ?? '')).not.toBe('');
  await page.waitForTimeout(300);
  expect(await activeCellId(page)).toBe(tempCell.id);

  // A plain click on the row jumps to the cell line.
  await page.evaluate(() => window.getSelection()?.removeAllRanges());
  await line2.locator('.jp-heapscope-Site-where .jp-heapscope-Site-function').click();
  await expect.poll(() => activeCellId(page)).toBe(onesCell.id);

  // So does the place button, from the keyboard.
  await activateCell(page, tempCell.index);
  await line2.locator('button.jp-heapscope-Site-location').focus();
  await page.keyboard.press('Enter');
  await expect.poll(() => activeCellId(page)).toBe(onesCell.id);
});

test('Clear history asks first', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, HEAP_UI);
  await page.notebook.runCell(importCell.index);
  await expect(badge(page, importCell.id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  const status = page.locator('#heapscope-panel .jp-heapscope-Panel-status');
  await expect(status).toContainText('1 cell run');
  const clear = page.locator('#heapscope-panel .jp-heapscope-Panel-toolbar [data-command="heapscope:clear-history"]');

  await clear.click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Clear the heap history?');
  await dialog.locator('button', { hasText: 'Cancel' }).click();
  await expect(dialog).toHaveCount(0);
  await page.waitForTimeout(500);
  await expect(status).toContainText('1 cell run');

  await clear.click();
  await dialog.locator('button', { hasText: 'Clear' }).click();
  await expect(status).toContainText('Run a cell to see its heap.');
});

test('Retained by cell says when it is cut and shows all on request', async ({ page, tmpPath }) => {
  const count = 30;
  const notebook = {
    cells: Array.from({ length: count }, (_, i) => ({
      cell_type: 'code',
      execution_count: null,
      id: `keep${i}`,
      metadata: {},
      outputs: [],
      source: `keep_${i} = bytearray(${(i + 1) * 100_000})`
    })),
    metadata: {
      kernelspec: { name: 'heapscope', display_name: 'Python 3 (heapscope)', language: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  const name = 'many_cells.ipynb';
  await page.contents.uploadContent(JSON.stringify(notebook), 'text', `${tmpPath}/${name}`);
  await page.notebook.openByPath(`${tmpPath}/${name}`);
  await page.notebook.activate(name);
  await waitForKernelIdle(page);
  await page.notebook.run();
  await page.notebook.waitForRun();
  await expect(badge(page, `keep${count - 1}`)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="retained"]').click();
  const view = page.locator('#heapscope-panel-retained');
  const note = view.locator('.jp-heapscope-RetainedTable-cut');
  await expect(note).toHaveText(/^25 of (\d+) cells shown · show all$/);
  const total = parseInt(/of (\d+) cells/.exec((await note.textContent())!)![1], 10);
  expect(total).toBeGreaterThanOrEqual(count);
  await expect(view.locator('.jp-heapscope-Retained')).toHaveCount(25);
  await note.locator('button', { hasText: 'show all' }).click();
  await expect(view.locator('.jp-heapscope-Retained')).toHaveCount(total);
  await expect(note).toBeHidden();
});

test('at the default 250 px nothing overlaps and the switch button is not cut', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, HEAP_UI);
  await page.notebook.runCell(importCell.index);
  await expect(badge(page, importCell.id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  await page.sidebar.setWidth(250, 'right');
  const panel = page.locator('#heapscope-panel');
  await expect(panel.locator('.jp-heapscope-ProfilerMemory')).toHaveText(/profiler/);
  const panelBox = await box(panel);
  expect(panelBox.width).toBeLessThanOrEqual(260);

  const parts = [
    panel.locator('.jp-heapscope-Panel-header'),
    panel.locator('.jp-heapscope-Panel-toolbar'),
    panel.locator('.jp-heapscope-Panel-status'),
    panel.locator('.jp-heapscope-Panel-tabs')
  ];
  const boxes = [];
  for (const part of parts) {
    boxes.push(await box(part));
  }
  for (let i = 0; i < boxes.length; i++) {
    // Each part lies within the panel, and below the one before it.
    expect(boxes[i].x).toBeGreaterThanOrEqual(panelBox.x - 1);
    expect(boxes[i].x + boxes[i].width).toBeLessThanOrEqual(panelBox.x + panelBox.width + 1);
    for (let j = i + 1; j < boxes.length; j++) {
      expect(overlaps(boxes[i], boxes[j]), `${i} and ${j} overlap`).toBe(false);
    }
  }
  // The toolbar's items (export, clear, mode, profiler memory) stay inside it and apart.
  const toolbar = boxes[1];
  const items = panel.locator('.jp-heapscope-Panel-toolbar > .jp-Toolbar-item:visible');
  const itemBoxes = [];
  for (let i = 0; i < (await items.count()); i++) {
    const b = await items.nth(i).boundingBox();
    if (b && b.width > 0) {
      itemBoxes.push(b);
    }
  }
  for (const [i, b] of itemBoxes.entries()) {
    expect(b.y).toBeGreaterThanOrEqual(toolbar.y - 1);
    expect(b.y + b.height).toBeLessThanOrEqual(toolbar.y + toolbar.height + 1);
    for (const other of itemBoxes.slice(i + 1)) {
      expect(overlaps(b, other)).toBe(false);
    }
  }
  // The drill-down's filter bar and list header fit too.
  await openDetailFromBadge(page, importCell.id);
  for (const part of ['.jp-heapscope-SiteQuery', '.jp-heapscope-SiteTable-head']) {
    const b = await box(detail(page).locator(part).first());
    expect(b.x + b.width).toBeLessThanOrEqual(panelBox.x + panelBox.width + 1);
  }

  // A notebook on another kernel: the switch button wraps its label instead of cutting it.
  await openFixture(page, tmpPath, PLAIN_PYTHON);
  const button = panel.locator('.jp-heapscope-Panel-switch');
  await expect(button).toBeVisible();
  const fits = await button.evaluate(node => ({
    scrollWidth: node.scrollWidth,
    clientWidth: node.clientWidth,
    scrollHeight: node.scrollHeight,
    clientHeight: node.clientHeight,
    text: node.textContent
  }));
  expect(fits.text).toBe('Switch to Python 3 (heapscope)');
  // Neither cut at the side nor a second line hidden under a fixed height.
  expect(fits.scrollWidth).toBeLessThanOrEqual(fits.clientWidth + 1);
  expect(fits.scrollHeight).toBeLessThanOrEqual(fits.clientHeight + 1);
  const b = await box(button);
  expect(b.x + b.width).toBeLessThanOrEqual(panelBox.x + panelBox.width + 1);
  expect(overlaps(b, await box(panel.locator('.jp-heapscope-Panel-status')))).toBe(false);
});
