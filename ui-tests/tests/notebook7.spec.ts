/**
 * Issue 4, "works in JupyterLab 4 and in Notebook 7 (same prebuilt extension)": the Galata server
 * also serves Notebook 7 (`notebook` in requirements-dev.txt). Notebook 7 has no JupyterLab shell
 * (`ILabShell`); the file browser (/tree) must load with the extension, and a notebook page
 * (/notebooks/…) must show a badge under every executed code cell and the Heap panel.
 *
 * Plain Playwright (galata's fixtures drive JupyterLab's /lab page only).
 */
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { codeCells, DEMO, parseBadge } from './helpers';

const cells = codeCells(DEMO);
const byteArrayCell = cells.find(c => c.source.includes('bytearray(200_000_000)'))!;
const bytesAdded = Number(/bytearray\(([\d_]+)\)/.exec(byteArrayCell.source)![1].replace(/_/g, ''));

test('Notebook 7: the tree loads, and the demo notebook gets badges and the Heap panel', async ({ page, request }) => {
  // Errors thrown by heapscope's code. (Notebook 7.6 itself throws "Cannot read properties of
  // undefined (reading 'schema')" from its shortcuts settings at start-up, with or without
  // heapscope: that one is not ours.)
  const errors: string[] = [];
  page.on('pageerror', error => {
    const text = `${error.message}\n${error.stack ?? ''}`;
    if (/heapscope/i.test(text)) {
      errors.push(text);
    }
  });
  page.on('console', message => {
    if (message.type() === 'error' && /heapscope/i.test(message.text())) {
      errors.push(message.text());
    }
  });
  const dir = `heapscope-nb7-${Date.now()}`;
  expect((await request.put(`/api/contents/${dir}`, { data: { type: 'directory' } })).ok()).toBe(true);
  const notebook = JSON.parse(fs.readFileSync(DEMO, 'utf-8'));
  const put = await request.put(`/api/contents/${dir}/${path.basename(DEMO)}`, {
    data: { type: 'notebook', format: 'json', content: notebook }
  });
  expect(put.ok()).toBe(true);

  // The file browser page: the extension loads there too (no notebook, no Lab shell).
  await page.goto(`/tree/${dir}`);
  await expect(page.locator('.jp-DirListing-item', { hasText: path.basename(DEMO) })).toBeVisible({ timeout: 60000 });
  expect(await page.evaluate(() => (window as any).jupyterapp.commands.hasCommand('heapscope:export-report'))).toBe(
    true
  );

  // The notebook page.
  await page.goto(`/notebooks/${dir}/${path.basename(DEMO)}`);
  // Notebook 7 sometimes asks which kernel to start although the notebook names one (several
  // Python kernelspecs are installed); the dialog preselects the notebook's, accept it.
  await expect
    .poll(
      async () => {
        const dialog = page.locator('.jp-Dialog');
        if (await dialog.isVisible()) {
          await dialog.locator('.jp-mod-accept').click();
        }
        return page.evaluate(() => {
          const widget = (window as any).jupyterapp.shell.currentWidget;
          return widget?.sessionContext?.session?.kernel?.name ?? null;
        });
      },
      { timeout: 90000 }
    )
    .toBe(notebook.metadata.kernelspec.name);
  await expect(page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')).toHaveCount(1, { timeout: 90000 });
  await page.evaluate(() => {
    void (window as any).jupyterapp.commands.execute('notebook:run-all-cells');
  });
  for (const cell of cells) {
    await expect(page.locator(`.jp-heapscope-badge[data-cell-id="${cell.id}"]`)).toHaveCount(1, { timeout: 90000 });
  }
  const added = parseBadge(await page.locator(`.jp-heapscope-badge[data-cell-id="${byteArrayCell.id}"]`).innerText());
  expect(added.net).toBeGreaterThan(0.97 * bytesAdded);
  expect(added.net).toBeLessThan(1.03 * bytesAdded);

  // The Heap panel opens in Notebook 7's right sidebar and draws the chart.
  await page.evaluate(() => (window as any).jupyterapp.commands.execute('heapscope:open-panel'));
  await expect(page.locator('#heapscope-panel .jp-heapscope-Chart .js-plotly-plot .main-svg').first()).toBeVisible({
    timeout: 30000
  });
  expect(errors).toEqual([]);
});
