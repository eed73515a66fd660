/**
 * Issue 4, export: the HTML report holds every executed cell's figures, top lines and retained
 * sites although no drill-down was opened. The page is reloaded first, so the browser only has
 * the kernel's `history` (whose sites carry no stacks): stacks in the report prove that the
 * export fetched each cell's `cell_detail`.
 */
import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { badge, codeCells, DEMO, openFixture, saveAndReload } from './helpers';
import { failOnDialog, readTextFile } from './uiHelpers';

test.use({ autoGoto: true });

const cells = codeCells(DEMO);

test('the exported report has every cell’s figures, top line and retained sites', async ({
  page,
  tmpPath,
  context
}) => {
  const dialogs = failOnDialog(page);
  const name = await openFixture(page, tmpPath, DEMO);
  await page.notebook.run();
  await page.notebook.waitForRun();
  for (const cell of cells) {
    await expect(badge(page, cell.id)).toHaveCount(1);
  }
  await saveAndReload(page, name);
  const badges: Record<string, string> = {};
  for (const cell of cells) {
    await expect(badge(page, cell.id)).toHaveCount(1);
    badges[cell.id] = (await badge(page, cell.id).innerText()).trim();
  }

  await page.evaluate(() => (window as any).jupyterapp.commands.execute('heapscope:export-report'));
  const base = `${tmpPath}/${path.basename(name, '.ipynb')}`;
  await expect.poll(() => page.contents.fileExists(`${base}.heap.html`), { timeout: 60000 }).toBe(true);
  const html = await readTextFile(page, `${base}.heap.html`);
  const data = html.slice(html.indexOf('id="heapscope-report-data">'), html.indexOf('</script>'));
  // The page holds the report packed (each distinct frame once); the JSON file holds it as it is.
  const packed = JSON.parse(data.slice(data.indexOf('>') + 1));
  expect(Array.isArray(packed.heapscope_frames)).toBe(true);
  const report = JSON.parse(await readTextFile(page, `${base}.heap.json`));
  expect(report.generator.version).toMatch(/^\d+\.\d+/);
  expect(html).toContain(`<meta name="generator" content="heapscope ${report.generator.version}">`);

  // Every code cell is in the report with its lists; the lists' sites have stacks although the
  // browser's history had none, so they came from `cell_detail`.
  const records = cells.map(cell => report.cells.find((c: any) => c.cell_id === cell.id));
  for (const record of records) {
    expect(record).toBeTruthy();
    expect(Array.isArray(record.top_at_peak)).toBe(true);
    expect(Array.isArray(record.retained)).toBe(true);
  }
  const withSites = records.filter((r: any) => r.top_at_peak.length > 0);
  expect(withSites.length).toBeGreaterThan(0);
  expect(withSites.some((r: any) => r.top_at_peak.some((s: any) => !s.file.startsWith('<')))).toBe(true);
  for (const record of withSites) {
    const framed = record.top_at_peak.filter((s: any) => !s.file.startsWith('<'));
    for (const site of framed) {
      expect(site.stack.length).toBeGreaterThan(0);
    }
  }

  // The page as a reader sees it: each cell's figures (as on its badge), its top line and its
  // retained sites.
  const reader = await context.newPage();
  const readerDialogs = failOnDialog(reader);
  await reader.setContent(html, { waitUntil: 'load' });
  for (const cell of cells) {
    const index = report.cells.findIndex((c: any) => c.cell_id === cell.id);
    const record = report.cells[index];
    const section = reader.locator(`#hs-cell-${index}`);
    await expect(section.locator('.hs-facts')).toContainText(`net ${badges[cell.id]}`);
    // Cells are closed at first; a cell's lists are drawn when it opens (50 rows, then "show more").
    await expect(section).not.toHaveAttribute('open', '');
    await section.locator('summary').click();
    await expect(section).toHaveAttribute('open', '');
    const lists = section.locator('.jp-heapscope-SiteList');
    if (record.top_at_peak.length > 0) {
      const peakRows = lists.nth(0).locator(':scope > .jp-heapscope-Site');
      await expect(peakRows).toHaveCount(Math.min(50, record.top_at_peak.length));
      await expect(peakRows.first().locator('.jp-heapscope-Site-function').first()).toHaveText(
        record.top_at_peak[0].function
      );
    }
    if (record.retained.length > 0) {
      const retainedRows = section.locator('.jp-heapscope-SiteList').last().locator(':scope > .jp-heapscope-Site');
      await expect(retainedRows).toHaveCount(Math.min(50, record.retained.length));
    }
  }
  expect(readerDialogs).toEqual([]);
  await reader.close();
  expect(dialogs).toEqual([]);
});
