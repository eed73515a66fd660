/**
 * Issue 4 end to end: badges, the chart, the cell drill-down and the jump to a cell line, the
 * exported report, hostile names rendered as text, and switching a plain Python notebook to
 * heapscope from the Heap panel.
 */
import { expect, test } from '@jupyterlab/galata';
import { badge, codeCells, openFixture, parseBadge, waitForKernelIdle } from './helpers';
import { failOnDialog, HEAP_UI, openDetailFromBadge, PAYLOADS, PLAIN_PYTHON, readTextFile } from './uiHelpers';

test.use({ autoGoto: true });

const cells = codeCells(HEAP_UI);
const onesCell = cells.find(c => c.id === 'ones')!;
const tempCell = cells.find(c => c.id === 'temp')!;
const payloadCell = cells.find(c => c.id === 'payload')!;

test.describe('heap UI on the fixture notebook', () => {
  test('badges, chart, drill-down and the jump to the cell line', async ({ page, tmpPath }) => {
    const dialogs = failOnDialog(page);
    await openFixture(page, tmpPath, HEAP_UI);
    await page.notebook.run();
    await page.notebook.waitForRun();

    for (const cell of cells) {
      await expect(badge(page, cell.id)).toHaveCount(1);
    }
    const ones = parseBadge(await badge(page, onesCell.id).innerText());
    expect(ones.net).toBeGreaterThan(78e6);
    expect(ones.net).toBeLessThan(84e6);
    const temp = parseBadge(await badge(page, tempCell.id).innerText());
    expect(temp.peak).toBeGreaterThan(295e6);
    expect(Math.abs(temp.net)).toBeLessThan(5e6);
    expect(await badge(page, tempCell.id).getAttribute('title')).toContain('Click for where the memory was allocated.');

    await page.sidebar.openTab('heapscope-panel');
    await expect(page.locator('#heapscope-panel .jp-heapscope-Chart .js-plotly-plot .main-svg').first()).toBeVisible();

    // The badge opens the cell's detail: the 80 MB line is cell line 2.
    await openDetailFromBadge(page, onesCell.id);
    const detail = page.locator('#heapscope-panel-cell');
    const row = detail.locator('.jp-heapscope-Site-main', { hasText: 'line 2' }).first();
    await expect(row).toBeVisible();
    await expect(row.locator('.jp-heapscope-Site-source')).toHaveText(/np\.ones\(10_000_000\)/);
    // The icicle is drawn on request (a big cell's is thousands of nodes).
    await expect(detail.locator('.jp-heapscope-Icicle')).toBeHidden();
    await detail.locator('.jp-heapscope-Detail-icicleToggle').click();
    await expect(detail.locator('.jp-heapscope-Detail-icicleToggle')).toHaveAttribute('aria-expanded', 'true');
    await expect(detail.locator('.jp-heapscope-Icicle.js-plotly-plot .main-svg').first()).toBeVisible();

    // Expanding the stack is a separate button; clicking the row jumps to the cell line.
    await detail.locator('.jp-heapscope-Toggle').first().click();
    await expect(detail.locator('.jp-heapscope-Stack').first()).toBeVisible();
    await row.click();
    await expect
      .poll(() =>
        page.evaluate(() => {
          const nb = (window as any).jupyterapp.shell.currentWidget.content;
          return { id: nb.activeCell.model.id, line: nb.activeCell.editor.getCursorPosition().line };
        })
      )
      .toEqual({ id: onesCell.id, line: 1 });

    // The retained-by-cell view lists the cells still holding memory.
    await page.locator('#heapscope-panel .jp-heapscope-Panel-tab[data-view="retained"]').click();
    await expect(page.locator('#heapscope-panel-retained .jp-heapscope-Retained').first()).toBeVisible();

    // The view tabs work from the keyboard: arrows and Home move the focus and show that view.
    const tab = (view: string) => page.locator(`#heapscope-panel .jp-heapscope-Panel-tab[data-view="${view}"]`);
    await tab('retained').focus();
    await page.keyboard.press('ArrowLeft');
    await expect(tab('cell')).toBeFocused();
    await expect(tab('cell')).toHaveAttribute('aria-selected', 'true');
    await expect(page.locator('#heapscope-panel-cell')).toBeVisible();
    await page.keyboard.press('Home');
    await expect(tab('timeline')).toBeFocused();
    await expect(tab('timeline')).toHaveAttribute('aria-selected', 'true');
    await expect(page.locator('#heapscope-panel .jp-heapscope-Chart .main-svg').first()).toBeVisible();
    await expect(page.locator('#heapscope-panel-retained')).toBeHidden();
    expect(dialogs).toEqual([]);
  });

  test('hostile file and function names render as text, and the export holds every cell', async ({
    page,
    tmpPath,
    context
  }) => {
    const dialogs = failOnDialog(page);
    const name = await openFixture(page, tmpPath, HEAP_UI);
    await page.notebook.run();
    await page.notebook.waitForRun();
    await expect(badge(page, payloadCell.id)).toHaveCount(1);

    await page.sidebar.openTab('heapscope-panel');
    await openDetailFromBadge(page, payloadCell.id);
    const detail = page.locator('#heapscope-panel-cell');
    await expect(detail.locator('.jp-heapscope-Site-function', { hasText: PAYLOADS[1] }).first()).toBeVisible();
    await expect(detail.locator('.jp-heapscope-Site-file', { hasText: PAYLOADS[0] }).first()).toBeVisible();
    await expect(page.locator('#heapscope-panel img')).toHaveCount(0);
    await expect(page.locator('#heapscope-panel script')).toHaveCount(0);

    // Export from the panel toolbar.
    await page.locator('#heapscope-panel .jp-heapscope-Panel-toolbar [data-command="heapscope:export-report"]').click();
    const base = `${tmpPath}/${name.replace(/\.ipynb$/, '')}`;
    await expect.poll(() => page.contents.fileExists(`${base}.heap.html`), { timeout: 30000 }).toBe(true);
    expect(await page.contents.fileExists(`${base}.heap.json`)).toBe(true);
    const html = await readTextFile(page, `${base}.heap.html`);
    expect(html).toContain('Content-Security-Policy');
    const data = html.slice(html.indexOf('id="heapscope-report-data">'), html.indexOf('</script>'));
    expect(data).not.toContain('<img');
    const report = JSON.parse(data.slice(data.indexOf('>') + 1));
    for (const cell of cells) {
      const record = report.cells.find((c: any) => c.cell_id === cell.id);
      expect(record).toBeTruthy();
      expect(record.peak_bytes).toBeGreaterThanOrEqual(record.start_bytes);
    }

    // Open the page as a reader would: it renders, shows the payloads as text, opens no dialog
    // and requests nothing from the network.
    const reader = await context.newPage();
    const readerDialogs = failOnDialog(reader);
    const requests: string[] = [];
    reader.on('request', request => requests.push(request.url()));
    const errors: string[] = [];
    reader.on('console', message => {
      if (message.type() === 'error') {
        errors.push(message.text());
      }
    });
    await reader.setContent(html, { waitUntil: 'load' });
    await expect(reader.locator('.hs-chart.js-plotly-plot .main-svg').first()).toBeVisible();
    // Each cell's lines are drawn when its section opens.
    for (const summary of await reader.locator('details.hs-cell > summary').all()) {
      await summary.click();
    }
    await expect(reader.locator('.hs-table tbody tr')).toHaveCount(cells.length);
    await expect(reader.locator('.jp-heapscope-Site-function', { hasText: PAYLOADS[1] }).first()).toBeVisible();
    await expect(reader.locator('img')).toHaveCount(0);
    expect(readerDialogs).toEqual([]);
    expect(requests.filter(url => !url.startsWith('data:') && url !== 'about:blank')).toEqual([]);
    expect(errors).toEqual([]);
    await reader.close();
    expect(dialogs).toEqual([]);
  });
});

