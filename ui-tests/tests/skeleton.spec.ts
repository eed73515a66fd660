/**
 * Issue 2 end to end: the demo notebook under the heapscope kernel gets one badge per executed code
 * cell with plausible figures, the Heap panel plots one entry per cell, and both keep working for
 * new executions after a page reload. (Kernel restarts are covered by tests/ through jupyter_client:
 * in headless Chromium, JupyterLab 4.6 with ipykernel 7 leaves even a plain python3 kernel's
 * executions queued after a scripted restart.)
 */
import { expect, test } from '@jupyterlab/galata';
import { badge, codeCells, DEMO, openFixture, parseBadge, saveAndReload } from './helpers';

test.use({ autoGoto: true });

const cells = codeCells(DEMO);
const byteArrayCell = cells.find(c => c.source.includes('bytearray(200_000_000)'))!;
const delCell = cells.find(c => c.source.startsWith('del x'))!;

test('demo notebook: a badge on every code cell and a plot in the Heap panel', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, DEMO);
  await expect(page.getByRole('button', { name: 'Python 3 (heapscope)', exact: true })).toBeVisible();

  await page.notebook.run();
  await page.notebook.waitForRun();

  for (const cell of cells) {
    await expect(badge(page, cell.id)).toHaveCount(1);
  }
  await expect(page.locator('.jp-heapscope-badge')).toHaveCount(cells.length);

  const added = parseBadge(await badge(page, byteArrayCell.id).innerText());
  expect(added.net).toBeGreaterThan(195e6);
  expect(added.net).toBeLessThan(205e6);
  expect(added.peak).toBeGreaterThan(195e6);
  const freed = parseBadge(await badge(page, delCell.id).innerText());
  expect(freed.net).toBeLessThan(-195e6);
  expect(freed.net).toBeGreaterThan(-205e6);

  await page.sidebar.openTab('heapscope-panel');
  const chart = page.locator('#heapscope-panel .jp-heapscope-Chart');
  await expect(chart.locator('.js-plotly-plot .main-svg').first()).toBeVisible();
  // One point per executed cell on the plotted series.
  await expect(chart.locator('.js-plotly-plot .scatterlayer .trace').first().locator('.point')).toHaveCount(
    cells.length
  );
});

test('badges and panel keep working after a page reload', async ({ page, tmpPath }) => {
  const name = await openFixture(page, tmpPath, DEMO);
  await page.notebook.runCell(byteArrayCell.index);
  await expect(badge(page, byteArrayCell.id)).toHaveCount(1);

  // The restored workspace opens the notebook, not the Launcher galata waits for by default.
  await saveAndReload(page, name);
  // Nothing lost: the badge of the cell run before the reload comes back from the kernel's history.
  await expect(badge(page, byteArrayCell.id)).toHaveCount(1);
  expect(parseBadge(await badge(page, byteArrayCell.id).innerText()).net).toBeGreaterThan(195e6);
  await page.notebook.runCell(delCell.index);
  await expect(badge(page, delCell.id)).toHaveCount(1);
  expect(parseBadge(await badge(page, delCell.id).innerText()).net).toBeLessThan(-195e6);

  await page.sidebar.openTab('heapscope-panel');
  await expect(page.locator('#heapscope-panel .jp-heapscope-Chart .js-plotly-plot')).toBeVisible();
});