test('the drill-down hides small and kernel-internal sites behind a keyboard toggle', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, HEAP_UI);
  const importCell = cells.find(c => c.id === 'import')!;
  await page.notebook.runCell(importCell.index);
  await expect(badge(page, importCell.id)).toHaveCount(1);
  await page.sidebar.openTab('heapscope-panel');
  await openDetailFromBadge(page, importCell.id);
  // Importing numpy allocates at many small sites: the peak list hides some of them.
  const list = page.locator('#heapscope-panel-cell .jp-heapscope-SiteList').first();
  const rows = list.locator(':scope > .jp-heapscope-Site');
  const hiddenRows = list.locator(':scope > .jp-heapscope-Site.jp-mod-filtered');
  const toggle = list.locator('.jp-heapscope-SiteList-toggle');
  await expect(toggle).toBeVisible();
  // The hidden rows are drawn only when shown.
  await expect(hiddenRows).toHaveCount(0);
  const hidden = parseInt(/^Show (\d+) hidden site/.exec((await toggle.textContent()) ?? '')![1], 10);
  expect(hidden).toBeGreaterThan(0);
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  const shown = await rows.count();
  // Each shown row is at least 1 % of the peak (the panel's default); the hidden ones are small
  // or kernel-internal.
  const share = async (row: ReturnType<typeof rows.nth>) =>
    parseFloat(((await row.locator('.jp-heapscope-Site-percent').first().textContent()) ?? '').replace('<', ''));
  for (let i = 0; i < shown; i++) {
    expect(await share(rows.nth(i))).toBeGreaterThanOrEqual(1);
  }

  // Keyboard: focus the toggle and press Enter, then Space to hide again.
  await toggle.focus();
  await page.keyboard.press('Enter');
  await expect(toggle).toHaveAttribute('aria-expanded', 'true');
  await expect(toggle).toBeFocused();
  // The lists may still grow once the kernel's full detail (cell_detail) replaces the first answer:
  // compare with what the toggle and the list say at the moment, until they agree.
  await expect(async () => {
    const label = /^Hide (\d+) hidden site|^Show (\d+) hidden site/.exec((await toggle.textContent()) ?? '');
    const nowHidden = parseInt((label && (label[1] ?? label[2])) ?? String(hidden), 10);
    const nowShown = (await rows.count()) - (await hiddenRows.count());
    expect(await hiddenRows.count()).toBe(Math.min(nowHidden, Math.max(0, 50 - nowShown)));
  }).toPass();
  await expect(hiddenRows.first()).toBeVisible();
  await page.keyboard.press('Space');
  await expect(toggle).toHaveAttribute('aria-expanded', 'false');
  await expect(hiddenRows).toHaveCount(0);
});

test('a plain Python notebook is switched to heapscope from the panel', async ({ page, tmpPath }) => {
  await openFixture(page, tmpPath, PLAIN_PYTHON);
  await page.sidebar.openTab('heapscope-panel');
  const button = page.locator('#heapscope-panel .jp-heapscope-Panel-switch');
  await expect(button).toBeVisible();
  await expect(page.locator('#heapscope-panel .jp-heapscope-Panel-status')).toContainText(
    'does not run the heapscope agent'
  );
  await button.click();
  await expect
    .poll(
      () => page.evaluate(() => (window as any).jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.name),
      {
        timeout: 60000
      }
    )
    .toBe('heapscope');
  await waitForKernelIdle(page);
  await expect(button).toBeHidden();
  await page.notebook.runCell(0);
  await expect(badge(page, 'plain')).toHaveCount(1);
  expect(parseBadge(await badge(page, 'plain').innerText()).net).toBeGreaterThan(9e6);
});
